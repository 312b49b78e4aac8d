// A lab DHCPv6 server: an authoritative lease database, a workload that changes it, and
// the leasequery engine serving it, behaving towards a requestor like a production
// server (its own DUID, its own possibly skewed clock, bounded history, restarts).
import { existsSync } from 'node:fs';
import { silentLogger, type Logger } from '../log.js';
import { LeasequeryServer, type LeasequeryServerOptions, type ListeningAddresses } from '../leasequery/server/index.js';
import { LeaseDb } from './db.js';
import { dumpBindings, type BindingsDump } from './dump.js';
import { loadState, readStateHeader, saveState } from './persist.js';
import { deriveSeed } from './prng.js';
import { Topology, type TopologyConfig } from './topology.js';
import { LabLeaseView } from './view.js';
import { Workload, type BurstKind, type WorkloadMix } from './workload.js';

export type LabMode = 'shared' | 'partitioned';

export interface LabServerOptions {
  seed?: number;
  clients?: number;
  links?: number;
  pdRatio?: number;
  /** Workload operations per second (0 = none until step()/burst()). */
  rate?: number;
  mix?: WorkloadMix;
  /** History entries kept for Active Leasequery catch-up (smaller = DataMissing sooner). */
  historySize?: number;
  /** This server's clock minus the host's, ms (a server whose clock is off). */
  clockOffsetMs?: number;
  tombstoneRetentionMs?: number;
  preferredLifetimeS?: number;
  validLifetimeS?: number;
  /** This server's number in a group (its DUID and, when partitioned, its clients). */
  index?: number;
  /** Servers in the group and how they share the clients (failover pair: 'shared'). */
  servers?: number;
  mode?: LabMode;
  host?: string;
  /** UDP and TCP port (0 = ephemeral, chosen separately for each). */
  port?: number;
  /** Engine options (acl, timers, tls, sensitiveOptions, maxConnections, ...). */
  engine?: Omit<LeasequeryServerOptions, 'view' | 'host' | 'udpPort' | 'tcpPort' | 'logger'>;
  /** Load the database from this NDJSON file if it exists; save it there on stop(). */
  stateFile?: string;
  /** Skip the initial population (an empty server). */
  empty?: boolean;
  logger?: Logger;
  /** Host clock, for tests. */
  hostClock?: () => number;
}

export class LabServer {
  readonly db: LeaseDb;
  readonly view: LabLeaseView;
  readonly workload: Workload;
  readonly serverDuid: Buffer;
  readonly topologyConfig: TopologyConfig;
  readonly index: number;
  private server?: LeasequeryServer;
  private ports: { udp?: number; tcp?: number } = {};
  private readonly logger: Logger;
  private rate: number;

  private constructor(
    private readonly opts: LabServerOptions,
    topology: TopologyConfig,
  ) {
    this.index = opts.index ?? 0;
    this.topologyConfig = topology;
    this.logger = opts.logger ?? silentLogger;
    this.rate = opts.rate ?? 0;
    this.db = new LeaseDb({
      topology: new Topology(topology),
      clockOffsetMs: opts.clockOffsetMs,
      historySize: opts.historySize,
      tombstoneRetentionMs: opts.tombstoneRetentionMs,
      preferredLifetimeS: opts.preferredLifetimeS,
      validLifetimeS: opts.validLifetimeS,
      hostClock: opts.hostClock,
    });
    this.serverDuid = Topology.serverDuid(topology.seed, this.index);
    this.view = new LabLeaseView(this.db, this.serverDuid);
    const servers = opts.servers ?? 1;
    this.workload = new Workload(this.db, {
      // Independent transactions per server, over the same population in 'shared' mode.
      seed: deriveSeed(topology.seed, this.index),
      partition: servers > 1 && (opts.mode ?? 'shared') === 'partitioned' ? { index: this.index, of: servers } : undefined,
      mix: opts.mix,
    });
  }

  /** Build the server: from its state file if there is one, else a fresh population. */
  static async create(opts: LabServerOptions = {}): Promise<LabServer> {
    let topology: TopologyConfig = { seed: opts.seed ?? 1, clients: opts.clients ?? 1000, links: opts.links ?? 8, pdRatio: opts.pdRatio ?? 0.3 };
    const fromFile = opts.stateFile !== undefined && existsSync(opts.stateFile);
    if (fromFile) topology = (await readStateHeader(opts.stateFile as string)).topology;
    const lab = new LabServer(opts, topology);
    if (fromFile) {
      const h = await loadState(opts.stateFile as string, lab.db);
      lab.workload.setState(h.workload);
      lab.logger.info({ file: opts.stateFile, bindings: lab.db.activeBindings, seq: h.seq }, 'lab database loaded');
    } else if (!opts.empty) {
      lab.workload.populate();
    }
    return lab;
  }

  /** Open the listeners (on the same ports as before after a restart) and start the workload. */
  async start(): Promise<ListeningAddresses> {
    if (this.server) throw new Error('lab server already started');
    const port = this.opts.port ?? 0;
    this.server = new LeasequeryServer({
      ...this.opts.engine,
      view: this.view,
      logger: this.logger,
      host: this.opts.host ?? '::1',
      udpPort: this.ports.udp ?? port,
      tcpPort: this.ports.tcp ?? port,
    });
    const addr = await this.server.start();
    this.ports = { udp: addr.udpPort, tcp: addr.tcpPort };
    if (this.rate > 0 && !this.workload.running) this.workload.start(this.rate);
    return addr;
  }

  get addresses(): ListeningAddresses | undefined {
    return this.server?.listening;
  }

  get stats() {
    return this.server?.stats;
  }

  get engine(): LeasequeryServer | undefined {
    return this.server;
  }

  /** Change the workload rate (ops/s); 0 stops it. */
  setRate(rate: number): void {
    this.rate = rate;
    if (rate > 0) this.workload.start(rate);
    else this.workload.stop();
  }

  /** Close the listeners (QueryTerminated to open sessions), keep the database and workload. */
  async stopListeners(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await s?.stop();
  }

  /** In-process restart: listeners go down and come back on the same ports; the DB is intact. */
  async restart(downMs = 0): Promise<ListeningAddresses> {
    await this.stopListeners();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    return this.start();
  }

  /** Stop everything; save the database if a state file is configured. */
  async stop(): Promise<void> {
    this.workload.stop();
    await this.stopListeners();
    if (this.opts.stateFile) await this.save(this.opts.stateFile);
  }

  async save(file: string): Promise<void> {
    await saveState(file, this.db, { topology: this.topologyConfig, serverDuid: this.serverDuid.toString('hex'), workload: this.workload.getState() });
  }

  /** Perform n workload operations now (deterministic for a seed). */
  step(n = 1): number {
    return this.workload.step(n);
  }

  burst(kind: BurstKind): number {
    return this.workload.burst(kind);
  }

  dumpBindings(opts?: { includeReleased?: boolean }): BindingsDump {
    return dumpBindings(this.db, this.serverDuid, opts);
  }
}

/** Several lab servers (a failover pair in 'shared' mode), each with its own DUID and port. */
export async function createLabServers(n: number, opts: LabServerOptions): Promise<LabServer[]> {
  const out: LabServer[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      await LabServer.create({
        ...opts,
        index: i,
        servers: n,
        port: opts.port ? opts.port + i : 0,
        stateFile: opts.stateFile && n > 1 ? `${opts.stateFile}.${i}` : opts.stateFile,
      }),
    );
  }
  return out;
}
