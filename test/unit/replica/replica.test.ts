// The replica's pieces that need no broker: its identity, HTTP query parsing, and its
// behaviour when Kafka cannot be reached (not ready, listeners closed, clean stop).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseKafkaSettings } from '../../../src/kafka/index.js';
import { QueryType } from '../../../src/protocol/index.js';
import { Replica, loadOrCreateServerDuid, queryFromParams, startReplicaHttp } from '../../../src/replica/index.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'lqr-replica-unit-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('replica server DUID', () => {
  it('is generated once (DUID-UUID) and kept in the data directory', async () => {
    const dir = await tempDir();
    const a = await loadOrCreateServerDuid(dir);
    expect(a.readUInt16BE(0)).toBe(4);
    expect(a.length).toBe(18);
    expect((await loadOrCreateServerDuid(dir)).equals(a)).toBe(true);
    expect((await readFile(join(dir, 'server-duid'), 'utf8')).trim()).toBe(a.toString('hex'));
  });
});

describe('GET /v1/bindings parameters', () => {
  const q = (s: string) => queryFromParams(new URLSearchParams(s));
  it('maps each selector to the leasequery query type', () => {
    expect(q('address=2001:db8::1').query.queryType).toBe(QueryType.QUERY_BY_ADDRESS);
    expect(q('prefix=2001:db8:100::/56').query.queryType).toBe(QueryType.QUERY_BY_ADDRESS);
    expect(q('client-id=00:01:00:01:aa:bb').query.clientId?.toString('hex')).toBe('00010001aabb');
    expect(q('relay-id=000300010a0b').query.queryType).toBe(QueryType.QUERY_BY_RELAY_ID);
    expect(q('remote-id=4491:0a0b').query.remoteId).toEqual({ enterpriseNumber: 4491, remoteId: Buffer.from('0a0b', 'hex') });
    const l = q('link=2001:db8:1::1');
    expect(l.kind).toBe('link');
    expect(l.query.queryType).toBe(QueryType.QUERY_BY_LINK_ADDRESS);
    expect(q('client-id=aabb&link=2001:db8:1::1').query.link?.length).toBe(16);
  });
  it('rejects what it cannot read, saying why', () => {
    expect(() => q('')).toThrow(/give one of/);
    expect(() => q('address=x')).toThrow(/IPv6/);
    expect(() => q('client-id=xyz')).toThrow(/hex/);
    expect(() => q('remote-id=abc')).toThrow(/ENTERPRISE-NUMBER:HEX/);
    expect(() => q('address=::1&client-id=aa')).toThrow(/one of/);
  });
});

describe('replica without a reachable broker', () => {
  it('starts, stays not ready with its leasequery ports closed, and stops cleanly', async () => {
    const kafka = parseKafkaSettings({ brokers: ['127.0.0.1:1'], connectionTimeoutMs: 300, requestTimeoutMs: 500 });
    const replica = new Replica({ kafka, topic: 'lq.events', dataDir: await tempDir(), udpPort: 0, tcpPort: 0, backoffMinMs: 50, backoffMaxMs: 200 });
    await replica.start();
    const http = await startReplicaHttp({ replica, port: 0 });
    try {
      await new Promise((r) => setTimeout(r, 500));
      expect(replica.ready).toBe(false);
      expect(replica.status().connected).toBe(false);
      expect(replica.listening).toBeUndefined();
      const res = await fetch(`http://[::1]:${http.port}/readyz`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { caughtUp: boolean }).caughtUp).toBe(false);
    } finally {
      await http.close();
      await replica.stop();
    }
  });
});
