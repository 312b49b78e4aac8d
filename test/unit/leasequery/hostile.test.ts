// Hostile input and access (issue 8): no UDP amplification towards sources outside the
// ACL, per-prefix rate limits on UDP queries and TCP connections, slow-loris peers, and
// the Prometheus counters of all that.
import fc from 'fast-check';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Acl, PrefixRateLimiter, buildLeasequery, defaultRequestorDuid, registerEngineDefenceMetrics, type LeaseView } from '../../../src/leasequery/index.js';
import { resolveOptions } from '../../../src/leasequery/server/options.js';
import { newStats } from '../../../src/leasequery/server/stats.js';
import { answerDatagram, type UdpResponderDeps } from '../../../src/leasequery/server/udp.js';
import { silentLogger } from '../../../src/log.js';
import { Registry } from '../../../src/metrics/index.js';
import { MessageType, OptionCode, StatusCode, decodeMessage, encodeMessage, parseIPv6, type ClientServerMessage } from '../../../src/protocol/index.js';
import { HOST, rawPeer, sleep, startLab, udpRaw, waitFor } from './helpers.js';

/** The smallest LEASEQUERY an outsider could send that still names its CLIENTID (3-byte DUID). */
const tinyQuery = (xid: number): Buffer => encodeMessage({ kind: 'client-server', msgType: MessageType.LEASEQUERY, transactionId: xid, options: [{ name: 'clientId', code: 1, duid: Buffer.from([0, 3, 1]) }] });

/** A LEASEQUERY with an empty OPTION_LQ_QUERY (32 bytes). */
const smallQuery = (xid: number): Buffer =>
  encodeMessage({
    kind: 'client-server',
    msgType: MessageType.LEASEQUERY,
    transactionId: xid,
    options: [
      { name: 'clientId', code: 1, duid: Buffer.from([0, 3, 1]) },
      { name: 'lqQuery', code: 44, queryType: 1, linkAddress: Buffer.alloc(16), options: [] },
    ],
  });

const addressQuery = (xid: number, requestOptions?: number[]): Buffer =>
  encodeMessage(buildLeasequery(xid, defaultRequestorDuid(), { type: 'address', address: parseIPv6('2001:db8:1::1:0:1') }, requestOptions ? { requestOptions } : {}));

/** A view whose server DUID is `duid` (everything else from `base`). */
function withServerDuid(base: LeaseView, duid: Buffer): LeaseView {
  const v = Object.create(base) as LeaseView;
  Object.defineProperty(v, 'serverDuid', { value: duid });
  return v;
}

function status(m: ClientServerMessage): number | undefined {
  const s = m.options.find((o) => o.name === 'statusCode');
  return s && s.name === 'statusCode' ? s.status : undefined;
}

