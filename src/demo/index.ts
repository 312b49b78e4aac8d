// `lqr start`: the whole system in one process tree (see demo.ts and README.md).
export { startDemo, pickExample, type DemoOptions, type Endpoints, type Example, type PortOption, type RunningDemo } from './demo.js';
export { DemoConsole, type Output, type Step } from './console.js';
export { DemoError, type DemoErrorCode } from './errors.js';
export { loadDemoConfig, prefixTopics } from './config.js';
export { choosePort, portFree, hostPort } from './ports.js';
export { statusLine, stateChanges, sumCounter, type StatusSample } from './status.js';
export { summaryLines, lqrCommand } from './summary.js';
