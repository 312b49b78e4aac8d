// `lqr lab`: run lab DHCPv6 servers (authoritative lease DB + workload + leasequery
// engine) until Ctrl-C.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLabServers, startAdmin, type LabMode, type LabServer } from '../../lab/index.js';
import { RATE_LIMIT_USAGE } from '../../leasequery/index.js';
import { ACCESS_OPTIONS, accessFromFlags } from '../access-flags.js';
import { createLogger } from '../../log.js';
import { formatIPv6 } from '../../protocol/index.js';
import { CliError } from '../errors.js';

const USAGE = `usage: lqr lab [options]

Runs lab DHCPv6 servers: an authoritative lease database with a seeded workload,
answering UDP LEASEQUERY and TCP Bulk/Active Leasequery like a production server.
Runs until Ctrl-C (SIGINT/SIGTERM).

  --host ADDR             listen address (default ::1; '::' = every address)
  --port P                UDP and TCP port (default 5470; 0 = ephemeral); server i uses P+i
  --clients N             client population (default 1000)
  --links K               links, each behind a relay (default 8; every third link is
                          two relay hops away)
  --pd-ratio X            fraction of clients with a delegated prefix (default 0.3)
  --rate R                workload operations per second (default 10; 0 = static)
  --seed S                workload seed: the same seed gives the same bindings (default 1)
  --history N             changes kept for Active Leasequery catch-up (default 100000)
  --clock-offset-s S      this server's clock is S seconds off the host's (may be negative)
  --servers N             run N servers (default 1), each with its own DUID and port
  --mode shared|partitioned
                          with --servers > 1: 'shared' (default) = a failover pair
                          serving the same clients with independent transactions;
                          'partitioned' = each server its own share of the clients
  --tls-cert FILE --tls-key FILE
                          enable STARTTLS (without: STARTTLS gets TLSConnectionRefused)
  --state FILE            load the database from FILE if it exists; save it on exit
                          (with --servers N: FILE.0, FILE.1, ...)
  --dump-on-exit FILE     write the ground-truth bindings (JSON) on exit
  --admin-port P          HTTP: GET /bindings, GET /stats, POST /burst?kind=rebind-all,
                          POST /step?n=N (on --host)
  --burst-every S         every S seconds, all clients rebind at once (an outage ending)
  --allow-all             accept requestors from any address (default: loopback only)
  --acl LIST              accept requestors only from these prefixes (comma-separated,
                          e.g. 2001:db8:ac::/48,10.0.0.0/8); others: TCP closed, UDP
                          NotAllowed no larger than their query, or nothing
${RATE_LIMIT_USAGE}
  --max-conns-per-prefix N
                          TCP connections one source prefix (--rate-prefix/--rate-prefix4)
                          may hold open at once (default: no limit below BULK_LQ_MAX_CONNS)
  -h, --help              show this help`;

