// Shared set-up of the leasequery tests: small lab servers on loopback with short timers.
import { LabServer, type LabServerOptions } from '../../../src/lab/index.js';
import type { ActiveEvent, BulkEvent } from '../../../src/leasequery/index.js';

export const HOST = '::1';

/** Short RFC timers, so timeouts can be observed within a test. */
export const SHORT_TIMERS = { bulkDataTimeoutMs: 1500, activeSendTimeoutMs: 800, activeIdleTimeoutMs: 300 };

export async function startLab(opts: LabServerOptions = {}): Promise<LabServer & { udpPort: number; tcpPort: number }> {
  const lab = await LabServer.create({ seed: 7, clients: 300, links: 6, pdRatio: 0.4, host: HOST, ...opts, engine: { timers: SHORT_TIMERS, ...opts.engine } });
  const addr = await lab.start();
  return Object.assign(lab, { udpPort: addr.udpPort as number, tcpPort: addr.tcpPort as number });
}

/** Pull events until `stop` says so (inclusive) or the iterator ends. */
export async function collectUntil<E>(it: AsyncIterator<E>, stop: (e: E, all: E[]) => boolean, timeoutMs = 5000): Promise<E[]> {
  const out: E[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`collectUntil: timed out after ${out.length} events`);
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([it.next(), new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`collectUntil: timed out after ${out.length} events`)), left)))]);
    clearTimeout(timer);
    if (r.done) return out;
    out.push(r.value);
    if (stop(r.value, out)) return out;
  }
}

export const isDone = (e: BulkEvent | ActiveEvent): boolean => e.kind === 'done';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

import dgram from 'node:dgram';

/** Send raw bytes over UDP and wait for one datagram back (undefined after `waitMs`). */
export function udpRaw(port: number, bytes: Buffer, waitMs = 1000, host = HOST): Promise<Buffer | undefined> {
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, waitMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.send(bytes, port, host);
  });
}

/** A UDP relay in front of `port` that drops the first `drop` queries (to observe retransmission). */
export async function lossyProxy(port: number, drop: number): Promise<{ port: number; received: number; close(): void }> {
  const s = dgram.createSocket('udp6');
  const state = { port: 0, received: 0, close: (): void => undefined };
  const clients = new Map<number, { address: string; port: number }>();
  const upstream = dgram.createSocket('udp6');
  upstream.on('message', (m, r) => {
    const c = clients.get(r.port);
    if (c) s.send(m, c.port, c.address);
  });
  await new Promise<void>((r) => upstream.bind(0, HOST, () => r()));
  s.on('message', (m, r) => {
    state.received++;
    if (state.received <= drop) return;
    clients.set(port, { address: r.address, port: r.port });
    upstream.send(m, port, HOST);
  });
  await new Promise<void>((r) => s.bind(0, HOST, () => r()));
  state.port = s.address().port;
  state.close = () => {
    s.close();
    upstream.close();
  };
  return state;
}

import net from 'node:net';
import { FrameDecoder, decodeMessage, encodeFramedMessage, type ClientServerMessage, type Dhcp6Message } from '../../../src/protocol/index.js';

/** A bare TCP peer: send framed messages or raw bytes, read decoded messages. */
export interface RawPeer {
  socket: net.Socket;
  send(m: Dhcp6Message): void;
  sendBytes(b: Buffer): void;
  next(timeoutMs?: number): Promise<ClientServerMessage>;
  /** Resolves when the server closed the connection. */
  closed: Promise<void>;
  isClosed(): boolean;
}

export async function rawPeer(port: number, host = HOST): Promise<RawPeer> {
  const socket = net.connect({ port, host });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const dec = new FrameDecoder();
  const queue: ClientServerMessage[] = [];
  const waiters: ((m: ClientServerMessage) => void)[] = [];
  let isClosed = false;
  const closed = new Promise<void>((r) =>
    socket.on('close', () => {
      isClosed = true;
      r();
    }),
  );
  socket.on('error', () => undefined);
  socket.on('data', (chunk) => {
    for (const f of dec.push(chunk)) {
      const m = decodeMessage(f) as ClientServerMessage;
      const w = waiters.shift();
      if (w) w(m);
      else queue.push(m);
    }
  });
  return {
    socket,
    send: (m) => void socket.write(encodeFramedMessage(m)),
    sendBytes: (b) => void socket.write(b),
    closed,
    isClosed: () => isClosed,
    next: (timeoutMs = 2000) => {
      const m = queue.shift();
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('rawPeer.next: timed out')), timeoutMs);
        waiters.push((x) => {
          clearTimeout(t);
          resolve(x);
        });
      });
    },
  };
}

/** Poll `cond` until true (or fail after `timeoutMs`). */
export async function waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}
