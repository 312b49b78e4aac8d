// Port choice for `lqr start`: fixed, well-known defaults so that the printed commands
// stay the same from one run to the next, a nearby free port when a default is taken
// (and a note saying so), and a clear error when a port given on the command line is
// taken or the address cannot be bound at all.
import dgram from 'node:dgram';
import { createServer } from 'node:net';
import { DemoError } from './errors.js';

export type Proto = 'tcp' | 'udp';

/** How many ports above a taken default are tried before an ephemeral one is used. */
const SEARCH_SPAN = 40;

function bindTcp(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(undefined)));
  });
}

function bindUdp(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.unref();
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.close();
      resolve(err);
    });
    socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => resolve(undefined)));
  });
}

/** Where to connect to reach a listener on `host`: loopback for the unspecified addresses. */
export function reachable(host: string): string {
  if (host === '::' || host === '::0' || host === '0:0:0:0:0:0:0:0') return '::1';
  if (host === '0.0.0.0') return '127.0.0.1';
  return host;
}

/** "[::1]:5470" or "127.0.0.1:5470". */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Whether `port` can be bound on `host` for every protocol in `protos` right now.
 * An address that cannot be bound at all (not configured, no permission) is a DemoError.
 */
export async function portFree(host: string, port: number, protos: readonly Proto[]): Promise<boolean> {
  for (const proto of protos) {
    const err = proto === 'tcp' ? await bindTcp(host, port) : await bindUdp(host, port);
    if (!err) continue;
    if (err.code === 'EADDRINUSE') return false;
    if (err.code === 'EACCES') {
      throw new DemoError('PORT', `no permission to listen on ${proto.toUpperCase()} ${hostPort(host, port)} (ports below 1024 need privileges): choose a port above 1024`);
    }
    if (err.code === 'EADDRNOTAVAIL' || err.code === 'EAFNOSUPPORT' || err.code === 'EINVAL') {
      throw new DemoError('PORT', `cannot listen on ${host} (${err.code}): this machine has no such address${host.includes(':') ? '; without IPv6 loopback try --host 127.0.0.1' : ''}`);
    }
    throw new DemoError('PORT', `cannot listen on ${proto.toUpperCase()} ${hostPort(host, port)}: ${err.message}`);
  }
  return true;
}

export interface PortRequest {
  /** What listens there, for messages ("replica leasequery"). */
  what: string;
  host: string;
  port: number;
  /** Given on the command line: taken is an error, not a reason to move. */
  explicit: boolean;
  /** The option that sets it, for the error message ("--replica-port"). */
  flag: string;
  protos: readonly Proto[];
}

/**
 * The port to use: `port` when free (or 0: ephemeral), else for a default the next
 * free one above it (`note` says which), else an error naming the flag.
 */
export async function choosePort(req: PortRequest, taken: Set<number>, note: (line: string) => void): Promise<number> {
  if (req.port === 0) return 0;
  if (!taken.has(req.port) && (await portFree(req.host, req.port, req.protos))) {
    taken.add(req.port);
    return req.port;
  }
  const protos = req.protos.map((p) => p.toUpperCase()).join('+');
  if (req.explicit) {
    throw new DemoError('PORT', `${req.what}: ${protos} port ${hostPort(req.host, req.port)} is already in use; choose another with ${req.flag} P (0 = any free port)`);
  }
  for (let p = req.port + 1; p <= Math.min(65535, req.port + SEARCH_SPAN); p++) {
    if (taken.has(p)) continue;
    if (await portFree(req.host, p, req.protos)) {
      taken.add(p);
      note(`port ${req.port} is in use: ${req.what} listens on ${p} instead (set it with ${req.flag})`);
      return p;
    }
  }
  note(`ports ${req.port}-${req.port + SEARCH_SPAN} are in use: ${req.what} listens on an ephemeral port (set it with ${req.flag})`);
  return 0;
}