function num(v: string | undefined, flag: string, def: number, check: (n: number) => boolean = () => true): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || !check(n)) throw new CliError(`lab: ${flag} '${v}' is not valid`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        clients: { type: 'string' },
        links: { type: 'string' },
        'pd-ratio': { type: 'string' },
        rate: { type: 'string' },
        seed: { type: 'string' },
        history: { type: 'string' },
        'clock-offset-s': { type: 'string' },
        servers: { type: 'string' },
        mode: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        state: { type: 'string' },
        'dump-on-exit': { type: 'string' },
        'admin-port': { type: 'string' },
        'burst-every': { type: 'string' },
        ...ACCESS_OPTIONS,
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new CliError(`lab: ${(e as Error).message}\n\n${USAGE}`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const isInt = (n: number): boolean => Number.isInteger(n) && n >= 0;
  const mode = (v.mode ?? 'shared') as LabMode;
  if (mode !== 'shared' && mode !== 'partitioned') throw new CliError(`lab: --mode must be shared or partitioned`);
  if ((v['tls-cert'] === undefined) !== (v['tls-key'] === undefined)) throw new CliError('lab: --tls-cert and --tls-key go together');
  let tls;
  try {
    tls = v['tls-cert'] ? { cert: readFileSync(v['tls-cert']), key: readFileSync(v['tls-key'] as string) } : undefined;
  } catch (e) {
    throw new CliError(`lab: ${(e as Error).message}`);
  }
  const { acl, rateLimit, maxConnectionsPerPrefix } = accessFromFlags(v, 'lab');
  const host = v.host ?? '::1';
  const servers = num(v.servers, '--servers', 1, (n) => isInt(n) && n >= 1 && n <= 64);
  const logger = createLogger('lab');
  let labs: LabServer[];
  try {
    labs = await createLabServers(servers, {
      host,
      port: num(v.port, '--port', 5470, (n) => isInt(n) && n <= 65535),
      clients: num(v.clients, '--clients', 1000, isInt),
      links: num(v.links, '--links', 8, (n) => isInt(n) && n >= 1),
      pdRatio: num(v['pd-ratio'], '--pd-ratio', 0.3, (n) => n >= 0 && n <= 1),
      rate: num(v.rate, '--rate', 10, (n) => n >= 0),
      seed: num(v.seed, '--seed', 1, isInt),
      historySize: num(v.history, '--history', 100_000, (n) => isInt(n) && n >= 1),
      clockOffsetMs: num(v['clock-offset-s'], '--clock-offset-s', 0) * 1000,
      mode,
      stateFile: v.state,
      logger,
      engine: { tls, acl, rateLimit, maxConnectionsPerPrefix },
    });
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`lab: ${(e as Error).message}`);
  }
  for (const lab of labs) {
    let a;
    try {
      a = await lab.start();
    } catch (e) {
      for (const l of labs) await l.stopListeners();
      throw new CliError(`lab: cannot start server ${lab.index}: ${(e as Error).message}`, 1);
    }
    const where = (p?: number) => (host.includes(':') ? `[${host}]:${p}` : `${host}:${p}`);
    process.stdout.write(
      `lab server ${lab.index}: DUID ${lab.serverDuid.toString('hex')}, UDP ${where(a.udpPort)}, TCP ${where(a.tcpPort)}${tls ? ' (STARTTLS)' : ''}, ` +
        `${lab.db.activeBindings} bindings on ${lab.topologyConfig.links} links (first link ${formatIPv6(lab.db.topology.links[0].linkAddress)}), ` +
        `clock offset ${lab.db.clockOffsetMs / 1000}s\n`,
    );
  }
  let admin: Awaited<ReturnType<typeof startAdmin>> | undefined;
  if (v['admin-port'] !== undefined) {
    admin = await startAdmin(labs, host, num(v['admin-port'], '--admin-port', 0, (n) => isInt(n) && n <= 65535));
    process.stdout.write(`admin HTTP on ${host.includes(':') ? `[${host}]` : host}:${admin.port} (GET /bindings, GET /stats, POST /burst?kind=rebind-all)\n`);
  }
  const burstEvery = num(v['burst-every'], '--burst-every', 0, (n) => n >= 0);
  const burstTimer = burstEvery > 0 ? setInterval(() => labs.forEach((l) => l.burst('rebind-all')), burstEvery * 1000) : undefined;

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  if (burstTimer) clearInterval(burstTimer);
  process.stdout.write('stopping...\n');
  await admin?.close();
  for (const lab of labs) await lab.stop();
  if (v['dump-on-exit']) {
    const dumps = labs.map((l) => l.dumpBindings());
    writeFileSync(v['dump-on-exit'], JSON.stringify(dumps.length === 1 ? dumps[0] : dumps, null, 1) + '\n');
    process.stdout.write(`bindings written to ${v['dump-on-exit']}\n`);
  }
  return 0;
}
