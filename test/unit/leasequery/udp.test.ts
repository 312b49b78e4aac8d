// UDP LEASEQUERY (RFC 5007) through real sockets on ::1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabServer } from '../../../src/lab/index.js';
import { RequestorError, buildLeasequery, defaultRequestorDuid, udpLeasequery } from '../../../src/leasequery/index.js';
import {
  MessageType,
  OptionCode,
  QueryType,
  StatusCode,
  decodeMessage,
  encodeMessage,
  formatIPv6,
  parseIPv6,
  type ClientServerMessage,
  type Dhcp6Option,
} from '../../../src/protocol/index.js';
import { HOST, lossyProxy, startLab, udpRaw } from './helpers.js';

const fast = { irtMs: 200, mrc: 3 };

describe('UDP LEASEQUERY', () => {
  let lab: Awaited<ReturnType<typeof startLab>>;
  const clock = { t: Date.now() };
  beforeAll(async () => {
    lab = await startLab({ hostClock: () => clock.t, engine: { sensitiveOptions: [23] } });
  });
  afterAll(() => lab.stop());
  const q = (spec: Parameters<typeof udpLeasequery>[0], extra: Partial<Parameters<typeof udpLeasequery>[1]> = {}) => udpLeasequery(spec, { host: HOST, port: lab.udpPort, ...fast, ...extra });
  const withAddress = () => lab.dumpBindings().bindings.find((b) => b.addresses.length > 0)!;
  const withPrefix = () => lab.dumpBindings().bindings.find((b) => b.prefixes.length > 0)!;

  it('QUERY_BY_ADDRESS finds the binding of an assigned address, with relay data and base time', async () => {
    const b = withAddress();
    const r = await q({ type: 'address', address: parseIPv6(b.addresses[0].address) });
    expect(r.status).toBe(StatusCode.Success);
    expect(r.serverDuid?.equals(lab.serverDuid)).toBe(true);
    expect(r.binding?.clientDuid?.toString('hex')).toBe(b.clientId);
    expect(r.binding?.addresses.map((a) => formatIPv6(a.address))).toEqual(b.addresses.map((a) => a.address));
    expect(r.binding?.relay).toBeDefined();
    expect(formatIPv6(r.binding!.linkAddress!)).toBe(b.linkAddress);
    expect(r.baseTime).toBeDefined();
    expect(r.binding?.cltTime).toBeGreaterThanOrEqual(0);
  });

  it('QUERY_BY_ADDRESS with an address inside a delegated prefix finds that prefix binding', async () => {
    const b = withPrefix();
    const inside = parseIPv6(b.prefixes[0].prefix);
    inside[15] = 0x77;
    const r = await q({ type: 'address', address: inside });
    expect(r.binding?.clientDuid?.toString('hex')).toBe(b.clientId);
    expect(r.binding?.prefixes[0].prefixLength).toBe(b.prefixes[0].prefixLength);
  });

  it('recomputes lifetimes and CLT_TIME at reply time; expired bindings are not returned', async () => {
    const b = withAddress();
    const address = parseIPv6(b.addresses[0].address);
    const r1 = await q({ type: 'address', address });
    clock.t += 100_000;
    const r2 = await q({ type: 'address', address });
    expect(r2.binding!.addresses[0].validLifetime).toBe(r1.binding!.addresses[0].validLifetime - 100);
    expect(r2.binding!.cltTime).toBe(r1.binding!.cltTime! + 100);
    clock.t += 4 * 3600_000;
    const r3 = await q({ type: 'address', address });
    expect(r3.status).toBe(StatusCode.Success);
    expect(r3.binding).toBeUndefined();
    clock.t -= 4 * 3600_000 + 100_000;
  });

  it('an address in range with no binding: success without client data', async () => {
    const r = await q({ type: 'address', address: parseIPv6('2001:db8:1::ffff:ffff') });
    expect(r.status).toBe(StatusCode.Success);
    expect(r.binding).toBeUndefined();
    expect(r.clientLinks).toBeUndefined();
  });

  it('QUERY_BY_CLIENTID: data of a client on one link; OPTION_LQ_CLIENT_LINK when on several; the link picks one', async () => {
    const b = lab.dumpBindings().bindings[5];
    const duid = Buffer.from(b.clientId, 'hex');
    const r1 = await q({ type: 'client-id', clientId: duid });
    expect(r1.binding?.clientDuid?.equals(duid)).toBe(true);
    // The same client also gets a binding on another link (without releasing the first).
    const client = lab.db.clientOf(duid.toString('latin1'))!;
    const current = lab.db.linksOf(client)[0];
    const other = (current + 1) % lab.topologyConfig.links;
    lab.db.bind(client, other);
    const r2 = await q({ type: 'client-id', clientId: duid });
    expect(r2.binding).toBeUndefined();
    expect(r2.clientLinks?.map(formatIPv6).sort()).toEqual([lab.db.topology.links[current].linkAddress, lab.db.topology.links[other].linkAddress].map(formatIPv6).sort());
    const r3 = await q({ type: 'client-id', clientId: duid, link: lab.db.topology.links[other].linkAddress });
    expect(r3.binding && formatIPv6(r3.binding.linkAddress!)).toBe(formatIPv6(lab.db.topology.links[other].linkAddress));
    // "an address for the link": any address on the link designates it (RFC 5007 4.1.2.1)
    const anyOnLink = Buffer.from(lab.db.topology.links[other].linkAddress);
    anyOnLink[15] = 0x99;
    const r4 = await q({ type: 'client-id', clientId: duid, link: anyOnLink });
    expect(r4.binding && formatIPv6(r4.binding.linkAddress!)).toBe(formatIPv6(lab.db.topology.links[other].linkAddress));
  });

  it('returns requested options unless sensitive, and relay data only when requested', async () => {
    const b = withAddress();
    const address = parseIPv6(b.addresses[0].address);
    const none = await q({ type: 'address', address }, { requestOptions: [] });
    expect(none.binding?.relay).toBeUndefined();
    const asked = await q({ type: 'address', address }, { requestOptions: [OptionCode.LQ_RELAY_DATA, 23] });
    expect(asked.binding?.relay).toBeDefined();
    expect(asked.clientData?.options.some((o) => o.code === 23)).toBe(false); // sensitive (configured)
    const noBase = await q({ type: 'address', address }, { baseTime: false });
    expect(noBase.baseTime).toBeUndefined();
  });

  it('status codes: UnknownQueryType, MalformedQuery, NotConfigured, NotAllowed', async () => {
    const duid = defaultRequestorDuid();
    const send = async (m: ClientServerMessage) => decodeMessage((await udpRaw(lab.udpPort, encodeMessage(m)))!) as ClientServerMessage;
    const status = (m: ClientServerMessage) => (m.options.find((o) => o.name === 'statusCode') as Extract<Dhcp6Option, { name: 'statusCode' }> | undefined)?.status ?? 0;
    const base = buildLeasequery(0x1234, duid, { type: 'address', address: parseIPv6('2001:db8:1::1:0:1') });
    const lq = base.options.find((o) => o.name === 'lqQuery') as Extract<Dhcp6Option, { name: 'lqQuery' }>;

    const unknownType = { ...base, options: base.options.map((o) => (o === lq ? { ...lq, queryType: 99 } : o)) };
    const r1 = await send(unknownType);
    expect(r1.msgType).toBe(MessageType.LEASEQUERY_REPLY);
    expect(r1.transactionId).toBe(0x1234);
    expect(status(r1)).toBe(StatusCode.UnknownQueryType);

    const noIaAddr = { ...base, options: base.options.map((o) => (o === lq ? { ...lq, options: [] } : o)) };
    expect(status(await send(noIaAddr))).toBe(StatusCode.MalformedQuery);
    const noClientId = buildLeasequery(7, duid, { type: 'client-id', clientId: Buffer.from('000300010203040506', 'hex') });
    const lq2 = noClientId.options.find((o) => o.name === 'lqQuery') as Extract<Dhcp6Option, { name: 'lqQuery' }>;
    expect(status(await send({ ...noClientId, options: noClientId.options.map((o) => (o === lq2 ? { ...lq2, options: [] } : o)) }))).toBe(StatusCode.MalformedQuery);

    expect((await q({ type: 'address', address: parseIPv6('2001:db9::1') })).status).toBe(StatusCode.NotConfigured);
    expect((await q({ type: 'client-id', clientId: duid, link: parseIPv6('2001:db9::1') })).status).toBe(StatusCode.NotConfigured);

    // Bulk-only query types over UDP (RFC 5460 section 4).
    expect((await q({ type: 'relay-id', relayId: lab.db.topology.links[0].relayId })).status).toBe(StatusCode.NotAllowed);
    expect((await q({ type: 'link', link: lab.db.topology.links[0].linkAddress })).status).toBe(StatusCode.NotAllowed);
    expect((await q({ type: 'remote-id', enterpriseNumber: 4491, remoteId: Buffer.from('001095000001', 'hex') })).status).toBe(StatusCode.NotAllowed);
  });

  it('malformed bytes: MalformedQuery when a LEASEQUERY header can be read, silence otherwise; the server survives', async () => {
    const good = encodeMessage(buildLeasequery(0xabcdef, defaultRequestorDuid(), { type: 'address', address: parseIPv6('2001:db8:1::1:0:1') }));
    const truncated = good.subarray(0, good.length - 3); // the last option now overruns
    const reply = decodeMessage((await udpRaw(lab.udpPort, truncated))!) as ClientServerMessage;
    expect(reply.transactionId).toBe(0xabcdef);
    expect(reply.options.find((o) => o.name === 'statusCode')).toMatchObject({ status: StatusCode.MalformedQuery });
    expect(await udpRaw(lab.udpPort, Buffer.from([0x0e, 0x00]), 200)).toBeUndefined(); // too short for a header
    expect(await udpRaw(lab.udpPort, Buffer.from('GET / HTTP/1.1\r\n\r\n'), 200)).toBeUndefined(); // not a LEASEQUERY
    const before = lab.stats!.udpMalformed;
    expect(before).toBeGreaterThanOrEqual(2);
    expect((await q({ type: 'address', address: parseIPv6(withAddress().addresses[0].address) })).binding).toBeDefined();
  });

  it('discards (RFC 5007 4.2.1) a query without the requestor CLIENTID or for another server', async () => {
    const m = buildLeasequery(5, defaultRequestorDuid(), { type: 'address', address: parseIPv6('2001:db8:1::1:0:1') });
    expect(await udpRaw(lab.udpPort, encodeMessage({ ...m, options: m.options.filter((o) => o.name !== 'clientId') }), 250)).toBeUndefined();
    const other = await q({ type: 'address', address: parseIPv6('2001:db8:1::1:0:1') }, { serverDuid: Buffer.from('0003000100005e005399', 'hex') }).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(RequestorError);
    expect((other as RequestorError).code).toBe('timeout');
  });

  it('retransmits (RFC 8415 section 15) until answered, with the same transaction', async () => {
    const proxy = await lossyProxy(lab.udpPort, 2);
    try {
      const b = withAddress();
      const r = await udpLeasequery({ type: 'address', address: parseIPv6(b.addresses[0].address) }, { host: HOST, port: proxy.port, irtMs: 50, mrc: 5 });
      expect(r.transmissions).toBe(3);
      expect(r.binding?.clientDuid?.toString('hex')).toBe(b.clientId);
    } finally {
      proxy.close();
    }
  });

  it('gives up after LQ_MAX_RC transmissions', async () => {
    const proxy = await lossyProxy(lab.udpPort, 100);
    try {
      const t0 = Date.now();
      const err = await udpLeasequery({ type: 'address', address: parseIPv6('2001:db8:1::1') }, { host: HOST, port: proxy.port, irtMs: 40, mrc: 3 }).catch((e: unknown) => e);
      expect((err as RequestorError).code).toBe('timeout');
      expect(proxy.received).toBe(3);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(40 + 80 + 160 - 60);
    } finally {
      proxy.close();
    }
  });

  it('answers from the source address and port of the query', async () => {
    const reply = await udpRaw(lab.udpPort, encodeMessage(buildLeasequery(99, defaultRequestorDuid(), { type: 'address', address: parseIPv6('2001:db8:1::1:0:1') })));
    expect(reply).toBeDefined();
  });
});

