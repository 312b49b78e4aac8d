// The leasequery server engine: UDP LEASEQUERY (RFC 5007) and TCP Bulk (RFC 5460) and
// Active (RFC 7653) Leasequery, over any LeaseView. The lab DHCPv6 server and the
// replica both run this.
import net from 'node:net';
import tls from 'node:tls';
import { silentLogger, type Logger } from '../../log.js';
import { Acl } from './acl.js';
import { LeasequeryConnection } from './connection.js';
import { resolveOptions, type LeasequeryServerOptions, type ResolvedOptions } from './options.js';
import { DEFAULT_IPV4_PREFIX, DEFAULT_IPV6_PREFIX, PrefixRateLimiter, prefixKey } from './ratelimit.js';
import { newStats, type ServerStats } from './stats.js';
import { UdpResponder } from './udp.js';

export interface ListeningAddresses {
  host: string;
  udpPort?: number;
  tcpPort?: number;
}

export class LeasequeryServer {
  readonly stats: ServerStats = newStats();
  private readonly opts: ResolvedOptions;
  private readonly acl: Acl;
  private readonly logger: Logger;
  private readonly secureContext?: tls.SecureContext;
  /** Per-prefix token buckets (rateLimit option): UDP datagrams, new TCP connections. */
  readonly udpLimiter?: PrefixRateLimiter;
  readonly tcpLimiter?: PrefixRateLimiter;
  private udp?: UdpResponder;
  private tcp?: net.Server;
  private readonly connections = new Set<LeasequeryConnection>();
  /** Open connections per source prefix (only with maxConnectionsPerPrefix). */
  private readonly perPrefix = new Map<string, number>();
  private nextConnId = 1;
  private addresses?: ListeningAddresses;

  constructor(private readonly options: LeasequeryServerOptions) {
    this.opts = resolveOptions(options);
    this.acl = new Acl(options.acl);
    this.logger = options.logger ?? silentLogger;
    const rl = options.rateLimit;
    if (rl?.udp) this.udpLimiter = new PrefixRateLimiter(rl.udp, rl);
    if (rl?.tcp) this.tcpLimiter = new PrefixRateLimiter(rl.tcp, rl);
    for (const l of [this.udpLimiter, this.tcpLimiter]) if (l) l.onEvict = () => this.stats.rateLimitEvictions++;
    if (options.tls) {
      this.secureContext = tls.createSecureContext({ cert: options.tls.cert, key: options.tls.key, ca: options.tls.ca });
    }
  }

  /** Open the configured sockets. Resolves with the ports actually bound. */
  async start(): Promise<ListeningAddresses> {
    const host = this.opts.host;
    const out: ListeningAddresses = { host };
    try {
      if (this.options.udpPort !== undefined) {
        this.udp = new UdpResponder({ view: this.options.view, acl: this.acl, opts: this.opts, stats: this.stats, logger: this.logger, limiter: this.udpLimiter });
        out.udpPort = await this.udp.listen(host, this.options.udpPort);
      }
      if (this.options.tcpPort !== undefined) {
        const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (s) => this.accept(s));
        this.tcp = server;
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ port: this.options.tcpPort, host, ipv6Only: false }, () => {
            server.off('error', reject);
            resolve();
          });
        });
        server.on('error', (err) => this.logger.error({ err }, 'leasequery TCP listener error'));
        out.tcpPort = (server.address() as net.AddressInfo).port;
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.addresses = out;
    this.logger.info(out, 'leasequery server listening');
    return out;
  }

  get listening(): ListeningAddresses | undefined {
    return this.addresses;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private accept(socket: net.Socket): void {
    const peer = socket.remoteAddress ?? '';
    // RFC 5460 7.1: connections from requestors that may not query are closed at once.
    if (!this.acl.allows(peer, 'bulk') && !this.acl.allows(peer, 'active')) {
      this.stats.tcpDeniedByAcl++;
      if (this.logger.isLevelEnabled('info')) this.logger.info({ peer }, 'leasequery connection from a source the ACL does not allow: closed');
      socket.destroy();
      return;
    }
    // Per-prefix connection rate (a permitted requestor reconnecting in a loop, or a flood from its prefix).
    if (this.tcpLimiter && !this.tcpLimiter.allow(peer)) {
      this.stats.tcpRateLimited++;
      if (this.logger.isLevelEnabled('debug')) this.logger.debug({ peer }, 'leasequery connection over the rate limit of its prefix: closed');
      socket.destroy();
      return;
    }
    // RFC 5460 7.1: "Servers MUST be able to limit the number of currently accepted and active connections."
    if (this.connections.size >= this.opts.maxConnections) {
      this.stats.tcpRefused++;
      this.logger.warn({ peer, limit: this.opts.maxConnections }, 'BULK_LQ_MAX_CONNS reached: connection refused');
      socket.destroy();
      return;
    }
    let key: string | undefined;
    const perPrefixLimit = this.options.maxConnectionsPerPrefix;
    if (perPrefixLimit !== undefined) {
      const rl = this.options.rateLimit;
      key = prefixKey(peer, rl?.ipv6PrefixLength ?? DEFAULT_IPV6_PREFIX, rl?.ipv4PrefixLength ?? DEFAULT_IPV4_PREFIX);
      if (key !== undefined) {
        const held = this.perPrefix.get(key) ?? 0;
        if (held >= perPrefixLimit) {
          this.stats.tcpRefusedPerPrefix++;
          if (this.logger.isLevelEnabled('debug')) this.logger.debug({ peer, limit: perPrefixLimit }, 'connections per prefix reached: connection refused');
          socket.destroy();
          return;
        }
        this.perPrefix.set(key, held + 1);
      }
    }
    const prefix = key;
    this.stats.tcpConnections++;
    const conn = new LeasequeryConnection({
      id: this.nextConnId++,
      socket,
      view: this.options.view,
      acl: this.acl,
      opts: this.opts,
      stats: this.stats,
      logger: this.logger,
      secureContext: this.secureContext,
      requestCert: this.options.tls?.requestCert,
      requireTls: this.options.requireTls ?? false,
      onClose: (c) => {
        this.connections.delete(c);
        if (prefix !== undefined) {
          const n = (this.perPrefix.get(prefix) ?? 1) - 1;
          if (n <= 0) this.perPrefix.delete(prefix);
          else this.perPrefix.set(prefix, n);
        }
      },
    });
    this.connections.add(conn);
  }

  /**
   * Stop listening, end every query with QueryTerminated (RFC 5460 section 5.5, RFC 7653),
   * close every connection; connections still open after `graceMs` are destroyed.
   */
  async stop(graceMs = 2000): Promise<void> {
    const tcp = this.tcp;
    this.tcp = undefined;
    const closing = tcp ? new Promise<void>((r) => tcp.close(() => r())) : Promise.resolve();
    await this.udp?.close();
    this.udp = undefined;
    const conns = [...this.connections];
    for (const c of conns) c.terminate();
    const all = Promise.all(conns.map((c) => c.whenClosed()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    if (timer) clearTimeout(timer);
    for (const c of this.connections) c.destroy('shutdown grace period over');
    await closing;
    this.addresses = undefined;
  }
}