describe('UDP from a source outside the ACL: never more bytes out than in', () => {
  // The requestor is ::1; the ACL only allows 127.0.0.1.
  let lab: Awaited<ReturnType<typeof startLab>>;
  beforeAll(async () => {
    lab = await startLab({ engine: { acl: [{ prefix: '127.0.0.1' }] } });
  });
  afterAll(() => lab.stop());

  it('minimal queries get no reply when even a bare NotAllowed would be larger (14-byte server DUID)', async () => {
    for (const q of [tinyQuery(1), smallQuery(2), addressQuery(3)]) {
      const reply = await udpRaw(lab.udpPort, q, 300);
      if (reply) expect(reply.length).toBeLessThanOrEqual(q.length);
    }
    // 11 and 32 bytes cannot hold SERVERID(18) + CLIENTID + STATUS_CODE: dropped.
    expect(await udpRaw(lab.udpPort, tinyQuery(4), 300)).toBeUndefined();
    expect(await udpRaw(lab.udpPort, smallQuery(5), 300)).toBeUndefined();
  });

  it('a large enough query gets NotAllowed, its status message cut so the reply is no larger', async () => {
    const q = addressQuery(77, [OptionCode.LQ_RELAY_DATA, 23, 24, 25, 26, 27, 28, 29, 30]);
    const reply = await udpRaw(lab.udpPort, q, 1000);
    expect(reply).toBeDefined();
    expect(reply!.length).toBeLessThanOrEqual(q.length);
    const m = decodeMessage(reply!) as ClientServerMessage;
    expect(m.msgType).toBe(MessageType.LEASEQUERY_REPLY);
    expect(m.transactionId).toBe(77);
    expect(status(m)).toBe(StatusCode.NotAllowed);
    const cid = m.options.find((o) => o.name === 'clientId');
    expect(cid && cid.name === 'clientId' && cid.duid.equals(defaultRequestorDuid())).toBe(true);
  });

  it('undecodable datagrams and non-LEASEQUERY messages from outside get nothing (a permitted source gets MalformedQuery)', async () => {
    const header = Buffer.from([MessageType.LEASEQUERY, 0, 0, 9]);
    expect(await udpRaw(lab.udpPort, Buffer.concat([header, Buffer.from([0, 1, 0, 200])]), 300)).toBeUndefined();
    expect(await udpRaw(lab.udpPort, Buffer.from([1, 2, 3, 4, 5]), 300)).toBeUndefined();
    const deps: UdpResponderDeps = { view: lab.view, acl: new Acl(), opts: resolveOptions({ view: lab.view }), stats: newStats(), logger: silentLogger };
    const inside = answerDatagram(deps, Buffer.concat([header, Buffer.from([0, 1, 0, 200])]), '::1');
    expect(inside).toBeDefined();
    expect(status(decodeMessage(inside!) as ClientServerMessage)).toBe(StatusCode.MalformedQuery);
    const st = lab.stats!;
    expect(st.udpDenied).toBeGreaterThanOrEqual(6);
    expect(st.udpDeniedDropped).toBeGreaterThanOrEqual(4);
    expect(st.udpDeniedAnswered).toBeGreaterThanOrEqual(1);
  });

  it('property: whatever bytes an outsider sends, the reply is absent or no larger (also with a short server DUID)', () => {
    const short = withServerDuid(lab.view, Buffer.from('0003000102000053', 'hex')); // DUID-LL, 8 bytes
    for (const view of [lab.view, short]) {
      const deps: UdpResponderDeps = { view, acl: new Acl([{ prefix: '127.0.0.1' }]), opts: resolveOptions({ view }), stats: newStats(), logger: silentLogger };
      const valid = [tinyQuery(1), smallQuery(2), addressQuery(3), addressQuery(4, [47, 23, 24])];
      const mutated = fc
        .tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat({ max: 120 }))
        .map(([q, flips, cut]) => {
          const b = Buffer.from(q);
          for (const [i, v] of flips) b[i % b.length] = v;
          return b.subarray(0, Math.max(1, b.length - (cut % b.length)));
        });
      fc.assert(
        fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), mutated, fc.constantFrom(...valid)), (bytes) => {
          const reply = answerDatagram(deps, bytes, '::1');
          return reply === undefined || reply.length <= bytes.length;
        }),
        { numRuns: 3000 },
      );
      expect(deps.stats.udpDenied).toBeGreaterThan(0);
      if (view === short) expect(deps.stats.udpDeniedAnswered).toBeGreaterThan(0); // short DUID: minimal address queries do get NotAllowed
    }
  });

  it('with a short server DUID a typical query gets NotAllowed whose message is cut to fit', () => {
    const view = withServerDuid(lab.view, Buffer.from('0003000102000053', 'hex'));
    const deps: UdpResponderDeps = { view, acl: new Acl([{ prefix: '127.0.0.1' }]), opts: resolveOptions({ view }), stats: newStats(), logger: silentLogger };
    const q = addressQuery(5);
    const reply = answerDatagram(deps, q, '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff')!;
    expect(reply.length).toBeLessThanOrEqual(q.length);
    const m = decodeMessage(reply) as ClientServerMessage;
    const s = m.options.find((o) => o.name === 'statusCode');
    expect(s && s.name === 'statusCode' && s.status).toBe(StatusCode.NotAllowed);
    expect(s && s.name === 'statusCode' && 'leasequery is not allowed for 2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'.startsWith(s.message)).toBe(true);
    expect(deps.stats.statuses[StatusCode.NotAllowed]).toBe(1);
  });
});

