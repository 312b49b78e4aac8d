// Bulk Leasequery (RFC 5460, with RFC 7653 time filters) through real TCP sockets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestorConnection, RequestorError, buildLeasequery, defaultRequestorDuid, type BulkEvent, type QuerySpec } from '../../../src/leasequery/index.js';
import type { DumpedBinding } from '../../../src/lab/dump.js';
import {
  MessageType,
  QueryType,
  StatusCode,
  formatIPv6,
  parseIPv6,
  unixMsToDhcpTime,
  type ClientServerMessage,
  type Dhcp6Option,
} from '../../../src/protocol/index.js';
import { HOST, collectUntil, isDone, rawPeer, sleep, startLab, waitFor } from './helpers.js';

type Lab = Awaited<ReturnType<typeof startLab>>;
const statusOf = (m: ClientServerMessage) => (m.options.find((o) => o.name === 'statusCode') as Extract<Dhcp6Option, { name: 'statusCode' }> | undefined)?.status ?? 0;
const has = (m: ClientServerMessage, name: Dhcp6Option['name']) => m.options.some((o) => o.name === name);

async function bulk(lab: Lab, spec: QuerySpec, extras?: Parameters<RequestorConnection['bulk']>[1]): Promise<BulkEvent[]> {
  const conn = await RequestorConnection.connect({ host: HOST, port: lab.tcpPort });
  try {
    return await collectUntil(conn.bulk(spec, extras), isDone);
  } finally {
    conn.close();
  }
}

const clientsOf = (evs: BulkEvent[]) =>
  evs
    .flatMap((e) => (e.kind === 'binding' ? [`${e.binding.clientDuid?.toString('hex')}@${formatIPv6(e.binding.linkAddress!)}`] : []))
    .sort();
const expected = (bs: DumpedBinding[]) => bs.map((b) => `${b.clientId}@${b.linkAddress}`).sort();