describe('UDP access control', () => {
  let lab: LabServer & { udpPort: number };
  beforeAll(async () => {
    // ::1 may only ask QUERY_BY_CLIENTID; everything else from ::1 is denied.
    lab = await startLab({ engine: { acl: [{ prefix: '::1', queryTypes: [QueryType.QUERY_BY_CLIENTID] }, { prefix: '127.0.0.1' }] } });
  });
  afterAll(() => lab.stop());

  it('answers NotAllowed for a query type the requestor may not ask, and serves the allowed one', async () => {
    const b = lab.dumpBindings().bindings.find((x) => x.addresses.length > 0)!;
    const denied = await udpLeasequery({ type: 'address', address: parseIPv6(b.addresses[0].address) }, { host: HOST, port: lab.udpPort, ...fast });
    expect(denied.status).toBe(StatusCode.NotAllowed);
    const ok = await udpLeasequery({ type: 'client-id', clientId: Buffer.from(b.clientId, 'hex') }, { host: HOST, port: lab.udpPort, ...fast });
    expect(ok.binding).toBeDefined();
  });

  it('answers NotAllowed to a source outside the ACL', async () => {
    const other = await startLab({ engine: { acl: [{ prefix: '127.0.0.0/8' }] } });
    try {
      const r = await udpLeasequery({ type: 'client-id', clientId: Buffer.from('0003000102030405', 'hex') }, { host: HOST, port: other.udpPort, ...fast });
      expect(r.status).toBe(StatusCode.NotAllowed);
    } finally {
      await other.stop();
    }
  });
});

describe('IPv4 loopback', () => {
  it('serves UDP and TCP leasequery on 127.0.0.1', async () => {
    const lab = await startLab({ seed: 71, host: '127.0.0.1' });
    try {
      const b = lab.dumpBindings().bindings.find((x) => x.addresses.length > 0)!;
      const r = await udpLeasequery({ type: 'address', address: parseIPv6(b.addresses[0].address) }, { host: '127.0.0.1', port: lab.udpPort, ...fast });
      expect(r.binding?.clientDuid?.toString('hex')).toBe(b.clientId);
      const { RequestorConnection } = await import('../../../src/leasequery/index.js');
      const conn = await RequestorConnection.connect({ host: '127.0.0.1', port: lab.tcpPort });
      let n = 0;
      for await (const e of conn.bulk({ type: 'client-id', clientId: Buffer.from(b.clientId, 'hex') })) if (e.kind === 'binding') n++;
      expect(n).toBe(1);
      conn.close();
    } finally {
      await lab.stop();
    }
  });
});