describe('per-prefix rate limit', () => {
  it('UDP: over the bucket, datagrams of a permitted requestor are dropped silently (fake clock)', async () => {
    const clock = { t: 0 };
    const lab = await startLab({ seed: 81 });
    try {
      const view = lab.view;
      const limiter = new PrefixRateLimiter({ ratePerSecond: 2, burst: 3 }, { now: () => clock.t });
      const deps: UdpResponderDeps = { view, acl: new Acl(), opts: resolveOptions({ view }), stats: newStats(), logger: silentLogger, limiter };
      const answered = () => [1, 2, 3, 4, 5].filter((i) => answerDatagram(deps, addressQuery(i), '::1') !== undefined).length;
      expect(answered()).toBe(3);
      expect(deps.stats.udpRateLimited).toBe(2);
      clock.t += 1000; // two more tokens
      expect(answered()).toBe(2);
      // Another /64 (or IPv4 source) has its own bucket.
      expect(answerDatagram(deps, addressQuery(9), '127.0.0.1')).toBeDefined();
      // Outsiders do not consume (or create) buckets: they get the size rule instead.
      const before = limiter.size;
      answerDatagram(deps, addressQuery(10), '2001:db8::1');
      expect(limiter.size).toBe(before);
    } finally {
      await lab.stop();
    }
  });

  it('UDP through the socket: a burst beyond the bucket gets only `burst` replies', async () => {
    const lab = await startLab({ seed: 82, engine: { rateLimit: { udp: { ratePerSecond: 0.5, burst: 3 } } } });
    try {
      const replies = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => udpRaw(lab.udpPort, addressQuery(i), 500)));
      expect(replies.filter((r) => r !== undefined).length).toBe(3);
      expect(lab.stats!.udpRateLimited).toBe(3);
    } finally {
      await lab.stop();
    }
  });

  it('TCP: connections beyond the bucket are closed at accept; the accepted ones work', async () => {
    const lab = await startLab({ seed: 83, engine: { rateLimit: { tcp: { ratePerSecond: 0.5, burst: 2 } } } });
    try {
      const a = await rawPeer(lab.tcpPort);
      const b = await rawPeer(lab.tcpPort);
      const c = await rawPeer(lab.tcpPort);
      await c.closed;
      expect(lab.stats!.tcpRateLimited).toBe(1);
      a.send(buildLeasequery(5, defaultRequestorDuid(), { type: 'address', address: parseIPv6('2001:db8:1::1:0:1') }));
      expect((await a.next()).msgType).toBe(MessageType.LEASEQUERY_REPLY);
      expect(b.isClosed()).toBe(false);
      a.socket.destroy();
      b.socket.destroy();
    } finally {
      await lab.stop();
    }
  });
});

describe('slow-loris TCP peer', () => {
  it('one byte at a time does not keep a partial frame alive past BULK_LQ_DATA_TIMEOUT', async () => {
    const lab = await startLab({ seed: 84 }); // bulkDataTimeoutMs 1500
    try {
      const s = net.connect({ port: lab.tcpPort, host: HOST });
      s.on('error', () => undefined);
      let closedAt = 0;
      s.on('close', () => (closedAt = performance.now()));
      await new Promise<void>((r) => s.once('connect', () => r()));
      const t0 = performance.now();
      // A frame announcing 1000 bytes, then one byte every 100 ms.
      s.write(Buffer.from([0x03, 0xe8]));
      const timer = setInterval(() => s.writable && s.write(Buffer.from([0x0e])), 100);
      try {
        await waitFor(() => closedAt > 0, 5000, 'the server to close the slow-loris connection');
      } finally {
        clearInterval(timer);
      }
      expect(closedAt - t0).toBeLessThan(2500);
      expect(lab.stats!.tcpTimeouts).toBeGreaterThanOrEqual(1);
    } finally {
      await lab.stop();
    }
  });

  it('a frame that arrives whole in pieces is still answered', async () => {
    const lab = await startLab({ seed: 85 });
    try {
      const p = await rawPeer(lab.tcpPort);
      const { encodeFramedMessage } = await import('../../../src/protocol/index.js');
      const frame = encodeFramedMessage(buildLeasequery(6, defaultRequestorDuid(), { type: 'address', address: parseIPv6('2001:db8:1::1:0:1') }));
      for (let i = 0; i < frame.length; i += 16) {
        p.sendBytes(frame.subarray(i, i + 16));
        await sleep(20);
      }
      expect((await p.next()).transactionId).toBe(6);
      p.socket.destroy();
    } finally {
      await lab.stop();
    }
  });
});

describe('defence metrics', () => {
  it('mirror the engine counters as Prometheus counters', () => {
    const stats = newStats();
    const registry = new Registry();
    registerEngineDefenceMetrics(registry, 'lqr_test_lq', () => stats);
    stats.udpDeniedAnswered = 2;
    stats.udpDeniedDropped = 5;
    stats.udpRateLimited = 7;
    stats.tcpRateLimited = 1;
    let text = registry.render();
    expect(text).toContain('lqr_test_lq_udp_outside_acl_total{action="answered"} 2');
    expect(text).toContain('lqr_test_lq_udp_outside_acl_total{action="dropped"} 5');
    expect(text).toContain('lqr_test_lq_rate_limited_total{transport="udp"} 7');
    expect(text).toContain('lqr_test_lq_tcp_refused_total{reason="rate_limit"} 1');
    stats.udpRateLimited = 10;
    text = registry.render();
    expect(text).toContain('lqr_test_lq_rate_limited_total{transport="udp"} 10');
  });
});