describe('Bulk Leasequery', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab();
  });
  afterAll(() => lab.stop());

  it('QUERY_BY_LINK_ADDRESS returns every binding on the link, then DONE with Success', async () => {
    const link = lab.db.topology.links[1].linkAddress;
    const evs = await bulk(lab, { type: 'link', link });
    expect(evs.at(-1)).toMatchObject({ kind: 'done', status: StatusCode.Success });
    expect(clientsOf(evs)).toEqual(expected(lab.dumpBindings().bindings.filter((b) => b.linkAddress === formatIPv6(link))));
    expect(evs.every((e) => e.baseTime !== undefined)).toBe(true);
  });

  it('QUERY_BY_RELAY_ID: a first-hop relay, an aggregation relay (all its links), and restricted to a link', async () => {
    const t = lab.db.topology;
    const all = lab.dumpBindings().bindings;
    const r1 = await bulk(lab, { type: 'relay-id', relayId: t.links[2].relayId });
    expect(clientsOf(r1)).toEqual(expected(all.filter((b) => b.linkAddress === formatIPv6(t.links[2].linkAddress))));
    const agg = t.links[2].agg!.relayId;
    const behind = t.links.filter((l) => l.agg?.relayId.equals(agg)).map((l) => formatIPv6(l.linkAddress));
    expect(behind.length).toBe(2);
    const r2 = await bulk(lab, { type: 'relay-id', relayId: agg });
    expect(clientsOf(r2)).toEqual(expected(all.filter((b) => behind.includes(b.linkAddress))));
    const r3 = await bulk(lab, { type: 'relay-id', relayId: agg, link: t.links[5].linkAddress });
    expect(clientsOf(r3)).toEqual(expected(all.filter((b) => b.linkAddress === behind[1])));
  });

  it('QUERY_BY_REMOTE_ID returns the bindings carrying that remote-id', async () => {
    const b = lab.dumpBindings().bindings.find((x) => x.remoteId)!;
    const evs = await bulk(lab, { type: 'remote-id', enterpriseNumber: b.remoteId!.enterpriseNumber, remoteId: Buffer.from(b.remoteId!.id, 'hex') });
    expect(clientsOf(evs)).toEqual([`${b.clientId}@${b.linkAddress}`]);
  });

  it('QUERY_BY_ADDRESS and QUERY_BY_CLIENTID over TCP: every link of the client, never OPTION_LQ_CLIENT_LINK', async () => {
    const b = lab.dumpBindings().bindings.find((x) => x.addresses.length > 0)!;
    const byAddr = await bulk(lab, { type: 'address', address: parseIPv6(b.addresses[0].address) });
    expect(clientsOf(byAddr)).toEqual([`${b.clientId}@${b.linkAddress}`]);
    const client = lab.db.clientOf(Buffer.from(b.clientId, 'hex').toString('latin1'))!;
    const other = (lab.db.linksOf(client)[0] + 1) % 6;
    lab.db.bind(client, other);
    const byId = await bulk(lab, { type: 'client-id', clientId: Buffer.from(b.clientId, 'hex') });
    expect(clientsOf(byId).length).toBe(2);
    expect(byId.some((e) => e.kind === 'binding' && e.message.options.some((o) => o.name === 'lqClientLink'))).toBe(false);
  });

  it('sends LEASEQUERY-REPLY (first binding), LEASEQUERY-DATA (the rest), LEASEQUERY-DONE, base-time in each', async () => {
    const peer = await rawPeer(lab.tcpPort);
    const duid = defaultRequestorDuid();
    peer.send(buildLeasequery(0x1111, duid, { type: 'link', link: lab.db.topology.links[0].linkAddress }));
    const n = lab.dumpBindings().bindings.filter((b) => b.linkAddress === formatIPv6(lab.db.topology.links[0].linkAddress)).length;
    const msgs: ClientServerMessage[] = [];
    for (let i = 0; i < n + 1; i++) msgs.push(await peer.next());
    expect(msgs[0].msgType).toBe(MessageType.LEASEQUERY_REPLY);
    expect(has(msgs[0], 'serverId') && has(msgs[0], 'clientId') && has(msgs[0], 'clientData')).toBe(true);
    expect(has(msgs[0], 'statusCode')).toBe(false);
    for (const m of msgs.slice(1, n)) {
      expect(m.msgType).toBe(MessageType.LEASEQUERY_DATA);
      expect(has(m, 'clientData') && has(m, 'lqBaseTime')).toBe(true);
      expect(has(m, 'serverId') || has(m, 'clientId')).toBe(false);
    }
    expect(msgs[n].msgType).toBe(MessageType.LEASEQUERY_DONE);
    expect(has(msgs[n], 'lqBaseTime')).toBe(true);
    expect(msgs.every((m) => m.transactionId === 0x1111)).toBe(true);
    peer.socket.destroy();
  });

  it('no binding: a LEASEQUERY-REPLY without status or client data, no DONE; the connection serves the next query', async () => {
    const peer = await rawPeer(lab.tcpPort);
    const duid = defaultRequestorDuid();
    peer.send(buildLeasequery(1, duid, { type: 'remote-id', enterpriseNumber: 1, remoteId: Buffer.from('nobody') }));
    peer.send(buildLeasequery(2, duid, { type: 'address', address: parseIPv6(lab.dumpBindings().bindings.find((b) => b.addresses.length)!.addresses[0].address) }));
    const m1 = await peer.next();
    expect([m1.msgType, m1.transactionId, statusOf(m1), has(m1, 'clientData')]).toEqual([MessageType.LEASEQUERY_REPLY, 1, 0, false]);
    const m2 = await peer.next();
    expect([m2.msgType, m2.transactionId, has(m2, 'clientData')]).toEqual([MessageType.LEASEQUERY_REPLY, 2, true]);
    const m3 = await peer.next();
    expect([m3.msgType, m3.transactionId]).toEqual([MessageType.LEASEQUERY_DONE, 2]);
    peer.socket.destroy();
  });

  it('a requestor may close its sending side after the query: the answer still comes, then the server closes', async () => {
    const peer = await rawPeer(lab.tcpPort);
    const link = lab.db.topology.links[4].linkAddress;
    peer.send(buildLeasequery(0x77, defaultRequestorDuid(), { type: 'link', link }));
    peer.socket.end();
    const n = lab.dumpBindings().bindings.filter((b) => b.linkAddress === formatIPv6(link)).length;
    const msgs: ClientServerMessage[] = [];
    for (let i = 0; i < n + 1; i++) msgs.push(await peer.next());
    expect(msgs.at(-1)!.msgType).toBe(MessageType.LEASEQUERY_DONE);
    await peer.closed;
  });

  it('serves pipelined queries on one connection in order', async () => {
    const peer = await rawPeer(lab.tcpPort);
    const duid = defaultRequestorDuid();
    const links = lab.db.topology.links;
    for (let i = 0; i < 3; i++) peer.send(buildLeasequery(100 + i, duid, { type: 'link', link: links[i].linkAddress }));
    const counts = [0, 1, 2].map((i) => lab.dumpBindings().bindings.filter((b) => b.linkAddress === formatIPv6(links[i].linkAddress)).length + 1);
    const xids: number[] = [];
    for (let i = 0; i < counts[0] + counts[1] + counts[2]; i++) xids.push((await peer.next()).transactionId);
    expect(xids).toEqual([...Array(counts[0]).fill(100), ...Array(counts[1]).fill(101), ...Array(counts[2]).fill(102)]);
    peer.socket.destroy();
  });

  it('status codes over TCP: UnknownQueryType, MalformedQuery, NotConfigured; the connection stays usable', async () => {
    const peer = await rawPeer(lab.tcpPort);
    const duid = defaultRequestorDuid();
    const m = buildLeasequery(10, duid, { type: 'relay-id', relayId: lab.db.topology.links[0].relayId });
    const lq = m.options.find((o) => o.name === 'lqQuery') as Extract<Dhcp6Option, { name: 'lqQuery' }>;
    const withLq = (x: Partial<typeof lq>, xid: number) => ({ ...m, transactionId: xid, options: m.options.map((o) => (o === lq ? { ...lq, ...x } : o)) });
    peer.send(withLq({ queryType: 42 }, 11));
    peer.send(withLq({ options: [] }, 12)); // QUERY_BY_RELAY_ID without OPTION_RELAY_ID
    peer.send(withLq({ linkAddress: parseIPv6('2001:db9::1') }, 13));
    peer.send(withLq({ queryType: QueryType.QUERY_BY_LINK_ADDRESS, options: [] }, 14)); // link ::
    const got = [];
    for (let i = 0; i < 4; i++) {
      const r = await peer.next();
      got.push([r.transactionId, r.msgType, statusOf(r)]);
    }
    expect(got).toEqual([
      [11, MessageType.LEASEQUERY_REPLY, StatusCode.UnknownQueryType],
      [12, MessageType.LEASEQUERY_REPLY, StatusCode.MalformedQuery],
      [13, MessageType.LEASEQUERY_REPLY, StatusCode.NotConfigured],
      [14, MessageType.LEASEQUERY_REPLY, StatusCode.MalformedQuery],
    ]);
    peer.send(buildLeasequery(15, duid, { type: 'link', link: lab.db.topology.links[0].linkAddress }));
    expect((await peer.next()).transactionId).toBe(15);
    peer.socket.destroy();
  });

  it('an undecodable query with a readable header gets MalformedQuery; garbage closes only that connection', async () => {
    const good = await rawPeer(lab.tcpPort);
    const bad = await rawPeer(lab.tcpPort);
    const { encodeFramedMessage } = await import('../../../src/protocol/index.js');
    const frame = encodeFramedMessage(buildLeasequery(0x42, defaultRequestorDuid(), { type: 'link', link: lab.db.topology.links[0].linkAddress }));
    // Shorten the message by 2 bytes, fixing up the frame length: the last option overruns.
    const short = Buffer.concat([Buffer.from([0, frame.length - 4]), frame.subarray(2, frame.length - 2)]);
    bad.sendBytes(short);
    const r = await bad.next();
    expect([r.transactionId, statusOf(r)]).toEqual([0x42, StatusCode.MalformedQuery]);
    // A complete frame of garbage (no LEASEQUERY header to answer): that connection is closed at once.
    bad.sendBytes(Buffer.concat([Buffer.from([0, 5]), Buffer.from('hello')]));
    await bad.closed;
    good.send(buildLeasequery(0x43, defaultRequestorDuid(), { type: 'link', link: lab.db.topology.links[1].linkAddress }));
    expect((await good.next()).transactionId).toBe(0x43);
    good.socket.destroy();
    // Text that is not leasequery at all: "GE" reads as a 18245-byte frame that never completes;
    // the server holds only what arrived and closes after BULK_LQ_DATA_TIMEOUT.
    const http = await rawPeer(lab.tcpPort);
    http.sendBytes(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await http.closed;
    expect((await bulk(lab, { type: 'link', link: lab.db.topology.links[1].linkAddress })).at(-1)).toMatchObject({ kind: 'done', status: 0 });
  }, 10_000);

  it('a peer that sends half a frame and stalls is closed after BULK_LQ_DATA_TIMEOUT; others are served meanwhile', async () => {
    const staller = await rawPeer(lab.tcpPort);
    staller.sendBytes(Buffer.from([0x03, 0xe8, 14, 0, 0])); // claims 1000 bytes, sends 3
    const t0 = Date.now();
    const evs = await bulk(lab, { type: 'link', link: lab.db.topology.links[3].linkAddress });
    expect(evs.at(-1)).toMatchObject({ kind: 'done', status: 0 });
    await staller.closed;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  }, 10_000);

  it('filters by OPTION_LQ_START_TIME / OPTION_LQ_END_TIME: bindings changed in the window, released ones included', async () => {
    const clock = { t: Date.now() };
    const tl = await startLab({ seed: 31, clients: 200, links: 2, hostClock: () => clock.t });
    try {
      clock.t += 60_000;
      const t1 = tl.db.now();
      tl.step(40);
      clock.t += 60_000;
      const t2 = tl.db.now();
      tl.step(40);
      clock.t += 60_000;
      const link = tl.db.topology.links[0].linkAddress;
      const inWindow = (from: number, to: number) =>
        tl
          .dumpBindings({ includeReleased: true })
          .bindings.filter((b) => b.linkAddress === formatIPv6(link) && b.changedAt >= from && b.changedAt <= to)
          .map((b) => `${b.clientId}@${b.linkAddress}`)
          .sort();
      const w1 = await bulk(tl, { type: 'link', link }, { startTime: unixMsToDhcpTime(t1), endTime: unixMsToDhcpTime(t2 - 1000) });
      expect(clientsOf(w1)).toEqual(inWindow(t1, t2 - 1));
      expect(clientsOf(w1).length).toBeGreaterThan(0);
      const w2 = await bulk(tl, { type: 'link', link }, { startTime: unixMsToDhcpTime(t2) });
      expect(clientsOf(w2)).toEqual(inWindow(t2, Infinity));
      expect(w2.some((e) => e.kind === 'binding' && e.binding.addresses.length === 0 && e.binding.prefixes.length === 0)).toBe(true);
      const none = await bulk(tl, { type: 'link', link }, { startTime: unixMsToDhcpTime(clock.t + 3600_000) });
      expect(none).toEqual([expect.objectContaining({ kind: 'done', status: 0 })]);
    } finally {
      await tl.stop();
    }
  });

  it('slow consumer: reading pauses (bounded buffer) and every binding still arrives', async () => {
    const big = await startLab({ seed: 32, clients: 3000, links: 1 });
    try {
      const conn = await RequestorConnection.connect({ host: HOST, port: big.tcpPort, highWater: 16 });
      const it = conn.bulk({ type: 'link', link: big.db.topology.links[0].linkAddress }) as AsyncIterableIterator<BulkEvent> & { buffered: number };
      let n = 0;
      let maxBuffered = 0;
      for await (const e of it) {
        maxBuffered = Math.max(maxBuffered, it.buffered);
        if (e.kind === 'done') break;
        n++;
        if (n % 200 === 0) await sleep(20);
      }
      expect(n).toBe(3000);
      // One socket read can complete many frames past the high-water mark, but never the whole answer.
      expect(maxBuffered).toBeLessThan(1500);
      conn.close();
    } finally {
      await big.stop();
    }
  });
});

