// `lqr replica`: consume lq.events into the projection and serve it over leasequery
// (UDP, Bulk, Active) and HTTP, until SIGINT/SIGTERM (then a last snapshot).
import { parseArgs } from 'node:util';
import { kafkaSettingsFromEnv, parseBrokerList } from '../../kafka/index.js';
import { RATE_LIMIT_USAGE, registerEngineDefenceMetrics } from '../../leasequery/index.js';
import { ACCESS_OPTIONS, accessFromFlags } from '../access-flags.js';
import { createLogger } from '../../log.js';
import { Registry } from '../../metrics/index.js';
import { TOKEN_ENV, loadHttpSecurity } from '../../replica/http-security.js';
import { Replica, startReplicaHttp, type ReplicaHttp } from '../../replica/index.js';
import { CliError } from '../errors.js';

const USAGE = `usage: lqr replica --brokers HOST:PORT[,...] --data-dir DIR [options]

Rebuilds the lease state from lq.events (read_committed) and answers UDP LEASEQUERY,
TCP Bulk/Active Leasequery and HTTP lookups from it. On start it loads the newest good
snapshot in DIR/snapshots (a damaged one is skipped with a warning) and reads the topic
from there. The leasequery ports open only once it has caught up with the topic end
observed at start: an incomplete replica would answer "no binding" for clients it has
not read yet. /readyz is 200 only while caught up and connected to Kafka.

  --brokers LIST          Kafka bootstrap servers (or KAFKA_BROKERS; KAFKA_SSL, KAFKA_SASL_* apply)
  --topic NAME            events topic (default lq.events or KAFKA_EVENTS_TOPIC)
  --data-dir DIR          snapshots and the replica's server DUID (kept across restarts)
  --server-duid HEX       OPTION_SERVERID of the replies (default: generated once, kept in DIR)
  --host ADDR             leasequery and HTTP listen address (default ::1; '::' = all)
  --udp-port P            UDP LEASEQUERY port (default 5470; omit with --no-udp)
  --tcp-port P            TCP Bulk/Active Leasequery port (default 5470)
  --no-udp / --no-tcp     do not open that listener
  --http-port P           HTTP: /v1/bindings, /metrics, /healthz, /readyz, /v1/status (default 9470)
  --snapshot-every-s S    seconds between snapshots (default 300; 0 = only on exit)
  --snapshot-keep N       snapshots kept (default 3)
  --ready-max-lag N       records behind the topic end a caught-up replica may be and stay ready (default 10000)
  --allow-all             accept leasequery requestors from any address (default: loopback only)
  --acl LIST              accept leasequery requestors only from these prefixes (comma-separated)
${RATE_LIMIT_USAGE}
  --max-conns-per-prefix N
                          TCP connections one source prefix (--rate-prefix/--rate-prefix4)
                          may hold open at once (default: no limit below BULK_LQ_MAX_CONNS)
  --http-tls-cert FILE --http-tls-key FILE
                          serve the HTTP API over TLS (PEM files)
  --http-client-ca FILE   with TLS: /v1/* and /metrics need a client certificate signed
                          by this CA (mTLS)
  --http-token-file FILE  /v1/* and /metrics need "Authorization: Bearer <token>" with the
                          token in FILE (or in the environment variable ${TOKEN_ENV});
                          at least 16 characters; never logged
  --http-protect-probes   /healthz and /readyz need the same authentication (default:
                          open, for liveness/readiness probes)
  -h, --help              show this help`;

function num(v: string | undefined, flag: string, def: number, check: (n: number) => boolean = (n) => Number.isInteger(n) && n >= 0): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || !check(n)) throw new CliError(`replica: ${flag} '${v}' is not valid`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      options: {
        brokers: { type: 'string' },
        topic: { type: 'string' },
        'data-dir': { type: 'string' },
        'server-duid': { type: 'string' },
        host: { type: 'string' },
        'udp-port': { type: 'string' },
        'tcp-port': { type: 'string' },
        'no-udp': { type: 'boolean' },
        'no-tcp': { type: 'boolean' },
        'http-port': { type: 'string' },
        'snapshot-every-s': { type: 'string' },
        'snapshot-keep': { type: 'string' },
        'ready-max-lag': { type: 'string' },
        ...ACCESS_OPTIONS,
        'http-tls-cert': { type: 'string' },
        'http-tls-key': { type: 'string' },
        'http-client-ca': { type: 'string' },
        'http-token-file': { type: 'string' },
        'http-protect-probes': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new CliError(`replica: ${(e as Error).message}\n\n${USAGE}`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (!v['data-dir']) throw new CliError(`replica: --data-dir is required\n\n${USAGE}`);
  const port = (n: number) => Number.isInteger(n) && n >= 0 && n <= 65535;
  if (v['server-duid'] !== undefined && !/^([0-9a-f]{2}){3,130}$/i.test(v['server-duid'])) throw new CliError('replica: --server-duid must be hex bytes');
  let kafka;
  try {
    kafka = kafkaSettingsFromEnv(process.env, { clientId: 'lqr-replica', ...(v.brokers ? { brokers: parseBrokerList(v.brokers) } : {}) });
  } catch (e) {
    throw new CliError(`replica: Kafka settings: ${(e as Error).message}`);
  }
  const logger = createLogger('replica');
  const host = v.host ?? '::1';
  const { acl, rateLimit, maxConnectionsPerPrefix } = accessFromFlags(v, 'replica');
  let security;
  try {
    // Secrets only from files or the environment; error messages name files, never contents.
    security = loadHttpSecurity({
      tlsCertFile: v['http-tls-cert'],
      tlsKeyFile: v['http-tls-key'],
      clientCaFile: v['http-client-ca'],
      tokenFile: v['http-token-file'],
      protectProbes: v['http-protect-probes'],
    });
  } catch (e) {
    throw new CliError(`replica: ${(e as Error).message}`);
  }
  const replica = new Replica({
    kafka,
    topic: v.topic,
    dataDir: v['data-dir'],
    serverDuid: v['server-duid'] ? Buffer.from(v['server-duid'], 'hex') : undefined,
    host,
    udpPort: v['no-udp'] ? undefined : num(v['udp-port'], '--udp-port', 5470, port),
    tcpPort: v['no-tcp'] ? undefined : num(v['tcp-port'], '--tcp-port', 5470, port),
    snapshotIntervalMs: num(v['snapshot-every-s'], '--snapshot-every-s', 300) * 1000,
    snapshotKeep: num(v['snapshot-keep'], '--snapshot-keep', 3, (n) => Number.isInteger(n) && n >= 1),
    readyMaxLag: num(v['ready-max-lag'], '--ready-max-lag', 10_000),
    engine: { acl, rateLimit, maxConnectionsPerPrefix },
    logger,
  });
  await replica.start();
  let http: ReplicaHttp;
  try {
    const registry = new Registry();
    registerEngineDefenceMetrics(registry, 'lqr_replica_leasequery', () => replica.engine?.stats);
    http = await startReplicaHttp({ replica, host, port: num(v['http-port'], '--http-port', 9470, port), logger, registry, security });
  } catch (e) {
    await replica.stop({ snapshot: false });
    throw new CliError(`replica: HTTP listener: ${(e as Error).message}`);
  }
  logger.info({ httpPort: http.port, httpTls: security?.tls !== undefined, httpMtls: security?.tls?.clientCa !== undefined, httpToken: security?.token !== undefined, dataDir: v['data-dir'], topic: replica.topic }, 'replica started');
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  logger.info('stopping: closing listeners, writing a last snapshot');
  await http.close();
  await replica.stop();
  return 0;
}
