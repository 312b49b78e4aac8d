export { LeasequeryServer, type ListeningAddresses } from './server.js';
export { Acl, DEFAULT_ACL, type AclRule, type Transport } from './acl.js';
export { DEFAULT_TIMERS, type LeasequeryServerOptions, type ServerTimers, type TlsServerConfig } from './options.js';
export { type ServerStats } from './stats.js';
