// `lqr start` (`npm start`): Kafka, a failover pair of lab DHCPv6 servers, the
// connector and a replica in one process tree, with progress, the endpoints, commands
// to try and a live status line, until Ctrl-C. See src/demo/.
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { DemoConsole } from '../../demo/console.js';
import { startDemo, type DemoOptions, type PortOption, type RunningDemo } from '../../demo/demo.js';
import { DemoError, messageOf } from '../../demo/errors.js';
import { statusLine, stateChanges, type StatusSample } from '../../demo/status.js';
import { lqrCommand, summaryLines } from '../../demo/summary.js';
import { CliError } from '../errors.js';

const USAGE = `usage: lqr start [options]            (npm start -- [options])

Starts the whole system in one process tree and keeps it running until Ctrl-C:
  - Kafka: a local single-node broker (Java 17; its jars come from Maven Central on
    the first run), or the cluster of KAFKA_BROKERS when that is set
  - two lab DHCPv6 servers, a failover pair whose clients keep renewing, releasing,
    expiring and moving
  - the connector, with an Active Leasequery session to each lab server
  - a replica answering leasequery (UDP, Bulk and Active over TCP) and HTTP
then prints where everything listens, commands to try, and a live status line.
Ctrl-C (or SIGTERM) stops everything in order and exits 0; a second Ctrl-C exits at once.

  -c, --config FILE       run the connector against the DHCPv6 servers of this connector
                          configuration (see deploy/examples/connector.yaml) instead of
                          lab servers; Kafka from the file, KAFKA_BROKERS, or a local broker
      --data-dir DIR      state: Kafka data, lab databases, replica snapshots, logs
                          (default .lqr-demo in the current directory); kept across runs
      --fresh             delete the state in DIR first (topics on an existing cluster stay)
      --topic-prefix P    put P before the topic names (default: none with the local
                          broker, "lqr-demo." on an existing cluster)
      --host ADDR         listen address of the lab servers and the replica (default ::1)
      --lab-port P        lab servers' UDP+TCP ports P and P+1 (default 5470)
      --replica-port P    replica leasequery UDP+TCP port (default 5480)
      --http-port P       replica HTTP API port (default 9470)
      --metrics-port P    connector /metrics port on 127.0.0.1 (default 9464)
      --kafka-port P      local broker port on 127.0.0.1 (default 9092; controller P+1)
                          A default port that is taken moves to the next free one (and
                          says so); a port given here that is taken is an error. 0 = any.
      --clients N         lab client population (default 1000)
      --links N           lab links, each behind a relay (default 8)
      --rate R            lab workload, binding changes per second per server (default 5)
      --seed S            lab workload seed (default 1)
      --status-every S    seconds between status lines when stdout is not a terminal
                          (default 5; on a terminal the line is redrawn every second)
      --ready-timeout S   give up when not ready after S seconds (default 180)
  -h, --help              show this help

Environment: KAFKA_BROKERS (and KAFKA_SSL*, KAFKA_SASL_*) to use an existing cluster;
LQR_LOG_LEVEL for the log file (default info).

exit status: 0 stopped by Ctrl-C/SIGTERM; 1 a component failed; 2 usage or configuration
error; 130 second Ctrl-C`;

const TOPIC_PREFIX = /^[A-Za-z0-9._-]{0,100}$/;

function intOption(v: string | undefined, flag: string, def: number, check: (n: number) => boolean): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !check(n)) throw new CliError(`start: ${flag} '${v}' is not valid (see lqr start --help)`);
  return n;
}

const isPort = (n: number) => Number.isInteger(n) && n >= 0 && n <= 65535;

function portOption(v: string | undefined, flag: string, def: number): PortOption {
  return { port: intOption(v, flag, def, isPort), explicit: v !== undefined };
}

