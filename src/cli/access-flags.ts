// The access flags `lqr lab` and `lqr replica` share: who may ask (--allow-all, --acl),
// how fast (--rate-*, --conn-rate-*), and how many TCP connections per source prefix.
import { rateLimitFromFlags, type AclRule } from '../leasequery/index.js';
import { CliError } from './errors.js';

/** parseArgs option specs of the access flags. */
export const ACCESS_OPTIONS = {
  'allow-all': { type: 'boolean' },
  acl: { type: 'string' },
  'rate-limit': { type: 'string' },
  'rate-burst': { type: 'string' },
  'rate-prefix': { type: 'string' },
  'rate-prefix4': { type: 'string' },
  'conn-rate-limit': { type: 'string' },
  'conn-rate-burst': { type: 'string' },
  'max-conns-per-prefix': { type: 'string' },
} as const;

export type AccessFlagValues = { 'allow-all'?: boolean } & { [K in Exclude<keyof typeof ACCESS_OPTIONS, 'allow-all'>]?: string };

export interface AccessSettings {
  acl: AclRule[] | undefined;
  rateLimit: ReturnType<typeof rateLimitFromFlags>;
  maxConnectionsPerPrefix: number | undefined;
}

/** The engine's access settings from the flags; `cmd` prefixes the errors ("lab", "replica"). */
export function accessFromFlags(v: AccessFlagValues, cmd: string): AccessSettings {
  if (v['allow-all'] && v.acl !== undefined) throw new CliError(`${cmd}: --allow-all and --acl exclude each other`);
  const acl: AclRule[] | undefined = v['allow-all']
    ? [{ prefix: '::/0' }, { prefix: '0.0.0.0/0' }]
    : v.acl
        ?.split(',')
        .map((p) => p.trim())
        .filter((p) => p.length > 0)
        .map((prefix) => ({ prefix }));
  let maxConnectionsPerPrefix: number | undefined;
  const m = v['max-conns-per-prefix'];
  if (m !== undefined) {
    maxConnectionsPerPrefix = Number(m);
    if (!Number.isInteger(maxConnectionsPerPrefix) || maxConnectionsPerPrefix < 1) throw new CliError(`${cmd}: --max-conns-per-prefix '${m}' is not valid`);
  }
  try {
    const rateLimit = rateLimitFromFlags({
      rate: v['rate-limit'],
      burst: v['rate-burst'],
      prefix6: v['rate-prefix'],
      prefix4: v['rate-prefix4'],
      connRate: v['conn-rate-limit'],
      connBurst: v['conn-rate-burst'],
    });
    return { acl, rateLimit, maxConnectionsPerPrefix };
  } catch (e) {
    throw new CliError(`${cmd}: ${(e as Error).message}`);
  }
}
