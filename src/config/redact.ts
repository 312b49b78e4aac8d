// Secrets never leave the process in clear: `--print-config` and start-up logs show
// the effective configuration with these replaced.
// Paths of key files are not secret (their contents are, and are never printed).
const SECRET_KEYS = new Set(['password', 'key', 'token', 'secret']);
export const REDACTED = '<redacted>';

/** A deep copy of `value` with every secret-looking field replaced by REDACTED. */
export function redactSecrets<T>(value: T): T {
  const walk = (v: unknown, key?: string): unknown => {
    if (key !== undefined && SECRET_KEYS.has(key) && v !== undefined && v !== null) return REDACTED;
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, k);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}