describe('Bulk Leasequery limits', () => {
  it('refuses connections beyond BULK_LQ_MAX_CONNS', async () => {
    const lab = await startLab({ engine: { maxConnections: 2 } });
    try {
      const a = await RequestorConnection.connect({ host: HOST, port: lab.tcpPort });
      const b = await RequestorConnection.connect({ host: HOST, port: lab.tcpPort });
      await waitFor(() => lab.engine!.connectionCount === 2);
      const c = await RequestorConnection.connect({ host: HOST, port: lab.tcpPort });
      const err = await collectUntil(c.bulk({ type: 'link', link: lab.db.topology.links[0].linkAddress }), isDone).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RequestorError);
      expect((err as RequestorError).code).toBe('closed');
      expect(lab.stats!.tcpRefused).toBe(1);
      // The first two are unaffected.
      expect((await collectUntil(a.bulk({ type: 'link', link: lab.db.topology.links[0].linkAddress }), isDone)).at(-1)).toMatchObject({ kind: 'done', status: 0 });
      a.close();
      b.close();
    } finally {
      await lab.stop();
    }
  });

  it('closes a connection from a source the ACL does not allow; NotAllowed for a denied query type', async () => {
    const denied = await startLab({ engine: { acl: [{ prefix: '127.0.0.0/8' }] } });
    try {
      const p = await rawPeer(denied.tcpPort);
      await p.closed;
      expect(denied.stats!.tcpDeniedByAcl).toBe(1);
    } finally {
      await denied.stop();
    }
    const typed = await startLab({ engine: { acl: [{ prefix: '::1', transports: ['bulk'], queryTypes: [QueryType.QUERY_BY_LINK_ADDRESS] }] } });
    try {
      const evs = await bulk(typed, { type: 'relay-id', relayId: typed.db.topology.links[0].relayId });
      expect(evs).toEqual([expect.objectContaining({ kind: 'done', status: StatusCode.NotAllowed })]);
      const ok = await bulk(typed, { type: 'link', link: typed.db.topology.links[0].linkAddress });
      expect(ok.at(-1)).toMatchObject({ kind: 'done', status: 0 });
    } finally {
      await typed.stop();
    }
  });

  it('ends a bulk answer in progress with QueryTerminated when the server shuts down', async () => {
    // The answer (~8 MB) must exceed what the kernel can buffer on loopback while the
    // requestor is paused (send buffer up to 4 MB + the receive window), or the server
    // finishes before it is stopped and there is nothing to terminate.
    const clients = 40_000;
    const lab = await startLab({ seed: 33, clients, links: 1 });
    const conn = await RequestorConnection.connect({ host: HOST, port: lab.tcpPort, highWater: 8 });
    const it = conn.bulk({ type: 'link', link: lab.db.topology.links[0].linkAddress });
    const first = await it.next();
    expect(first.value).toMatchObject({ kind: 'binding' });
    await sleep(50); // the server is now blocked on a full socket
    const stopping = lab.stopListeners();
    const rest = await collectUntil(it, isDone, 10_000);
    await stopping;
    expect(rest.at(-1)).toMatchObject({ kind: 'done', status: StatusCode.QueryTerminated });
    expect(rest.length).toBeLessThan(clients);
    conn.close();
  });
});
