// The connector's configuration file (`lqr connector --config FILE`), validated with zod.
// Every default is here, so `--print-config` shows exactly what runs.
import { z } from 'zod';
import { MetricsSchema, duidHex, hexBytes, ipv6Text, port, positiveMs, uint32 } from './fields.js';

/** STARTTLS towards one DHCPv6 server (RFC 7653 "Using TLS"). */
export const SourceTlsSchema = z
  .strictObject({
    /** require: fail when the server refuses (TLSConnectionRefused); prefer: continue in clear text. */
    mode: z
      .enum(['require', 'prefer'])
      .default('require')
      .describe('require: fail when the server refuses STARTTLS (TLSConnectionRefused) and retry later; prefer: continue the session in clear text.'),
    /** PEM CA bundle the server certificate must chain to (default: Node's bundled CAs). */
    caFile: z.string().min(1).optional().describe("PEM CA bundle the server certificate must chain to (default: Node's bundled CAs). A relative path is relative to the configuration file."),
    /** Client certificate and key (PEM), for servers that ask for one. */
    certFile: z.string().min(1).optional().describe('Client certificate (PEM) for servers that ask for one; goes with keyFile. A relative path is relative to the configuration file.'),
    keyFile: z.string().min(1).optional().describe('Private key (PEM) of certFile; goes with certFile. A relative path is relative to the configuration file.'),
    /** Name the server certificate must carry (default: the host, when it is a name). */
    servername: z.string().min(1).optional().describe('Name the server certificate must carry (default: the host, when it is a name).'),
    /** false only for lab set-ups: accept any server certificate. */
    rejectUnauthorized: z.boolean().default(true).describe('false only for lab set-ups: accept any server certificate.'),
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
  z.strictObject({
    type: z.literal('relay-id').describe('Only the bindings behind the relay agent with this relay-id (OPTION_RELAY_ID).'),
    relayId: duidHex('relayId').describe('The relay agent\'s DUID, hex bytes (2 to 130).'),
    link: ipv6Text.optional().describe('Restrict further to this link-address (IPv6).'),
  }),
  z.strictObject({
    type: z.literal('link').describe('Only the bindings on one link.'),
    link: ipv6Text.describe('The link-address (IPv6), as in the relay\'s link-address field.'),
  }),
  z.strictObject({
    type: z.literal('remote-id').describe('Only the bindings whose relay sent this remote-id (OPTION_REMOTE_ID).'),
    enterpriseNumber: uint32.describe('Enterprise number of the remote-id.'),
    remoteId: hexBytes('remoteId', 1, 65535).describe('The remote-id value, hex bytes.'),
    link: ipv6Text.optional().describe('Restrict further to this link-address (IPv6).'),
  }),
]);

/**
 * What a full resync asks for (RFC 5460 has no "every binding" query: one Bulk
 * Leasequery per link-address and per relay-id). Links and relay-ids seen in the
 * server's Active Leasequery data are added when `learn` is on.
 */
export const ScopesSchema = z
  .strictObject({
    links: z.array(ipv6Text).default([]).describe('Link-addresses (IPv6) asked for by Bulk Leasequery in a full resync.'),
    relayIds: z.array(duidHex('relay-id')).default([]).describe('Relay-ids (hex DUIDs) asked for by Bulk Leasequery in a full resync.'),
    learn: z.boolean().default(true).describe('Add the links and relay-ids seen in the server\'s Active Leasequery data to the resync scope (remembered in lq.sources).'),
  })
  .prefault({});

const sourceName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:@-]+$/, 'a source name uses letters, digits and . _ : @ - (it is a Kafka key and a metric label)');

export const SourceSchema = z.strictObject({
  name: sourceName.describe('Name of this DHCPv6 server in events, resume points and metrics; unique within the file (it is the Kafka key of lq.sources).'),
  /** The DHCPv6 server's address or name. */
  host: z.string().min(1).describe("The DHCPv6 server's address or host name."),
  port: port.min(1).default(547).describe('TCP port of its leasequery service.'),
  tls: SourceTlsSchema.optional().describe('STARTTLS towards this server (RFC 7653 "Using TLS"); absent: clear text.'),
  query: ActiveQuerySchema.optional().describe('The OPTION_LQ_QUERY of the ACTIVELEASEQUERY: only some binding updates (by relay-id, link or remote-id). Absent: every binding change of the server.'),
  scopes: ScopesSchema.describe('What a full resync asks for: RFC 5460 has no "every binding" query, so one Bulk Leasequery per link-address and per relay-id.'),
});

