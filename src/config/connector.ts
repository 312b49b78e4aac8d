// The connector's configuration file (`lqr connector --config FILE`), validated with zod.
// Every default is here, so `--print-config` shows exactly what runs.
import { z } from 'zod';
import { MetricsSchema, duidHex, hexBytes, ipv6Text, port, positiveMs, uint32 } from './fields.js';

/** STARTTLS towards one DHCPv6 server (RFC 7653 "Using TLS"). */
export const SourceTlsSchema = z
  .strictObject({
    /** require: fail when the server refuses (TLSConnectionRefused); prefer: continue in clear text. */
    mode: z.enum(['require', 'prefer']).default('require'),
    /** PEM CA bundle the server certificate must chain to (default: Node's bundled CAs). */
    caFile: z.string().min(1).optional(),
    /** Client certificate and key (PEM), for servers that ask for one. */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** Name the server certificate must carry (default: the host, when it is a name). */
    servername: z.string().min(1).optional(),
    /** false only for lab set-ups: accept any server certificate. */
    rejectUnauthorized: z.boolean().default(true),
  })
  .superRefine((v, ctx) => {
    if ((v.certFile === undefined) !== (v.keyFile === undefined)) {
      ctx.addIssue({ code: 'custom', path: [v.certFile ? 'keyFile' : 'certFile'], message: 'certFile and keyFile go together' });
    }
  });

/**
 * The OPTION_LQ_QUERY of the ACTIVELEASEQUERY (RFC 7653 "only interested in specific
 * binding updates"). Absent: every binding change of the server.
 */
export const ActiveQuerySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('relay-id'), relayId: duidHex('relayId'), link: ipv6Text.optional() }),
  z.strictObject({ type: z.literal('link'), link: ipv6Text }),
  z.strictObject({ type: z.literal('remote-id'), enterpriseNumber: uint32, remoteId: hexBytes('remoteId', 1, 65535), link: ipv6Text.optional() }),
]);

/**
 * What a full resync asks for (RFC 5460 has no "every binding" query: one Bulk
 * Leasequery per link-address and per relay-id). Links and relay-ids seen in the
 * server's Active Leasequery data are added when `learn` is on.
 */
export const ScopesSchema = z
  .strictObject({
    links: z.array(ipv6Text).default([]),
    relayIds: z.array(duidHex('relay-id')).default([]),
    learn: z.boolean().default(true),
  })
  .prefault({});

const sourceName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:@-]+$/, 'a source name uses letters, digits and . _ : @ - (it is a Kafka key and a metric label)');

export const SourceSchema = z.strictObject({
  name: sourceName,
  /** The DHCPv6 server's address or name. */
  host: z.string().min(1),
  port: port.min(1).default(547),
  tls: SourceTlsSchema.optional(),
  query: ActiveQuerySchema.optional(),
  scopes: ScopesSchema,
});

export const BackoffSchema = z
  .strictObject({
    initialMs: positiveMs.default(500),
    maxMs: positiveMs.default(30_000),
    multiplier: z.number().min(1).max(10).default(2),
    /** Fraction of each delay that is randomized (0 = none, 1 = anywhere in [0, delay]). */
    jitter: z.number().min(0).max(1).default(0.3),
  })
  .superRefine((v, ctx) => {
    if (v.maxMs < v.initialMs) ctx.addIssue({ code: 'custom', path: ['maxMs'], message: `must be >= initialMs (${v.initialMs})` });
  })
  .prefault({});

export const SessionSchema = z
  .strictObject({
    connectTimeoutMs: positiveMs.default(10_000),
    /** ACTIVE_LQ_RCV_TIMEOUT (RFC 7653): silence on an Active Leasequery connection that ends it. */
    activeRcvTimeoutMs: positiveMs.default(120_000),
    /** BULK_LQ_DATA_TIMEOUT (RFC 5460 section 5.6). */
    bulkDataTimeoutMs: positiveMs.default(300_000),
    /**
     * Seconds subtracted from the resume point when it is sent as OPTION_LQ_START_TIME:
     * a server that coalesces changes can send a newer base-time before an older pending
     * change, and the margin re-reads that window (duplicates are harmless; see session.ts).
     */
    startTimeMarginS: z.number().int().min(0).max(3600).default(2),
    /** Readiness fails when a session has made no progress for this long (a hung await, not a down server). */
    stuckAfterMs: positiveMs.optional(),
    backoff: BackoffSchema,
  })
  .prefault({});

export const BatchSchema = z
  .strictObject({
    /** Events per Kafka transaction at most. */
    maxEvents: z.number().int().min(1).max(1_000_000).default(20_000),
    /** Bytes of record values per transaction at most (a single larger event still goes alone). */
    maxBytes: z.number().int().min(1024).default(16 * 1024 * 1024),
    /** How long the publisher waits for more events before committing a batch that is not full. */
    maxDelayMs: z.number().int().min(0).max(60_000).default(5),
    /** Events a source may have queued or in flight; beyond it the session stops reading (back-pressure). */
    sourceQueue: z.number().int().min(16).default(10_000),
    /**
     * Events all sources together may have queued or in flight: bounds memory however
     * many sources there are (each source may still always have 256).
     */
    totalQueue: z.number().int().min(16).default(100_000),
    /** transaction.timeout.ms of the producer. */
    transactionTimeoutMs: positiveMs.default(60_000),
    /**
     * Record-batch compression. gzip shrinks the JSON events several times (less to send,
     * store and checksum) at the cost of zlib work, which runs off the main thread.
     */
    compression: z.enum(['none', 'gzip']).default('none'),
  })
  .prefault({});

export const ConnectorConfigSchema = z
  .strictObject({
    /** Stable identity of this connector: transactional id "lqr-connector-<id>" (a second instance with the same id fences the first). */
    id: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, ".", "_" and "-" (1 to 100)'),
    /** OPTION_CLIENTID the connector identifies itself with (default: a DUID-EN derived from the host name). */
    requestorDuid: duidHex('requestorDuid').optional(),
    /** Kafka settings (validated with the environment laid over them; see config/kafka.ts). */
    kafka: z.unknown().optional(),
    metrics: MetricsSchema,
    session: SessionSchema,
    batch: BatchSchema,
    sources: z.array(SourceSchema).min(1, 'at least one source (DHCPv6 server) is needed'),
  })
  .superRefine((v, ctx) => {
    const seen = new Map<string, number>();
    v.sources.forEach((s, i) => {
      const first = seen.get(s.name);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['sources', i, 'name'], message: `duplicate source name '${s.name}' (also sources[${first}])` });
      else seen.set(s.name, i);
    });
  });

export type SourceTlsConfig = z.infer<typeof SourceTlsSchema>;
export type ActiveQueryConfig = z.infer<typeof ActiveQuerySchema>;
export type ScopesConfig = z.infer<typeof ScopesSchema>;
export type SourceConfig = z.infer<typeof SourceSchema>;
export type BackoffConfig = z.infer<typeof BackoffSchema>;
export type SessionConfig = z.infer<typeof SessionSchema>;
export type BatchConfig = z.infer<typeof BatchSchema>;
/** The file as validated, before the Kafka section is resolved. */
export type ConnectorFileConfig = z.infer<typeof ConnectorConfigSchema>;
/** Input form (defaults optional), for tests and programmatic use. */
export type ConnectorConfigInput = z.input<typeof ConnectorConfigSchema>;
