// Active Leasequery (RFC 7653) through real TCP sockets: live updates, filters,
// catch-up, CatchUpComplete, DataMissing, keepalives, slow readers, shutdown.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RequestorConnection,
  RequestorError,
  buildActiveLeasequery,
  defaultRequestorDuid,
  type ActiveEvent,
} from '../../../src/leasequery/index.js';
import {
  FrameDecoder,
  MessageType,
  OptionCode,
  StatusCode,
  decodeMessage,
  encodeFramedMessage,
  formatIPv6,
  unixMsToDhcpTime,
  type ClientServerMessage,
  type Dhcp6Option,
} from '../../../src/protocol/index.js';
import { HOST, collectUntil, rawPeer, sleep, startLab, waitFor } from './helpers.js';

type Lab = Awaited<ReturnType<typeof startLab>>;
const key = (e: ActiveEvent) => (e.kind === 'binding' ? `${e.binding.clientDuid?.toString('hex')}@${e.binding.linkAddress ? formatIPv6(e.binding.linkAddress) : '?'}` : '');
const statusOf = (m: ClientServerMessage) => (m.options.find((o) => o.name === 'statusCode') as Extract<Dhcp6Option, { name: 'statusCode' }> | undefined)?.status ?? 0;

/** Pull events until `quietMs` pass without one (keepalives do not count, and are dropped). */
async function drain(it: AsyncIterator<ActiveEvent>, quietMs = 400): Promise<ActiveEvent[]> {
  const out: ActiveEvent[] = [];
  let last = Date.now();
  for (;;) {
    const left = last + quietMs - Date.now();
    if (left <= 0) return out;
    let t: NodeJS.Timeout | undefined;
    const r = await Promise.race([it.next(), new Promise<'quiet'>((res) => (t = setTimeout(() => res('quiet'), left)))]);
    clearTimeout(t);
    if (r === 'quiet' || r.done) return out;
    if (r.value.kind === 'keepalive') continue;
    out.push(r.value);
    last = Date.now();
  }
}

