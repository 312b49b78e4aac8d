// Field types shared by the project's config schemas: values are normalized while they
// are validated (IPv6 in RFC 5952 text, hex in lowercase without separators), so code
// downstream compares strings, never spellings.
import { z } from 'zod';
import { formatIPv6, parseIPv6 } from '../protocol/index.js';

/** An IPv6 address in any valid text form, normalized to RFC 5952 canonical text. */
export const ipv6Text = z.string().transform((s, ctx) => {
  try {
    return formatIPv6(parseIPv6(s));
  } catch {
    ctx.addIssue({ code: 'custom', message: `'${s}' is not an IPv6 address` });
    return z.NEVER;
  }
});

/** Hex bytes ("0002000000090a0b", or with ':' / '-' / ' ' separators), normalized to lowercase without separators. */
export const hexBytes = (what: string, min = 1, max = 130) =>
  z.string().transform((s, ctx) => {
    const hex = s.replace(/[\s:-]/g, '').toLowerCase();
    if (!/^([0-9a-f]{2})*$/.test(hex)) {
      ctx.addIssue({ code: 'custom', message: `${what} must be hex bytes (e.g. "0003000102005e005301"), got '${s}'` });
      return z.NEVER;
    }
    const n = hex.length / 2;
    if (n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `${what} must be ${min} to ${max} bytes, got ${n}` });
      return z.NEVER;
    }
    return hex;
  });

/** A DUID (RFC 8415 section 11: 2 to 130 octets) as hex. */
export const duidHex = (what = 'a DUID') => hexBytes(what, 2, 130);

export const port = z.number().int().min(0).max(65535);
export const positiveMs = z.number().int().positive();
export const uint32 = z.number().int().min(0).max(0xffffffff);

/** Where a process serves /metrics, /healthz and /readyz. */
export const MetricsSchema = z
  .strictObject({
    /** Listen address (default 127.0.0.1; "::" for every address). */
    host: z.string().min(1).default('127.0.0.1').describe('Listen address ("::" for every address; in a container it must not be loopback for probes to reach it).'),
    /** TCP port; 0 = an ephemeral one (logged at start). */
    port: port.default(9464).describe('TCP port; 0 = an ephemeral one (logged at start).'),
    enabled: z.boolean().default(true).describe('false: no HTTP listener (and no probes).'),
  })
  .prefault({});
export type MetricsConfig = z.infer<typeof MetricsSchema>;
