import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/log.js';
import { SnapshotError, SnapshotStore, type Projection } from '../../../src/projection/index.js';
import { binding, bytes, clock, ip, latin1Hex, projection, relayChain, sourceEvent, T0 } from './helpers.js';

const L1 = '2001:db8:1::1';
const L2 = '2001:db8:2::1';
const client = (i: number): string => `00030001020000${i.toString(16).padStart(6, '0')}`;
const offsets = [
  { topic: 'lq.events', partition: 0, offset: '17' },
  { topic: 'lq.events', partition: 1, offset: '9' },
];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lqr-snap-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A projection with a bit of everything: relays, failover states, a contested address, tombstones, a pending resync. */
function populated(): Projection {
  const p = projection(clock());
  let off = 0;
  for (let i = 0; i < 200; i++) {
    const link = i % 2 ? L1 : L2;
    p.apply(
      binding({
        client: client(i),
        link,
        addresses: i % 3 === 0 ? [] : [`${link.slice(0, -1)}1:${i.toString(16)}`],
        prefixes: i % 4 === 0 ? [[`2001:db8:8000:${i.toString(16)}00::`, 56]] : [],
        relay: i % 5 === 0 ? null : relayChain({ link, remoteId: `cm-${i}`, interfaceId: `ge-0/0/${i % 7}` }),
        clt: i % 11 === 0 ? null : i % 13,
        lastTxOffsetMs: i % 17 === 0 ? 250 : 0,
        at: T0 + i,
      }),
      { partition: i % 2, offset: String(off++) },
    );
  }
  p.apply(binding({ source: 'dhcp-b', client: client(1), link: L1, addresses: ['2001:db8:1::ff'], at: T0 + 5000 }), { partition: 1, offset: String(off++) });
  p.apply(binding({ source: 'dhcp-b', client: client(3), link: L1, addresses: ['2001:db8:1::1:3'], at: T0 - 5000, clt: 100 }), { partition: 1, offset: String(off++) });
  p.apply(binding({ client: client(999), link: L1, addresses: ['2001:db8:1::1:1'], at: T0 - 50_000 }), { partition: 0, offset: String(off++) });
  p.apply(sourceEvent('bulk-started', T0 + 10_000, { resyncId: 'r1', scope: { linkAddresses: [L1], relayIds: [] } }), { partition: 0, offset: String(off++) });
  return p;
}