describe('Active Leasequery', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab({ engine: { timers: { bulkDataTimeoutMs: 1500, activeSendTimeoutMs: 800, activeIdleTimeoutMs: 5000 } } });
  });
  afterAll(() => lab.stop());

  it('streams every binding change, each with OPTION_LQ_BASE_TIME; the last state of each binding is the server state', async () => {
    const conn = await RequestorConnection.connect({ host: HOST, port: lab.tcpPort });
    const it = conn.active();
    expect((await it.next()).value).toMatchObject({ kind: 'accepted' });
    lab.step(300);
    const evs = await drain(it);
    expect(evs.length).toBeGreaterThan(50);
    expect(evs.every((e) => e.kind === 'binding' && e.phase === 'live' && e.baseTime !== undefined && e.binding.cltTime !== undefined)).toBe(true);
    const last = new Map<string, ActiveEvent>();
    for (const e of evs) last.set(key(e), e);
    const truth = new Map(lab.dumpBindings({ includeReleased: true }).bindings.map((b) => [`${b.clientId}@${b.linkAddress}`, b]));
    for (const [k, e] of last) {
      const b = truth.get(k)!;
      expect(e.kind === 'binding' && e.binding.addresses.map((a) => formatIPv6(a.address))).toEqual(b.addresses.map((a) => a.address));
      expect(e.kind === 'binding' && e.binding.prefixes.map((p) => formatIPv6(p.prefix))).toEqual(b.prefixes.map((p) => p.prefix));
    }
    conn.close();
  });

  it('filters by OPTION_LQ_QUERY: relay-id, link-address, remote-id', async () => {
    const t = lab.db.topology;
    const link = formatIPv6(t.links[2].linkAddress);
    const c1 = await RequestorConnection.connect({ host: HOST, port: lab.tcpPort });
    const c2 = await RequestorConnection.connect({ host: HOST, port: lab.tcpPort });
    const c3 = await RequestorConnection.connect({ host: HOST, port: lab.tcpPort });
    const target = lab.dumpBindings().bindings.find((b) => b.remoteId && b.linkAddress !== link)!;
    const byRelay = c1.active({ type: 'relay-id', relayId: t.links[2].relayId });
    const byLink = c2.active({ type: 'link', link: t.links[2].linkAddress });
    const byRemote = c3.active({ type: 'remote-id', enterpriseNumber: target.remoteId!.enterpriseNumber, remoteId: Buffer.from(target.remoteId!.id, 'hex') });
    for (const it of [byRelay, byLink, byRemote]) expect((await it.next()).value).toMatchObject({ kind: 'accepted' });
    lab.burst('rebind-all');
    const [e1, e2, e3] = await Promise.all([drain(byRelay), drain(byLink), drain(byRemote)]);
    const onLink = lab.dumpBindings().bindings.filter((b) => b.linkAddress === link).length;
    for (const evs of [e1, e2]) {
      expect(evs.length).toBe(onLink);
      expect(evs.every((e) => e.kind === 'binding' && formatIPv6(e.binding.linkAddress!) === link)).toBe(true);
    }
    expect(e3.map(key)).toEqual([`${target.clientId}@${target.linkAddress}`]);
    for (const c of [c1, c2, c3]) c.close();
  });

  it('an address filter also reports the release of the binding it followed', async () => {
    const b = lab.dumpBindings().bindings.find((x) => x.addresses.length > 0)!;
    const conn = await RequestorConnection.connect({ host: HOST, port: lab.tcpPort });
    const { parseIPv6 } = await import('../../../src/protocol/index.js');
    const it = conn.active({ type: 'address', address: parseIPv6(b.addresses[0].address) });
    await it.next();
    const rec = lab.db.recordsOfClient(lab.db.clientOf(Buffer.from(b.clientId, 'hex').toString('latin1'))!).find((r) => r.addr !== null)!;
    lab.db.renew(rec.key);
    lab.db.drop(rec.key, 'release');
    const evs = await drain(it);
    // Coalescing may merge the two changes; the last state must be "released".
    const lastEv = evs.at(-1)!;
    expect(lastEv.kind === 'binding' && lastEv.binding.addresses.length + lastEv.binding.prefixes.length).toBe(0);
    conn.close();
  });

  it('keeps streaming to a requestor that closed its sending side after the ACTIVELEASEQUERY', async () => {
    const peer = await rawPeer(lab.tcpPort);
    peer.send(buildActiveLeasequery(88, defaultRequestorDuid(), undefined));
    peer.socket.end();
    expect((await peer.next()).msgType).toBe(MessageType.LEASEQUERY_REPLY);
    lab.step(5);
    const m = await peer.next();
    expect([m.msgType, m.transactionId]).toEqual([MessageType.LEASEQUERY_DATA, 88]);
    peer.socket.destroy();
  });

  it('refuses OPTION_LQ_END_TIME with MalformedQuery and closes the connection', async () => {
    const peer = await rawPeer(lab.tcpPort);
    peer.send(buildActiveLeasequery(77, defaultRequestorDuid(), undefined, { endTime: unixMsToDhcpTime(Date.now()) }));
    const r = await peer.next();
    expect([r.msgType, r.transactionId, statusOf(r)]).toEqual([MessageType.LEASEQUERY_REPLY, 77, StatusCode.MalformedQuery]);
    await peer.closed;
  });

  it('one Active Leasequery per connection; a bulk query can share the connection', async () => {
    const conn = await RequestorConnection.connect({ host: HOST, port: lab.tcpPort });
    const a = conn.active();
    expect((await a.next()).value).toMatchObject({ kind: 'accepted' });
    const second = conn.active();
    expect((await second.next()).value).toMatchObject({ kind: 'done', status: StatusCode.NotAllowed });
    const bulk = await collectUntil(conn.bulk({ type: 'link', link: lab.db.topology.links[0].linkAddress }), (e) => e.kind === 'done');
    expect(bulk.at(-1)).toMatchObject({ kind: 'done', status: 0 });
    lab.step(20);
    expect((await drain(a)).length).toBeGreaterThan(0);
    conn.close();
  });

  it('ends with LEASEQUERY-DONE QueryTerminated when the server shuts down', async () => {
    const own = await startLab({ seed: 41 });
    const conn = await RequestorConnection.connect({ host: HOST, port: own.tcpPort });
    const it = conn.active();
    await it.next();
    const stopping = own.stop();
    const evs = await collectUntil(it, (e) => e.kind === 'done');
    await stopping;
    expect(evs.at(-1)).toMatchObject({ kind: 'done', status: StatusCode.QueryTerminated });
  });
});

