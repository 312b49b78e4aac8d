// Rate limiting per source prefix: one token bucket per requestor prefix (the source
// address masked to /64 for IPv6, /32 for IPv4 by default), for UDP queries and for
// new TCP connections. A leasequery requestor is a relay agent, an access concentrator
// or an operator's tool: a few of them, each behind its own prefix. What this guards
// against is one of them (or a spoofer within its prefix) flooding the server, so that
// the others keep being answered; it is not an ACL (acl.ts decides who may ask).
//
// Memory is bounded: at most `maxBuckets` prefixes are tracked. Buckets are kept in
// least-recently-used order (a Map re-inserted on use); when the table is full the least
// recently used one is evicted, and buckets idle long enough to have refilled (they are
// then the same as a new bucket) are swept from the old end as traffic goes by. An
// evicted prefix starts again with a full bucket: under a flood of many prefixes the
// limiter errs towards answering, never towards locking a requestor out.
import ipaddr from 'ipaddr.js';

export interface RateLimitRule {
  /** Sustained rate, tokens (queries or connections) per second; > 0. */
  ratePerSecond: number;
  /** Bucket size: how many may come at once after a quiet period (default max(1, ratePerSecond)). */
  burst?: number;
}

export interface RateLimitOptions {
  /** UDP LEASEQUERY datagrams per source prefix (checked before decoding; over the limit: dropped silently). */
  udp?: RateLimitRule;
  /** New TCP connections per source prefix (over the limit: closed at once). */
  tcp?: RateLimitRule;
  /** Prefix length an IPv6 source is masked to (default 64). */
  ipv6PrefixLength?: number;
  /** Prefix length an IPv4 (or IPv4-mapped) source is masked to (default 32). */
  ipv4PrefixLength?: number;
  /** Most prefixes tracked at once, per limiter (default 10,000). */
  maxBuckets?: number;
  /** Clock in ms (tests); default performance.now(). */
  now?: () => number;
}

export const DEFAULT_IPV6_PREFIX = 64;
export const DEFAULT_IPV4_PREFIX = 32;
export const DEFAULT_MAX_BUCKETS = 10_000;

/** Sweep for refilled buckets once every this many checks. */
const SWEEP_EVERY = 256;
/** At most this many buckets are looked at per sweep (the sweep stays O(1) per query). */
const SWEEP_MAX = 64;
/** Source text -> prefix key cache size (cleared when full). */
const KEY_CACHE = 4096;

interface Bucket {
  tokens: number;
  /** Clock of the last refill, ms. */
  at: number;
}

export class RateLimitConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RateLimitConfigError';
  }
}

function checkPrefix(len: number, max: number, what: string): number {
  if (!Number.isInteger(len) || len < 0 || len > max) throw new RateLimitConfigError(`${what} prefix length must be an integer 0..${max}, got ${String(len)}`);
  return len;
}

/**
 * The rate-limit key of a source address: its prefix as text ('6:2001:db8:0:1::/64',
 * '4:192.0.2.0/24'). IPv4-mapped IPv6 sources count as IPv4. Undefined for a string
 * that is not an address (such a source is not limited here: the ACL denies it).
 */
export function prefixKey(address: string, v6Len = DEFAULT_IPV6_PREFIX, v4Len = DEFAULT_IPV4_PREFIX): string | undefined {
  const pct = address.indexOf('%');
  let a: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    a = ipaddr.parse(pct >= 0 ? address.slice(0, pct) : address);
  } catch {
    return undefined;
  }
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  const bytes = a.toByteArray();
  const len = a.kind() === 'ipv6' ? v6Len : v4Len;
  for (let i = 0; i < bytes.length; i++) {
    const keep = len - i * 8;
    if (keep >= 8) continue;
    bytes[i] = keep <= 0 ? 0 : bytes[i] & (0xff << (8 - keep)) & 0xff;
  }
  const masked = ipaddr.fromByteArray(bytes);
  return `${a.kind() === 'ipv6' ? '6' : '4'}:${masked.toString()}/${len}`;
}

