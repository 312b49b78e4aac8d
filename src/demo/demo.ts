// `lqr start`: the whole system in one process tree.
//
//   Kafka ── a local broker (deploy/kafka), or KAFKA_BROKERS / the --config file's cluster
//   lab servers 0 and 1 ── a failover pair (src/lab, 'shared' mode) with a running workload
//   connector ── Active Leasequery to both lab servers (or the --config file's servers) -> lq.events
//   replica ── lq.events -> projection -> leasequery UDP + TCP and HTTP
//
// Everything runs in this process except the broker (a JVM in its own process group,
// whose watchdog follows this process). Start order is Kafka, topics, lab servers,
// connector, replica; stop order the reverse: replica (last snapshot), connector (the
// last events flushed), lab servers (their databases saved), broker.
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ConnectorConfig, ConnectorConfigInput } from '../config/index.js';
import { resolveConnectorConfig } from '../config/index.js';
import { createConnector, type Connector } from '../connector/index.js';
import { LabServer } from '../lab/index.js';
import type { Logger } from '../log.js';
import { Registry, startOpsServer, type OpsServer } from '../metrics/index.js';
import { formatIPv6, parseIPv6 } from '../protocol/index.js';
import { Replica, startReplicaHttp, type ReplicaHttp } from '../replica/index.js';
import { count, type DemoConsole } from './console.js';
import { loadDemoConfig, prefixTopics, type DemoConfigFile } from './config.js';
import { DemoError, messageOf } from './errors.js';
import { externalKafka, localKafkaMode, prepareDemoTopics, startLocalKafka, unlessAborted, type DemoKafka } from './kafka.js';
import { openLogFile } from './logs.js';
import { displayPath } from './paths.js';
import { choosePort, hostPort, reachable } from './ports.js';
import { sumCounter, type StatusSample } from './status.js';

export interface PortOption {
  port: number;
  /** Given on the command line (taken = error) rather than a default (taken = move). */
  explicit: boolean;
}

export interface DemoOptions {
  /** State directory (Kafka data, lab databases, replica snapshots, logs). */
  dataDir: string;
  /** Run the connector against this file's servers instead of lab servers. */
  configFile?: string;
  /** Delete the state in dataDir first. */
  fresh?: boolean;
  /** Put before the topic names (tests, or sharing a cluster). Default: none on a local broker, "lqr-demo." on an existing cluster. */
  topicPrefix?: string;
  /** Listen address of the lab servers, the replica and its HTTP API. */
  host: string;
  ports: { lab: PortOption; replica: PortOption; http: PortOption; metrics: PortOption; kafka: PortOption };
  /** Lab population and workload. */
  lab: { clients: number; links: number; rate: number; seed: number };
  env: NodeJS.ProcessEnv;
  /** Bound on the initial load (every source live, replica caught up). Default 180 s. */
  readyTimeoutMs?: number;
  /** Seconds between replica snapshots. Default 60. */
  snapshotEverySeconds?: number;
}

export interface LabEndpoint {
  name: string;
  host: string;
  udpPort: number;
  tcpPort: number;
  serverDuid: string;
  bindings: number;
  loadedFromState: boolean;
}

export interface Example {
  address: string;
  clientId: string;
  link: string;
}

export interface Endpoints {
  mode: 'lab' | 'config';
  configFile?: string;
  kafka: { brokers: string; mode: DemoKafka['mode']; description: string; logFile?: string };
  topics: { events: string; sources: string };
  labs: LabEndpoint[];
  connector: { id: string; sources: { name: string; host: string; port: number }[]; metricsUrl?: string };
  replica: { host: string; udpPort?: number; tcpPort?: number; httpUrl: string; dataDir: string };
  dataDir: string;
  logFile: string;
  example?: Example;
}