describe('Active Leasequery catch-up', () => {
  it('sends the changes since OPTION_LQ_START_TIME, then CatchUpComplete, then live updates', async () => {
    const clock = { t: Date.now() };
    const lab = await startLab({ seed: 42, clients: 300, hostClock: () => clock.t });
    try {
      clock.t += 10_000;
      const start = unixMsToDhcpTime(lab.db.now());
      lab.step(200);
      const changed = new Set(lab.db.historySince(start * 1000 + 946_684_800_000)!.map((r) => r.key));
      clock.t += 10_000;
      const conn = await RequestorConnection.connect({ host: HOST, port: lab.tcpPort });
      const it = conn.active(undefined, { startTime: start });
      const evs = await collectUntil(it, (e) => e.kind === 'catch-up-complete');
      expect(evs[0]).toMatchObject({ kind: 'accepted' });
      const catchUp = evs.filter((e) => e.kind === 'binding');
      expect(catchUp.every((e) => e.kind === 'binding' && e.phase === 'catch-up')).toBe(true);
      expect(new Set(catchUp.map(key)).size).toBe(changed.size);
      expect(evs.at(-1)!.baseTime).toBeDefined();
      lab.step(10);
      const live = await drain(it);
      expect(live.length).toBeGreaterThan(0);
      expect(live.every((e) => e.kind === 'binding' && e.phase === 'live')).toBe(true);
      conn.close();
    } finally {
      await lab.stop();
    }
  });

  it('interleaves live updates that happen during catch-up, never sending an older state after a newer one', async () => {
    const clock = { t: Date.now() };
    const lab = await startLab({ seed: 43, clients: 2000, links: 2, historySize: 100_000, hostClock: () => clock.t });
    try {
      clock.t += 5000;
      const start = unixMsToDhcpTime(lab.db.now());
      for (let i = 0; i < 5; i++) lab.burst('rebind-all'); // 10,000 history entries
      const conn = await RequestorConnection.connect({ host: HOST, port: lab.tcpPort, highWater: 64 });
      const it = conn.active(undefined, { startTime: start, requestOptions: [OptionCode.LQ_RELAY_DATA] });
      const first = await it.next();
      expect(first.value).toMatchObject({ kind: 'accepted' });
      lab.step(300); // live changes while catch-up is being sent
      const evs = await collectUntil(it, (e) => e.kind === 'catch-up-complete', 15_000);
      evs.push(...(await drain(it)));
      const last = new Map<string, ActiveEvent>();
      for (const e of evs) if (e.kind === 'binding') last.set(key(e), e);
      const truth = new Map(lab.dumpBindings({ includeReleased: true }).bindings.map((b) => [`${b.clientId}@${b.linkAddress}`, b]));
      let checked = 0;
      for (const [k, e] of last) {
        const b = truth.get(k)!;
        if (e.kind !== 'binding') continue;
        expect(e.binding.addresses.map((a) => formatIPv6(a.address))).toEqual(b.addresses.map((a) => a.address));
        checked++;
      }
      expect(checked).toBe(truth.size);
      conn.close();
    } finally {
      await lab.stop();
    }
  }, 20_000);

  it('answers DataMissing (with base-time) when history does not reach back, then continues with live updates', async () => {
    const clock = { t: Date.now() };
    const lab = await startLab({ seed: 44, clients: 200, historySize: 20, hostClock: () => clock.t });
    try {
      clock.t += 5000;
      const start = unixMsToDhcpTime(lab.db.now());
      lab.step(100); // more changes than the history keeps
      const conn = await RequestorConnection.connect({ host: HOST, port: lab.tcpPort });
      const it = conn.active(undefined, { startTime: start });
      const first = (await it.next()).value as ActiveEvent;
      expect(first.kind).toBe('data-missing');
      expect(first.baseTime).toBe(unixMsToDhcpTime(lab.db.now()));
      lab.step(5);
      const live = await drain(it);
      expect(live.length).toBeGreaterThan(0);
      expect(live.every((e) => e.kind === 'binding' && e.phase === 'live')).toBe(true);
      // A start time before the server's database existed is also missing data.
      const it2 = conn.active(undefined, { startTime: start - 3600 });
      expect((await it2.next()).value).toMatchObject({ kind: 'done', status: StatusCode.NotAllowed }); // one active per connection
      const conn2 = await RequestorConnection.connect({ host: HOST, port: lab.tcpPort });
      expect((await conn2.active(undefined, { startTime: start - 3600 }).next()).value).toMatchObject({ kind: 'data-missing' });
      conn.close();
      conn2.close();
    } finally {
      await lab.stop();
    }
  });
});