describe('snapshots', () => {
  it('round trip: the loaded tables equal the live ones, offsets and positions included', async () => {
    const live = populated();
    const path = join(dir, 'a.lqsnap');
    const info = await live.snapshot(path, offsets);
    expect(info.bindings).toBe(live.stats().bindings);
    expect((await readdir(dir)).filter((n) => n.includes('.tmp'))).toEqual([]);

    const loaded = projection(clock());
    expect(await loaded.loadSnapshot(path)).toEqual(offsets);
    expect(loaded.dump()).toEqual(live.dump());
    expect(loaded.verifyIntegrity()).toEqual([]);
    expect(loaded.positions()).toEqual(live.positions());
    const { applied: _a, duplicate: _d, stale: _s, sourceEvents: _e, ...tables } = live.stats();
    expect(loaded.stats()).toMatchObject(tables);
    // Answers, sequence numbers and relay chains as before.
    for (const a of ['2001:db8:1::1:1', '2001:db8:1::ff', '2001:db8:8000:800::1']) {
      expect(loaded.byAddress(ip(a))).toEqual(live.byAddress(ip(a)));
    }
    const seqs = (x: Projection): string[] => [...x.byRelayId(bytes(latin1Hex('relay-1')))].map((b) => `${b.key} ${b.seq}`).sort();
    expect(seqs(loaded)).toEqual(seqs(live));
    expect(seqs(live).length).toBeGreaterThan(100);
    expect(loaded.byClientId(bytes(client(2)))[0].relay).toEqual(live.byClientId(bytes(client(2)))[0].relay);

    // The pending resync survived: its bulk-complete retires here as it would have live.
    const done = sourceEvent('bulk-complete', T0 + 11_000, { resyncId: 'r1', scope: { linkAddresses: [L1], relayIds: [] } });
    live.apply(done, { partition: 0, offset: '1000' });
    loaded.apply(done, { partition: 0, offset: '1000' });
    expect(loaded.dump()).toEqual(live.dump());
    expect(live.stats().retired).toBeGreaterThan(0);
  });

  it('an empty projection round-trips too', async () => {
    const path = join(dir, 'empty.lqsnap');
    await projection().snapshot(path, []);
    const p = projection();
    expect(await p.loadSnapshot(path)).toEqual([]);
    expect(p.stats().bindings).toBe(0);
  });

  async function rejects(mutate: (b: Buffer) => Buffer, reason: string): Promise<void> {
    const path = join(dir, 'bad.lqsnap');
    await populated().snapshot(path, offsets);
    await writeFile(path, mutate(await readFile(path)));
    const target = projection(clock());
    target.apply(binding({ client: client(7777), addresses: ['2001:db8:1::7777'] }), { partition: 5, offset: '3' });
    const before = target.dump();
    const err = await target.loadSnapshot(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnapshotError);
    expect((err as SnapshotError).reason).toBe(reason);
    expect((err as SnapshotError).message).toContain(path);
    // Never half-loaded: the live tables are exactly as they were.
    expect(target.dump()).toEqual(before);
    expect(target.positions()).toEqual(new Map([[5, 3n]]));
    expect(target.byAddress(ip('2001:db8:1::7777'))).toBeDefined();
  }

  it('a flipped byte is rejected (checksum), the live tables untouched', async () => {
    await rejects((b) => {
      b[Math.floor(b.length / 2)] ^= 0x20;
      return b;
    }, 'checksum');
  });

  it('a truncated file is rejected, the live tables untouched', async () => {
    await rejects((b) => b.subarray(0, b.length - 100), 'truncated');
    await rejects((b) => b.subarray(0, 10), 'truncated');
  });

  it('a file of another format version is rejected, the live tables untouched', async () => {
    for (const version of [1, 99]) {
      await rejects((b) => {
        b.writeUInt32LE(version, 8);
        return b;
      }, 'version');
    }
  });

  it('a file that is not a snapshot is rejected', async () => {
    await rejects(() => Buffer.from('{"not":"a snapshot"}'), 'magic');
    const err = await projection().loadSnapshot(join(dir, 'missing.lqsnap')).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'SnapshotError', reason: 'io' });
  });
});

describe('SnapshotStore', () => {
  function recordingLogger(): { logger: Logger; warnings: unknown[] } {
    const warnings: unknown[] = [];
    const logger = { warn: (o: unknown) => warnings.push(o), info: () => {}, error: () => {}, debug: () => {} } as unknown as Logger;
    return { logger, warnings };
  }

  it('keeps the last N and loads the newest good one, warning about bad ones', async () => {
    const { logger, warnings } = recordingLogger();
    const store = new SnapshotStore({ dir: join(dir, 'snaps'), keep: 3, logger });
    expect(await store.loadNewest(projection())).toBeUndefined();
    const p = projection(clock());
    const written: string[] = [];
    for (let i = 0; i < 5; i++) {
      p.apply(binding({ client: client(i), addresses: [`2001:db8:1::${i + 1}`] }), { partition: 0, offset: String(i) });
      written.push((await store.write(p, [{ topic: 'lq.events', partition: 0, offset: String(i + 1) }])).path);
    }
    const kept = await store.list();
    expect(kept).toEqual(written.slice(2).reverse());

    // Corrupt the newest: the one before it is loaded, with a warning.
    const newest = await readFile(kept[0]);
    newest[newest.length - 1] ^= 1;
    await writeFile(kept[0], newest);
    const q = projection(clock());
    const got = await store.loadNewest(q);
    expect(got).toEqual({ path: kept[1], offsets: [{ topic: 'lq.events', partition: 0, offset: '4' }] });
    expect(q.stats().bindings).toBe(4);
    expect(warnings).toEqual([expect.objectContaining({ path: kept[0], reason: 'checksum' })]);
  });
});