export interface RunningDemo {
  readonly endpoints: Endpoints;
  /** A status sample (cheap: once a second is fine). */
  sample(): StatusSample;
  /** Settles when a component fails for good while running (connector fenced, ...). */
  readonly failure: Promise<Error>;
  /** Stop everything in order; `report` is told each step. */
  stop(report: (line: string) => void): Promise<void>;
  /** A second Ctrl-C: stop the broker without waiting (the process exits next). */
  kill(): void;
}

interface Stoppable {
  name: string;
  stop: () => Promise<string | void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function sanitize(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120);
}

/** The first binding with a live address on one of `links` (or anywhere, when the projection is small). */
export function pickExample(replica: Replica, links: readonly Buffer[], now = Date.now()): Example | undefined {
  const projection = replica.projection;
  let plain: Example | undefined;
  for (const link of links) {
    for (const b of projection.byLinkAddress(link)) {
      const a = b.addresses.find((x) => x.validUntil > now);
      if (!a) continue;
      const ex = { address: formatIPv6(a.address), clientId: b.clientDuid.toString('hex'), link: formatIPv6(b.linkAddress) };
      // An address ending in ":0:0" (the lab's client 0) reads like a mistake in an example.
      if (a.address.readUInt16BE(14) !== 0) return ex;
      plain ??= ex;
    }
  }
  if (plain) return plain;
  if (projection.stats().bindings > 200_000) return undefined;
  for (const d of projection.dump()) {
    for (const line of d.addresses) {
      const [hex, , valid] = line.split(' ');
      if (Number(valid) <= now) continue;
      const address = formatIPv6(Buffer.from(hex, 'hex'));
      const b = projection.byAddress(Buffer.from(hex, 'hex'));
      if (b) return { address, clientId: b.clientDuid.toString('hex'), link: formatIPv6(b.linkAddress) };
    }
  }
  return undefined;
}

/** One `lqr start` per data directory: a pid file, refused while its process lives. */
function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'lqr-start.pid');
  if (existsSync(file)) {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    let alive = false;
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (err) {
        alive = (err as NodeJS.ErrnoException).code === 'EPERM';
      }
    }
    if (alive) throw new DemoError('DATA_DIR', `another 'lqr start' (pid ${pid}) is using ${displayPath(dataDir)}: stop it first, or give this one its own --data-dir`);
  }
  writeFileSync(file, `${process.pid}\n`);
  return () => rmSync(file, { force: true });
}

/**
 * Start everything; resolves once the replica answers for the sources' current
 * bindings. On failure (or abort) whatever was started is stopped again before the
 * error is thrown.
 */
