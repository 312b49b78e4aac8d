// Metrics of the project's processes: a small Prometheus registry and the HTTP
// endpoint with /metrics, /healthz and /readyz.
export { Registry, exponentialBuckets, CONTENT_TYPE, type CounterChild, type GaugeChild, type HistogramChild, type Counter, type Gauge, type Histogram } from './registry.js';
export { startOpsServer, type OpsServer, type OpsServerOptions, type ProbeResult } from './http.js';