/** One token-bucket table: `allow(source)` takes a token from the source prefix's bucket. */
export class PrefixRateLimiter {
  readonly rate: number;
  readonly burst: number;
  readonly maxBuckets: number;
  private readonly v6Len: number;
  private readonly v4Len: number;
  private readonly now: () => number;
  private readonly buckets = new Map<string, Bucket>();
  private readonly keys = new Map<string, string | null>();
  private checks = 0;
  /** Buckets evicted while still in use because the table was full. */
  evictions = 0;
  /** Checks refused. */
  limited = 0;
  /** Called on each eviction of a bucket still in use (for a counter). */
  onEvict?: () => void;

  constructor(rule: RateLimitRule, opts: Omit<RateLimitOptions, 'udp' | 'tcp'> = {}) {
    if (!(typeof rule.ratePerSecond === 'number' && Number.isFinite(rule.ratePerSecond) && rule.ratePerSecond > 0)) {
      throw new RateLimitConfigError(`rate must be a positive number per second, got ${String(rule.ratePerSecond)}`);
    }
    const burst = rule.burst ?? Math.max(1, rule.ratePerSecond);
    if (!(Number.isFinite(burst) && burst >= 1)) throw new RateLimitConfigError(`burst must be at least 1, got ${String(rule.burst)}`);
    const max = opts.maxBuckets ?? DEFAULT_MAX_BUCKETS;
    if (!(Number.isInteger(max) && max >= 1)) throw new RateLimitConfigError(`maxBuckets must be a positive integer, got ${String(opts.maxBuckets)}`);
    this.rate = rule.ratePerSecond;
    this.burst = burst;
    this.maxBuckets = max;
    this.v6Len = checkPrefix(opts.ipv6PrefixLength ?? DEFAULT_IPV6_PREFIX, 128, 'IPv6');
    this.v4Len = checkPrefix(opts.ipv4PrefixLength ?? DEFAULT_IPV4_PREFIX, 32, 'IPv4');
    this.now = opts.now ?? (() => performance.now());
  }

  /** Prefixes currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  private keyOf(address: string): string | null {
    let k = this.keys.get(address);
    if (k !== undefined) return k;
    k = prefixKey(address, this.v6Len, this.v4Len) ?? null;
    if (this.keys.size >= KEY_CACHE) this.keys.clear();
    this.keys.set(address, k);
    return k;
  }

  /** Take one token for `address`; false when its prefix is over the limit. */
  allow(address: string): boolean {
    const key = this.keyOf(address);
    if (key === null) return true;
    const now = this.now();
    if (++this.checks % SWEEP_EVERY === 0) this.sweep(now);
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key); // re-inserted below: most recently used last
      const t = b.tokens + ((now - b.at) * this.rate) / 1000;
      b.tokens = t > this.burst ? this.burst : t;
      b.at = now;
    } else {
      if (this.buckets.size >= this.maxBuckets) {
        this.sweep(now);
        if (this.buckets.size >= this.maxBuckets) {
          const oldest = this.buckets.keys().next().value as string;
          this.buckets.delete(oldest);
          this.evictions++;
          this.onEvict?.();
        }
      }
      b = { tokens: this.burst, at: now };
    }
    this.buckets.set(key, b);
    // (The epsilon absorbs floating-point drift: ten refills of 0.1 are a token.)
    if (b.tokens >= 1 - 1e-9) {
      b.tokens = b.tokens > 1 ? b.tokens - 1 : 0;
      return true;
    }
    this.limited++;
    return false;
  }

  /** Drop buckets (from the least recently used end) that have refilled: they carry no state. */
  sweep(now = this.now()): number {
    const fullAfterMs = (this.burst * 1000) / this.rate;
    let removed = 0;
    let looked = 0;
    for (const [k, b] of this.buckets) {
      if (++looked > SWEEP_MAX) break;
      if (now - b.at < fullAfterMs && b.tokens + ((now - b.at) * this.rate) / 1000 < this.burst) break;
      this.buckets.delete(k);
      removed++;
    }
    return removed;
  }
}