export const BackoffSchema = z
  .strictObject({
    initialMs: positiveMs.default(500).describe('First delay before reconnecting, ms.'),
    maxMs: positiveMs.default(30_000).describe('Longest delay between reconnects, ms (>= initialMs).'),
    multiplier: z.number().min(1).max(10).default(2).describe('Each failed attempt multiplies the delay by this.'),
    /** Fraction of each delay that is randomized (0 = none, 1 = anywhere in [0, delay]). */
    jitter: z.number().min(0).max(1).default(0.3).describe('Fraction of each delay that is randomized (0 = none, 1 = anywhere in [0, delay]).'),
  })
  .superRefine((v, ctx) => {
    if (v.maxMs < v.initialMs) ctx.addIssue({ code: 'custom', path: ['maxMs'], message: `must be >= initialMs (${v.initialMs})` });
  })
  .prefault({});

export const SessionSchema = z
  .strictObject({
    connectTimeoutMs: positiveMs.default(10_000).describe('TCP connect (and STARTTLS handshake) timeout, ms.'),
    /** ACTIVE_LQ_RCV_TIMEOUT (RFC 7653): silence on an Active Leasequery connection that ends it. */
    activeRcvTimeoutMs: positiveMs.default(120_000).describe('ACTIVE_LQ_RCV_TIMEOUT (RFC 7653), ms: silence on an Active Leasequery connection that ends it.'),
    /** BULK_LQ_DATA_TIMEOUT (RFC 5460 section 5.6). */
    bulkDataTimeoutMs: positiveMs.default(300_000).describe('BULK_LQ_DATA_TIMEOUT (RFC 5460 section 5.6), ms.'),
    /**
     * Seconds subtracted from the resume point when it is sent as OPTION_LQ_START_TIME:
     * a server that coalesces changes can send a newer base-time before an older pending
     * change, and the margin re-reads that window (duplicates are harmless; see session.ts).
     */
    startTimeMarginS: z
      .number()
      .int()
      .min(0)
      .max(3600)
      .default(2)
      .describe('Seconds subtracted from the resume point sent as OPTION_LQ_START_TIME, so that a window a coalescing server may have reordered is read again (duplicates are harmless).'),
    /** Readiness fails when a session has made no progress for this long (a hung await, not a down server). */
    stuckAfterMs: positiveMs.optional().describe('Readiness fails when a session has made no progress for this long, ms (a hung await, not a down server); absent: the built-in default.'),
    backoff: BackoffSchema.describe('Reconnect back-off after a session fails.'),
  })
  .prefault({});

export const BatchSchema = z
  .strictObject({
    /** Events per Kafka transaction at most. */
    maxEvents: z.number().int().min(1).max(1_000_000).default(20_000).describe('Events per Kafka transaction at most.'),
    /** Bytes of record values per transaction at most (a single larger event still goes alone). */
    maxBytes: z
      .number()
      .int()
      .min(1024)
      .default(16 * 1024 * 1024)
      .describe('Bytes of record values per transaction at most (a single larger event still goes alone).'),
    /** How long the publisher waits for more events before committing a batch that is not full. */
    maxDelayMs: z.number().int().min(0).max(60_000).default(5).describe('How long the publisher waits for more events before committing a batch that is not full, ms.'),
    /** Events a source may have queued or in flight; beyond it the session stops reading (back-pressure). */
    sourceQueue: z
      .number()
      .int()
      .min(16)
      .default(10_000)
      .describe('Events one source may have queued or in flight; beyond it that session stops reading (back-pressure).'),
    /**
     * Events all sources together may have queued or in flight: bounds memory however
     * many sources there are (each source may still always have 256).
     */
    totalQueue: z
      .number()
      .int()
      .min(16)
      .default(100_000)
      .describe('Events all sources together may have queued or in flight: bounds memory however many sources there are (each source may still always have 256).'),
    /** transaction.timeout.ms of the producer. */
    transactionTimeoutMs: positiveMs.default(60_000).describe('transaction.timeout.ms of the transactional producer.'),
    /**
     * Record-batch compression. gzip shrinks the JSON events several times (less to send,
     * store and checksum) at the cost of zlib work, which runs off the main thread.
     */
    compression: z
      .enum(['none', 'gzip'])
      .default('none')
      .describe('Record-batch compression: gzip shrinks the JSON events several times at the cost of zlib work (off the main thread).'),
  })
  .prefault({});