function cliErrorOf(err: DemoError): CliError {
  const usage = err.code === 'CONFIG';
  return new CliError(`start: ${err.message}`, usage ? 2 : 1);
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string', short: 'c' },
        'data-dir': { type: 'string' },
        fresh: { type: 'boolean' },
        'topic-prefix': { type: 'string' },
        host: { type: 'string' },
        'lab-port': { type: 'string' },
        'replica-port': { type: 'string' },
        'http-port': { type: 'string' },
        'metrics-port': { type: 'string' },
        'kafka-port': { type: 'string' },
        clients: { type: 'string' },
        links: { type: 'string' },
        rate: { type: 'string' },
        seed: { type: 'string' },
        'status-every': { type: 'string' },
        'ready-timeout': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new CliError(`start: ${messageOf(err)}\n\n${USAGE}`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const host = v.host ?? '::1';
  if (isIP(host) === 0) throw new CliError(`start: --host '${host}' is not an IP address`);
  const prefix = v['topic-prefix'];
  if (prefix !== undefined && !TOPIC_PREFIX.test(prefix)) throw new CliError(`start: --topic-prefix '${prefix}' may use only letters, digits, '.', '_' and '-' (up to 100)`);
  if (v.config !== undefined && v.config.trim() === '') throw new CliError('start: --config needs a file name');
  const isInt = (n: number) => Number.isInteger(n) && n >= 0;
  const opts: DemoOptions = {
    dataDir: v['data-dir'] ?? '.lqr-demo',
    configFile: v.config,
    fresh: v.fresh === true,
    topicPrefix: prefix,
    host,
    ports: {
      lab: portOption(v['lab-port'], '--lab-port', 5470),
      replica: portOption(v['replica-port'], '--replica-port', 5480),
      http: portOption(v['http-port'], '--http-port', 9470),
      metrics: portOption(v['metrics-port'], '--metrics-port', 9464),
      kafka: portOption(v['kafka-port'], '--kafka-port', 9092),
    },
    lab: {
      clients: intOption(v.clients, '--clients', 1000, (n) => isInt(n) && n >= 1 && n <= 0x7fffff),
      links: intOption(v.links, '--links', 8, (n) => isInt(n) && n >= 1 && n <= 0x8000),
      rate: intOption(v.rate, '--rate', 5, (n) => n >= 0 && n <= 1_000_000),
      seed: intOption(v.seed, '--seed', 1, isInt),
    },
    env: process.env,
    readyTimeoutMs: intOption(v['ready-timeout'], '--ready-timeout', 180, (n) => n > 0) * 1000,
  };
  const statusEveryMs = intOption(v['status-every'], '--status-every', 5, (n) => n > 0) * 1000;

  // A reader that goes away (`npm start | head`) must not crash the demo with EPIPE.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const ui = new DemoConsole(process.stdout, process.stderr);
  const abort = new AbortController();
  let demo: RunningDemo | undefined;
  let signals = 0;
  let stopRequested: (sig: NodeJS.Signals) => void = () => undefined;
  const stopSignal = new Promise<NodeJS.Signals>((r) => (stopRequested = r));
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      ui.endStatus();
      process.stderr.write(`\n${sig} again: exiting now (the Kafka broker is told to stop; state may be older than it would have been)\n`);
      demo?.kill();
      process.exit(130);
    }
    abort.abort();
    stopRequested(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // Keeps the process alive while it stops (the broker's handles are unreferenced).
  let keepAlive: NodeJS.Timeout | undefined;
  try {
    const t0 = Date.now();
    try {
      demo = await startDemo(opts, ui, abort.signal);
    } catch (err) {
      if (err instanceof DemoError && err.code === 'INTERRUPTED') {
        process.stderr.write('stopped before it was ready.\n');
        return 0;
      }
      if (err instanceof DemoError) throw cliErrorOf(err);
      throw err;
    }
    for (const line of summaryLines(demo.endpoints, Date.now() - t0, lqrCommand())) ui.say(line);

    // ---- live status until a signal or a failure ---------------------------------------
    const d = demo;
    let prev: StatusSample | undefined;
    let lastPrinted = 0;
    const tick = () => {
      try {
        const s = d.sample();
        for (const line of stateChanges(s, prev)) ui.say(line);
        if (ui.stdoutIsTTY || s.at - lastPrinted >= statusEveryMs - 100) {
          ui.status(statusLine(s, prev));
          lastPrinted = s.at;
        }
        prev = s;
      } catch {
        // a status line is not worth stopping for
      }
    };
    tick();
    const timer = setInterval(tick, 1_000);
    const outcome = await Promise.race([stopSignal.then((sig) => ({ sig })), d.failure.then((err) => ({ err }))]);
    clearInterval(timer);
    ui.endStatus();
    keepAlive = setInterval(() => undefined, 1_000);
    if ('err' in outcome) {
      process.stderr.write(`${outcome.err.message}\nstopping …\n`);
      await d.stop((line) => process.stderr.write(`${line}\n`));
      throw new CliError(`start: ${outcome.err.message}`, 1);
    }
    process.stderr.write(`${outcome.sig}: stopping (Ctrl-C again to exit at once) …\n`);
    await d.stop((line) => process.stderr.write(`${line}\n`));
    process.stderr.write('stopped.\n');
    return 0;
  } finally {
    if (keepAlive) clearInterval(keepAlive);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    // Whatever a library left behind (an idle socket, a timer) must not keep a stopped
    // demo from exiting; a signal from now on exits at once.
    process.on('SIGINT', () => process.exit(130));
    process.on('SIGTERM', () => process.exit(143));
    setTimeout(() => process.exit(), 3_000).unref();
  }
}
