export { LeasequeryServer, type ListeningAddresses } from './server.js';
export { Acl, DEFAULT_ACL, type AclRule, type Transport } from './acl.js';
export { DEFAULT_TIMERS, type LeasequeryServerOptions, type ServerTimers, type TlsServerConfig } from './options.js';
export { type ServerStats } from './stats.js';
export {
  PrefixRateLimiter,
  RateLimitConfigError,
  parseRate,
  rateLimitFromFlags,
  RATE_LIMIT_USAGE,
  prefixKey,
  DEFAULT_IPV4_PREFIX,
  DEFAULT_IPV6_PREFIX,
  DEFAULT_MAX_BUCKETS,
  type RateLimitOptions,
  type RateLimitRule,
  type RateLimitFlags,
} from './ratelimit.js';
export { registerEngineDefenceMetrics } from './metrics.js';