/**
 * '1000/s', '1000', '60/m', '3600/h' -> tokens per second. Throws RateLimitConfigError
 * for anything else (or a rate that is not positive).
 */
export function parseRate(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|second|m|min|minute|h|hour))?\s*$/i.exec(text);
  if (!m) throw new RateLimitConfigError(`rate '${text}' is not N, N/s, N/m or N/h`);
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase()[0];
  const perSecond = unit === 's' ? n : unit === 'm' ? n / 60 : n / 3600;
  if (!(perSecond > 0)) throw new RateLimitConfigError(`rate '${text}' must be positive`);
  return perSecond;
}

/** Command-line form of the rate limit (lqr replica / lqr lab flags), all optional text. */
export interface RateLimitFlags {
  /** --rate-limit: UDP datagrams per prefix, and new TCP connections unless connRate is given. */
  rate?: string;
  /** --rate-burst */
  burst?: string;
  /** --rate-prefix: IPv6 prefix length. */
  prefix6?: string;
  /** --rate-prefix4: IPv4 prefix length. */
  prefix4?: string;
  /** --conn-rate-limit: new TCP connections per prefix. */
  connRate?: string;
  /** --conn-rate-burst */
  connBurst?: string;
}

function intFlag(v: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new RateLimitConfigError(`${flag} '${v}' must be an integer ${min}..${max}`);
  return n;
}

/** The engine's rateLimit option from flags; undefined when no rate is given (no limit). */
export function rateLimitFromFlags(f: RateLimitFlags): RateLimitOptions | undefined {
  const rate = f.rate !== undefined ? parseRate(f.rate) : undefined;
  const connRate = f.connRate !== undefined ? parseRate(f.connRate) : rate;
  const burst = intFlag(f.burst, '--rate-burst', 1, 1e9);
  const connBurst = intFlag(f.connBurst, '--conn-rate-burst', 1, 1e9) ?? (f.connRate === undefined ? burst : undefined);
  const prefix6 = intFlag(f.prefix6, '--rate-prefix', 0, 128);
  const prefix4 = intFlag(f.prefix4, '--rate-prefix4', 0, 32);
  if (rate === undefined && connRate === undefined) {
    if (f.burst !== undefined || f.prefix6 !== undefined || f.prefix4 !== undefined || f.connBurst !== undefined) throw new RateLimitConfigError('--rate-burst, --rate-prefix and --conn-rate-burst need --rate-limit or --conn-rate-limit');
    return undefined;
  }
  const out: RateLimitOptions = {};
  if (rate !== undefined) out.udp = { ratePerSecond: rate, ...(burst !== undefined ? { burst } : {}) };
  if (connRate !== undefined) out.tcp = { ratePerSecond: connRate, ...(connBurst !== undefined ? { burst: connBurst } : {}) };
  if (prefix6 !== undefined) out.ipv6PrefixLength = prefix6;
  if (prefix4 !== undefined) out.ipv4PrefixLength = prefix4;
  return out;
}

/** Usage text of those flags, shared by the commands that take them. */
export const RATE_LIMIT_USAGE = `  --rate-limit RATE       per source prefix: UDP queries answered, and new TCP
                          connections accepted, e.g. 1000/s, 60/m (default: no limit;
                          over the limit, datagrams are dropped and connections closed)
  --rate-burst N          bucket size: queries a prefix may send at once (default: one
                          second's worth of --rate-limit)
  --rate-prefix LEN       IPv6 sources share a bucket per /LEN (default 64)
  --rate-prefix4 LEN      IPv4 sources share a bucket per /LEN (default 32)
  --conn-rate-limit RATE  new TCP connections per prefix (default: --rate-limit)
  --conn-rate-burst N     (default: --rate-burst with --rate-limit, else one second's worth)`;