/**
 * Sharing the sources among several connector instances (absent: this instance serves
 * every source, as one transactional producer "lqr-connector-<id>"). Each source belongs
 * to one work slot, the partition of lq.sources its name hashes to (murmur2, Kafka's
 * default partitioner); the instances join the Kafka consumer group `group` on
 * lq.sources and the group's partition assignment decides which slots each serves.
 * Every slot has its own transactional producer "lqr-connector-<group>-<slot>", so a
 * new owner of a slot fences the previous one. See docs/connector.md "Sharing the sources".
 */
export const SharingSchema = z
  .strictObject({
    /** Consumer group name (also the transactional ids' prefix): the same in every instance that shares these sources. */
    group: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, ".", "_" and "-" (1 to 100)')
      .describe('Name of the group of instances sharing these sources: consumer group "lqr-connector-<group>", transactional ids "lqr-connector-<group>-<slot>". The same in every instance, with the same sources.'),
    /**
     * Work slots = partitions of lq.sources (kafka.topics.sources.partitions follows this
     * value; an existing topic must have exactly this many). At least the largest number
     * of instances you will run; a slot costs its owner one transactional producer.
     */
    slots: z.number().int().min(1).max(1000).default(12).describe('Work slots = partitions of lq.sources (kafka.topics.sources.partitions follows it). At least the most instances you will run.'),
    /** Consumer-group session timeout: how soon the group notices a dead instance and moves its slots (broker minimum: group.min.session.timeout.ms, 6 s by default). */
    sessionTimeoutMs: z.number().int().min(1_000).max(300_000).default(10_000).describe('Consumer-group session timeout, ms: how soon a dead instance\'s slots move (the broker allows no less than group.min.session.timeout.ms, 6000 by default).'),
    /** Heartbeat interval of the group membership (below a third of the session timeout). */
    heartbeatIntervalMs: z.number().int().min(100).max(60_000).default(1_000).describe('Group heartbeat interval, ms (at most a third of sessionTimeoutMs).'),
    /** How long the group waits for every member to rejoin during a rebalance. */
    rebalanceTimeoutMs: z.number().int().min(1_000).max(300_000).default(30_000).describe('How long a rebalance waits for every member to rejoin, ms.'),
  })
  .superRefine((v, ctx) => {
    if (v.heartbeatIntervalMs * 3 > v.sessionTimeoutMs) {
      ctx.addIssue({ code: 'custom', path: ['heartbeatIntervalMs'], message: `must be at most a third of sessionTimeoutMs (${v.sessionTimeoutMs})` });
    }
  });

export const ConnectorConfigSchema = z
  .strictObject({
    /** Stable identity of this connector: transactional id "lqr-connector-<id>" (a second instance with the same id fences the first). */
    id: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, ".", "_" and "-" (1 to 100)')
      .describe('Stable identity of this connector: its Kafka transactional id is "lqr-connector-<id>", and a second instance with the same id fences the first. Run one process per id.'),
    /** OPTION_CLIENTID the connector identifies itself with (default: a DUID-EN derived from the host name). */
    requestorDuid: duidHex('requestorDuid')
      .optional()
      .describe('OPTION_CLIENTID the connector identifies itself with, hex DUID (default: a DUID-EN derived from the host name).'),
    /** Kafka settings (validated with the environment laid over them; see config/kafka.ts). */
    kafka: z
      .unknown()
      .optional()
      .describe('Kafka settings (see the kafka section); the KAFKA_* environment variables are laid over it.'),
    metrics: MetricsSchema.describe('Where the connector serves /metrics (Prometheus), /healthz and /readyz.'),
    session: SessionSchema.describe('Timers of the leasequery sessions.'),
    batch: BatchSchema.describe('Kafka transactions and back-pressure.'),
    /** Share the sources with other instances through a Kafka consumer group (absent: serve them all). */
    sharing: SharingSchema.optional().describe(
      'Share the sources with other connector instances through a Kafka consumer group: each instance serves the sources of the work slots (partitions of lq.sources) the group assigns it. Absent: this instance serves every source.',
    ),
    sources: z
      .array(SourceSchema)
      .min(1, 'at least one source (DHCPv6 server) is needed')
      .describe('The DHCPv6 servers to follow, one Active Leasequery session each.'),
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
export type SharingConfig = z.infer<typeof SharingSchema>;
/** The file as validated, before the Kafka section is resolved. */
export type ConnectorFileConfig = z.infer<typeof ConnectorConfigSchema>;
/** Input form (defaults optional), for tests and programmatic use. */
export type ConnectorConfigInput = z.input<typeof ConnectorConfigSchema>;