export async function startDemo(opts: DemoOptions, ui: DemoConsole, signal: AbortSignal): Promise<RunningDemo> {
  const t0 = Date.now();
  const dataDir = resolve(opts.dataDir);
  // Check the configuration before anything is created or started.
  const config: DemoConfigFile | undefined = opts.configFile ? loadDemoConfig(opts.configFile, opts.env) : undefined;
  try {
    if (opts.fresh) for (const d of ['kafka', 'lab', 'replica', 'logs']) rmSync(join(dataDir, d), { recursive: true, force: true });
    mkdirSync(join(dataDir, 'logs'), { recursive: true });
  } catch (err) {
    throw new DemoError('DATA_DIR', `cannot use the data directory ${dataDir}: ${messageOf(err)}`, { cause: err });
  }
  const unlock = lockDataDir(dataDir);
  const logs = openLogFile(join(dataDir, 'logs', 'lqr-start.log'));
  const log = logs.logger('lqr-start');
  log.info({ dataDir, config: opts.configFile, host: opts.host }, 'lqr start: starting');
  ui.note(`Starting lq-replicator${config ? ` with the servers of ${config.file}` : ' with two lab DHCPv6 servers'} (state in ${displayPath(dataDir)}, logs in ${displayPath(logs.path)}; Ctrl-C stops)`);

  const stack: Stoppable[] = [];
  const taken = new Set<number>();
  const note = (line: string) => ui.note(`  note: ${line}`);
  let connector: Connector | undefined;
  let registry: Registry | undefined;
  let kafka: DemoKafka | undefined;
  let failWith: (err: Error) => void = () => undefined;
  const failure = new Promise<Error>((r) => (failWith = r));

  const stopAll = async (report: (line: string) => void): Promise<void> => {
    for (const c of stack.splice(0).reverse()) {
      const t = Date.now();
      try {
        const detail = await c.stop();
        report(`  ${c.name}: stopped${detail ? ` (${detail})` : ''} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      } catch (err) {
        report(`  ${c.name}: ${messageOf(err)}`);
        log.error({ err, component: c.name }, 'stop failed');
      }
    }
    log.info('lqr start: stopped');
    logs.close();
    unlock();
  };

  try {
    // Without a cluster to use, a local broker is needed: is there Java (or Docker)?
    const envBrokers = opts.env.KAFKA_BROKERS?.trim() ? opts.env.KAFKA_BROKERS.trim() : undefined;
    const localMode = config?.brokersFrom || envBrokers ? undefined : await localKafkaMode(opts.env);

    // ---- lab servers (lab mode) ---------------------------------------------------
    const labs: LabServer[] = [];
    const labEndpoints: LabEndpoint[] = [];
    if (!config) {
      const step = ui.step(`lab DHCPv6 servers: starting a failover pair (${count(opts.lab.clients)} clients, ${opts.lab.rate} changes/s each)`);
      try {
        let next = opts.ports.lab.port;
        for (let i = 0; i < 2; i++) {
          const port = await choosePort(
            { what: `lab server ${i}`, host: opts.host, port: next, explicit: opts.ports.lab.explicit, flag: '--lab-port', protos: ['udp', 'tcp'] },
            taken,
            note,
          );
          if (port !== 0) next = port + 1;
          const stateFile = join(dataDir, 'lab', `server-${i}.state`);
          mkdirSync(join(dataDir, 'lab'), { recursive: true });
          const loaded = existsSync(stateFile);
          const lab = await LabServer.create({
            seed: opts.lab.seed,
            clients: opts.lab.clients,
            links: opts.lab.links,
            pdRatio: 0.3,
            rate: opts.lab.rate,
            index: i,
            servers: 2,
            mode: 'shared',
            host: opts.host,
            port,
            stateFile,
            logger: logs.logger(`lab-${i}`),
          });
          const addr = await lab.start();
          labs.push(lab);
          stack.push({ name: `lab server ${i}`, stop: async () => (await lab.stop(), `database saved to ${displayPath(stateFile)}`) });
          labEndpoints.push({
            name: `lab-${i}`,
            host: opts.host,
            udpPort: addr.udpPort as number,
            tcpPort: addr.tcpPort as number,
            serverDuid: lab.serverDuid.toString('hex'),
            bindings: lab.db.activeBindings,
            loadedFromState: loaded,
          });
        }
        const restored = labEndpoints.some((l) => l.loadedFromState) ? `; databases restored from the last run (${count(labs[0].topologyConfig.clients)} clients)` : '';
        step.done(`${labEndpoints.map((l) => `${l.name} on ${hostPort(l.host, l.udpPort)}`).join(', ')}${restored}`);
      } catch (err) {
        step.fail();
        if (err instanceof DemoError) throw err;
        throw new DemoError('STARTUP', `the lab servers did not start: ${messageOf(err)}`, { cause: err });
      }
    }

    // ---- Kafka --------------------------------------------------------------------
    let cfg: ConnectorConfig | undefined;
    if (config?.brokersFrom === 'file') {
      cfg = config.resolve();
      kafka = externalKafka(cfg.kafka.brokers.join(','), `from ${config.file}`);
    } else if (envBrokers || !localMode) {
      kafka = externalKafka(envBrokers ?? '', 'KAFKA_BROKERS');
    } else {
      kafka = await startLocalKafka({
        mode: localMode,
        env: opts.env,
        dataDir,
        port: opts.ports.kafka.port,
        portExplicit: opts.ports.kafka.explicit,
        console: ui,
        logs,
        signal,
        taken,
      });
      const k = kafka;
      // Stopped last, after the lab servers that were started before it.
      stack.unshift({ name: 'Kafka broker', stop: () => k.stop() });
    }
    if (kafka.mode === 'external') ui.note(`Kafka: using the ${kafka.description} at ${kafka.brokers}`);
    const local = kafka.mode !== 'external';
    const prefix = opts.topicPrefix ?? (local || config ? '' : 'lqr-demo.');

    if (!config) {
      const connectorId = `lqr-demo${prefix ? `-${prefix}` : ''}`.replace(/[^A-Za-z0-9._-]/g, '-').replace(/[.-]+$/, '').slice(0, 100);
      const links = labs[0].db.topology.links.map((l) => formatIPv6(l.linkAddress));
      const doc: ConnectorConfigInput = {
        id: connectorId,
        kafka: {
          brokers: kafka.brokers.split(','),
          clientId: 'lqr-demo',
          topics: { events: { name: `${prefix}${(!local && opts.env.KAFKA_EVENTS_TOPIC) || 'lq.events'}` }, sources: { name: `${prefix}${(!local && opts.env.KAFKA_SOURCES_TOPIC) || 'lq.sources'}` } },
        },
        metrics: { host: '127.0.0.1', port: opts.ports.metrics.port },
        session: { connectTimeoutMs: 5_000, backoff: { initialMs: 250, maxMs: 5_000 } },
        sources: labEndpoints.map((l) => ({ name: l.name, host: reachable(l.host), port: l.tcpPort, scopes: { links } })),
      };
      // An existing cluster keeps its TLS/SASL settings from the environment; the topic names are ours.
      const env = local
        ? {}
        : Object.fromEntries(Object.entries(opts.env).filter(([k]) => k !== 'KAFKA_EVENTS_TOPIC' && k !== 'KAFKA_SOURCES_TOPIC'));
      try {
        cfg = resolveConnectorConfig(doc, env);
      } catch (err) {
        throw new DemoError('CONFIG', `Kafka settings from the environment: ${messageOf(err)}`, { cause: err });
      }
    } else {
      cfg = prefixTopics(cfg ?? config.resolve(local ? kafka.brokers : undefined), prefix);
    }

    // ---- topics -------------------------------------------------------------------
    await prepareDemoTopics(cfg.kafka, ui, logs.logger('kafka-admin'), signal);

    // ---- connector ----------------------------------------------------------------
    let metricsUrl: string | undefined;
    {
      registry = new Registry();
      const connectorLog: Logger = logs.logger('connector').child({ connector: cfg.id });
      const c = createConnector(cfg, { registry, logger: connectorLog });
      connector = c;
      let ops: OpsServer | undefined;
      if (cfg.metrics.enabled) {
        const port = await choosePort(
          { what: 'the connector metrics', host: cfg.metrics.host, port: opts.ports.metrics.explicit ? opts.ports.metrics.port : cfg.metrics.port, explicit: opts.ports.metrics.explicit, flag: '--metrics-port', protos: ['tcp'] },
          taken,
          note,
        );
        const reg = registry;
        ops = await startOpsServer({ host: cfg.metrics.host, port, registry: reg, health: () => c.health(), ready: () => c.ready() });
        metricsUrl = `http://${hostPort(cfg.metrics.host, ops.port)}/metrics`;
      }
      const done = c.start();
      done.then(
        () => undefined,
        (err: unknown) => {
          log.error({ err }, 'connector failed');
          failWith(new DemoError('STARTUP', `the connector stopped: ${messageOf(err)}`, { cause: err }));
        },
      );
      const o = ops;
      stack.push({
        name: 'connector',
        stop: async () => {
          await c.stop();
          await o?.close();
          return 'sessions closed, last events committed';
        },
      });
      ui.note(`connector: Active Leasequery sessions to ${cfg.sources.map((s) => `${s.name} (${hostPort(s.host, s.port)})`).join(', ')}`);
    }

    // ---- replica ------------------------------------------------------------------
    const replicaDir = join(dataDir, 'replica', sanitize(`${local ? 'local' : kafka.brokers}_${cfg.kafka.topics.events.name}`));
    const replicaPort = await choosePort(
      { what: 'the replica leasequery', host: opts.host, port: opts.ports.replica.port, explicit: opts.ports.replica.explicit, flag: '--replica-port', protos: ['udp', 'tcp'] },
      taken,
      note,
    );
    const httpPort = await choosePort(
      { what: 'the replica HTTP API', host: opts.host, port: opts.ports.http.port, explicit: opts.ports.http.explicit, flag: '--http-port', protos: ['tcp'] },
      taken,
      note,
    );
    const replicaLog = logs.logger('replica');
    const r = new Replica({
      kafka: { ...cfg.kafka, clientId: `${cfg.kafka.clientId}-replica` },
      dataDir: replicaDir,
      host: opts.host,
      udpPort: replicaPort,
      tcpPort: replicaPort,
      snapshotIntervalMs: (opts.snapshotEverySeconds ?? 60) * 1000,
      logger: replicaLog,
    });
    await r.start();
    let http: ReplicaHttp | undefined;
    stack.push({
      name: 'replica',
      stop: async () => {
        await http?.close();
        const bindings = r.projection.stats().bindings;
        await r.stop();
        const snap = r.status().snapshot.lastPath;
        return snap ? `snapshot of ${count(bindings)} bindings in ${displayPath(snap)}` : 'no snapshot (it had not caught up)';
      },
    });
    try {
      http = await startReplicaHttp({ replica: r, host: opts.host, port: httpPort, logger: replicaLog });
    } catch (err) {
      throw new DemoError('PORT', `the replica HTTP API cannot listen on ${hostPort(opts.host, httpPort)}: ${messageOf(err)}`, { cause: err });
    }
    const loadedFrom = r.status().snapshot.loadedFrom;
    ui.note(`replica: ${loadedFrom ? `resumed from its snapshot ${displayPath(loadedFrom)}` : 'no snapshot yet, reading lq.events from the beginning'}; HTTP on ${hostPort(opts.host, http.port)}`);

    // ---- initial load -------------------------------------------------------------
    const c = connector;
    const reg = registry;
    const labLinks = labs.length > 0 ? labs[0].db.topology.links.map((l) => l.linkAddress) : [];
    const configLinks = cfg.sources.flatMap((s) => s.scopes.links.map((l) => parseIPv6(l)));
    // Nicer example addresses first: link 1's 2001:db8:1::1:... rather than link 0's 2001:db8::1:...
    const exampleLinks = labLinks.length > 1 ? [...labLinks.slice(1), labLinks[0]] : configLinks;
    const step = ui.step(config ? 'initial load: servers -> connector -> Kafka -> replica' : 'initial load: lab servers -> connector -> Kafka -> replica');
    const bound = opts.readyTimeoutMs ?? 180_000;
    const startedAt = Date.now();
    let example: Example | undefined;
    let failed: Error | undefined;
    void failure.then((e) => (failed = e));
    // Events the connector had produced when every session was first live (its initial
    // load): the replica is loaded once it has consumed at least as many records.
    let eventsAtLive: number | undefined;
    for (;;) {
      if (signal.aborted) throw new DemoError('INTERRUPTED', 'interrupted');
      if (failed) throw failed;
      const sources = c.status();
      const allLive = sources.length > 0 && sources.every((s) => s.state === 'live');
      const st = r.status();
      const bindings = r.projection.stats().bindings;
      const events = sumCounter(reg, 'lqr_connector_events_total');
      const sessions = sources.length > 0 ? sources.map((s) => `${s.name} ${s.state}`).join(', ') : 'connector connecting to Kafka';
      step.update(`${sessions}; ${count(events)} events; replica ${count(bindings)} bindings${st.caughtUp ? '' : ' (catching up)'}`);
      const replicaUp = st.caughtUp && r.listening !== undefined && st.lag <= 1_000;
      const elapsed = Date.now() - startedAt;
      if (allLive && eventsAtLive === undefined) eventsAtLive = events;
      const loaded = eventsAtLive !== undefined && r.counts.total >= eventsAtLive;
      if (replicaUp && loaded && bindings > 0) example = pickExample(r, exampleLinks);
      // Lab mode: wait for both sessions to be live (initial load done) and the replica to hold it.
      // Config mode: real servers may be down; wait for them a while, not for ever.
      if (replicaUp && allLive && loaded && (example || config)) break;
      if (replicaUp && config && elapsed > 30_000) {
        const down = sources.filter((s) => s.state !== 'live');
        ui.note(`  note: not every server is live yet (${down.map((s) => `${s.name} ${s.state}${s.lastError ? `: ${s.lastError}` : ''}`).join('; ')}); continuing, the connector keeps trying`);
        break;
      }
      if (elapsed > bound) {
        const why = sources.map((s) => `${s.name} ${s.state}${s.lastError ? ` (${s.lastError})` : ''}`).join(', ');
        step.fail('timed out');
        const replicaWhy = !st.caughtUp ? 'the replica has not caught up with the topic' : r.listening === undefined ? `the replica could not open its leasequery port ${hostPort(opts.host, replicaPort)} (see the log)` : '';
        throw new DemoError('STARTUP', `not ready after ${bound / 1000} s: ${why}${replicaWhy ? `; ${replicaWhy}` : ''}; details in ${displayPath(logs.path)}`);
      }
      await unlessAborted(sleep(250), signal);
    }
    step.done(`${count(r.projection.stats().bindings)} bindings in the replica`);

    const listening = r.listening;
    const endpoints: Endpoints = {
      mode: config ? 'config' : 'lab',
      configFile: config?.file,
      kafka: { brokers: kafka.brokers, mode: kafka.mode, description: kafka.description, logFile: kafka.logFile },
      topics: { events: cfg.kafka.topics.events.name, sources: cfg.kafka.topics.sources.name },
      labs: labEndpoints,
      connector: { id: cfg.id, sources: cfg.sources.map((s) => ({ name: s.name, host: s.host, port: s.port })), metricsUrl },
      replica: { host: opts.host, udpPort: listening?.udpPort, tcpPort: listening?.tcpPort, httpUrl: `http://${hostPort(reachable(opts.host), http.port)}`, dataDir: replicaDir },
      dataDir,
      logFile: logs.path,
      example,
    };
    try {
      writeFileSync(join(dataDir, 'endpoints.json'), `${JSON.stringify(endpoints, null, 2)}\n`);
    } catch {
      // informative only
    }
    log.info({ ...endpoints, ms: Date.now() - t0 }, 'lqr start: ready');

    const k = kafka;
    return {
      endpoints,
      failure,
      sample: () => {
        const st = r.status();
        return {
          at: Date.now(),
          sources: c.status().map((s) => ({ name: s.name, state: s.state, lastError: s.lastError })),
          events: sumCounter(reg, 'lqr_connector_events_total'),
          replica: { bindings: r.projection.stats().bindings, lag: st.lag, ready: st.ready, listening: r.listening !== undefined },
        };
      },
      stop: stopAll,
      kill: () => k.kill(),
    };
  } catch (err) {
    const interrupted = err instanceof DemoError && err.code === 'INTERRUPTED';
    if (!interrupted) log.error({ err }, 'lqr start failed');
    if (stack.length > 0) ui.note(interrupted ? 'stopping what was started …' : 'start failed: stopping what was started …');
    await stopAll((line) => ui.note(line));
    if (err instanceof DemoError) throw err;
    throw new DemoError('STARTUP', `${messageOf(err)} (details in ${displayPath(logs.path)})`, { cause: err });
  }
}