describe('Active Leasequery timers', () => {
  it('sends a keepalive (LEASEQUERY-DATA with base-time only) after ACTIVE_LQ_IDLE_TIMEOUT of silence', async () => {
    const lab = await startLab({ seed: 45 });
    try {
      const conn = await RequestorConnection.connect({ host: HOST, port: lab.tcpPort, activeRcvTimeoutMs: 2000 });
      const it = conn.active();
      await it.next();
      const t0 = Date.now();
      const evs = await collectUntil(it, (_e, all) => all.filter((x) => x.kind === 'keepalive').length >= 2, 3000);
      expect(evs.filter((e) => e.kind === 'keepalive').every((e) => e.baseTime !== undefined)).toBe(true);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
      conn.close();
    } finally {
      await lab.stop();
    }
  });

  it('drops a requestor that stops reading after ACTIVE_LQ_SEND_TIMEOUT; its buffer stays bounded; others are unaffected', async () => {
    const lab = await startLab({ seed: 46, clients: 3000, links: 3 });
    try {
      const healthy = await RequestorConnection.connect({ host: HOST, port: lab.tcpPort });
      const hit = healthy.active();
      await hit.next();
      let healthyCount = 0;
      const reading = (async () => {
        for await (const e of hit) if (e.kind === 'binding') healthyCount++;
      })().catch(() => undefined);

      const socket = net.connect({ host: HOST, port: lab.tcpPort });
      await new Promise((r) => socket.once('connect', r));
      socket.on('error', () => undefined);
      socket.write(encodeFramedMessage(buildActiveLeasequery(9, defaultRequestorDuid(), undefined, { requestOptions: [OptionCode.LQ_RELAY_DATA] })));
      const dec = new FrameDecoder();
      await new Promise<void>((r) =>
        socket.once('data', (c) => {
          const m = decodeMessage(dec.push(c)[0]) as ClientServerMessage;
          expect(m.msgType).toBe(MessageType.LEASEQUERY_REPLY);
          r();
        }),
      );
      socket.pause(); // never read again
      const t0 = Date.now();
      while (lab.stats!.activeDropped === 0 && Date.now() - t0 < 10_000) {
        lab.burst('rebind-all');
        await sleep(20);
      }
      expect(lab.stats!.activeDropped).toBe(1);
      expect(lab.stats!.peakWriteBufferBytes).toBeLessThan(1024 * 1024);
      await waitFor(() => lab.engine!.connectionCount === 1, 2000, 'the stalled connection to be closed');
      lab.step(50);
      await waitFor(() => healthyCount > 0, 2000, 'the healthy requestor to keep receiving');
      socket.destroy();
      healthy.close();
      await reading;
    } finally {
      await lab.stop();
    }
  }, 20_000);

  it('requestor: ACTIVE_LQ_RCV_TIMEOUT ends a session whose server went silent', async () => {
    // A "server" that accepts the query and then never says anything again.
    const silent = net.createServer((s) => {
      const dec = new FrameDecoder();
      s.on('data', (c) => {
        for (const f of dec.push(c)) {
          const q = decodeMessage(f) as ClientServerMessage;
          s.write(encodeFramedMessage({ kind: 'client-server', msgType: MessageType.LEASEQUERY_REPLY, transactionId: q.transactionId, options: [{ name: 'serverId', code: 2, duid: Buffer.from('0003000100005e005301', 'hex') }] }));
        }
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, HOST, () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const conn = await RequestorConnection.connect({ host: HOST, port, activeRcvTimeoutMs: 300 });
      const it = conn.active();
      expect((await it.next()).value).toMatchObject({ kind: 'accepted' });
      const t0 = Date.now();
      const err = await it.next().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RequestorError);
      expect((err as RequestorError).code).toBe('timeout');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    } finally {
      silent.close();
    }
  });
});
