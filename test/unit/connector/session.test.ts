// The source session's state machine against a scripted requestor: initial load,
// catch-up and live, resume-point rules, DataMissing recovery on a second connection,
// LEASEQUERY-DONE and dropped connections, back-off, back-pressure.
import { afterEach, describe, expect, it } from 'vitest';
import { SessionSchema, SourceSchema, type SourceConfig } from '../../../src/config/index.js';
import { SourceQueue, SourceSession, emptyCheckpoint, noopSourceMetrics, type QueueItem, type SessionState, type SourceStart } from '../../../src/connector/index.js';
import type { TcpRequestorOptions } from '../../../src/leasequery/index.js';
import { silentLogger } from '../../../src/log.js';
import { StatusCode } from '../../../src/protocol/index.js';
import { FakeLink, accepted, binding, catchUpComplete, dataMissing, done, keepalive, until } from './fakes.js';

const source: SourceConfig = SourceSchema.parse({ name: 'dhcp-a', host: '::1', port: 5470, scopes: { links: ['2001:db8:1::1', '2001:db8:2::1'] } });
const session = SessionSchema.parse({ backoff: { initialMs: 1, maxMs: 4, jitter: 0 }, startTimeMarginS: 2 });

interface Rig {
  s: SourceSession;
  links: FakeLink[];
  items: QueueItem[];
  states: SessionState[];
  connects: TcpRequestorOptions[];
  queue: SourceQueue<QueueItem>;
  /** Stop taking items from the queue (Kafka slow). */
  pauseDrain(): void;
  resumeDrain(): void;
}

const rigs: Rig[] = [];

function rig(opts: { start?: Partial<SourceStart>; capacity?: number; setup?: (link: FakeLink, n: number) => void; failConnects?: number } = {}): Rig {
  const queue = new SourceQueue<QueueItem>(opts.capacity ?? 1000);
  const links: FakeLink[] = [];
  const items: QueueItem[] = [];
  const states: SessionState[] = [];
  const connects: TcpRequestorOptions[] = [];
  let failures = opts.failConnects ?? 0;
  let draining = true;
  const drain = () => {
    if (!draining) return;
    for (let it = queue.takeOne(); it; it = queue.takeOne()) {
      items.push(it);
      queue.release(1);
    }
  };
  queue.onReadable = () => queueMicrotask(drain);
  const s = new SourceSession({
    source,
    session,
    start: { ...emptyCheckpoint('dhcp-a'), ...opts.start },
    queue,
    connect: async (o) => {
      connects.push(o);
      if (failures > 0) {
        failures--;
        throw Object.assign(new Error('cannot connect to [::1]:5470: ECONNREFUSED'), { code: 'refused' });
      }
      const l = new FakeLink();
      opts.setup?.(l, links.length);
      links.push(l);
      return l;
    },
    logger: silentLogger,
    metrics: { ...noopSourceMetrics, setState: (st) => states.push(st) },
    sleep: (ms, signal) => new Promise((r) => (signal.aborted ? r() : setTimeout(r, Math.min(ms, 5)))),
  });
  const r: Rig = {
    s,
    links,
    items,
    states,
    connects,
    queue,
    pauseDrain: () => (draining = false),
    resumeDrain: () => {
      draining = true;
      drain();
    },
  };
  rigs.push(r);
  s.start();
  return r;
}

afterEach(async () => {
  for (const r of rigs.splice(0)) await r.s.stop();
});

const kinds = (items: QueueItem[]) => items.map((i) => (i.event === null ? 'checkpoint' : i.event.type === 'source' ? i.event.kind : `binding:${i.event.phase}`));

describe('session: initial load', () => {
  it('without a resume point: bulk over every scope, B0 = lowest reply base-time, then Active Leasequery from B0', async () => {
    const r = rig({
      setup: (link) => {
        link.onBulk = (c) => {
          const base = c.spec.type === 'link' && c.spec.link[5] === 1 ? 1000 : 990;
          c.stream.push(binding(1, 'bulk', base), binding(2, 'bulk', base + 1), done(0, base + 2));
          c.stream.end();
        };
      },
    });
    await until(() => r.links[0]?.activeCalls.length === 1, 2000, 'active query');
    const link = r.links[0];
    expect(link.bulkCalls.map((c) => c.spec.type)).toEqual(['link', 'link']);
    expect(link.bulkCalls.every((c) => c.extras?.startTime === undefined && c.extras?.endTime === undefined)).toBe(true);
    // B0 = 990; the Active Leasequery asks from B0 minus the 2 s margin.
    expect(link.activeCalls[0].extras?.startTime).toBe(988);
    expect(r.s.resume.value).toBe(990);
    await until(() => kinds(r.items).includes('catch-up-started'));
    expect(kinds(r.items)).toEqual(['connected', 'bulk-started', 'binding:bulk', 'binding:bulk', 'binding:bulk', 'binding:bulk', 'bulk-complete', 'catch-up-started']);
    // Items before bulk-complete checkpoint "no resume point, initial load not done"; bulk-complete carries B0.
    const complete = r.items.find((i) => i.event?.type === 'source' && i.event.kind === 'bulk-complete');
    expect(complete).toMatchObject({ resumePoint: 990, initialLoadDone: true });
    expect(r.items[2]).toMatchObject({ resumePoint: null, initialLoadDone: false });
    expect(r.states.slice(0, 3)).toEqual(['connecting', 'initial-load', 'catch-up']);
  });

  it('with a resume point: no initial load, the Active Leasequery asks from it', async () => {
    const r = rig({ start: { resumePoint: 5000, initialLoadDone: true } });
    await until(() => r.links[0]?.activeCalls.length === 1);
    expect(r.links[0].bulkCalls).toHaveLength(0);
    expect(r.links[0].activeCalls[0].extras?.startTime).toBe(4998);
  });
});

describe('session: resume point', () => {
  it('never takes base-times of the catch-up phase; takes live ones, CatchUpComplete and keepalives', async () => {
    const r = rig({ start: { resumePoint: 5000 } });
    await until(() => r.links[0]?.activeCalls.length === 1);
    const st = r.links[0].activeCalls[0].stream;
    st.push(accepted(6000), binding(1, 'catch-up', 6001), binding(2, 'catch-up', 6002));
    await until(() => r.items.filter((i) => i.event?.type === 'binding').length === 2);
    expect(r.s.resume.value).toBe(5000);
    expect(r.items.every((i) => i.resumePoint === 5000)).toBe(true);
    st.push(catchUpComplete(6003));
    await until(() => r.s.state === 'live');
    expect(r.s.resume.value).toBe(6003);
    st.push(binding(3, 'live', 6004));
    await until(() => r.items.some((i) => i.event?.type === 'binding' && i.event.phase === 'live'));
    expect(r.items[r.items.length - 1].resumePoint).toBe(6004);
    // A keepalive that moves the resume point queues a checkpoint-only item.
    st.push(keepalive(6100));
    await until(() => r.items[r.items.length - 1].event === null);
    expect(r.items[r.items.length - 1].resumePoint).toBe(6100);
    // One that does not move it queues nothing.
    const n = r.items.length;
    st.push(keepalive(6050));
    await new Promise((res) => setTimeout(res, 20));
    expect(r.items.length).toBe(n);
  });

  it('without a start time the whole session is live from its first message', async () => {
    const r = rig({
      setup: (link) => {
        link.onBulk = (c) => {
          c.stream.push({ ...done(0), baseTime: undefined });
          c.stream.end();
        };
      },
      start: { resumePoint: null },
    });
    // No base-time in any bulk reply: no B0, so no START, and live at once.
    await until(() => r.links[0]?.activeCalls.length === 1);
    expect(r.links[0].activeCalls[0].extras?.startTime).toBeUndefined();
    await until(() => r.s.state === 'live');
    r.links[0].activeCalls[0].stream.push(binding(1, 'live', 8000));
    await until(() => r.s.resume.value === 8000);
  });
});

describe('session: DataMissing (RFC 7653 section 8.3.1)', () => {
  it('recovers with a time-bounded bulk on a second connection while live updates continue; the resume point is frozen until then', async () => {
    let releaseBulk: () => void = () => undefined;
    const r = rig({
      start: { resumePoint: 5000, initialLoadDone: true },
      setup: (link, n) => {
        if (n === 1) {
          const empty = link.onBulk;
          link.onBulk = (c) => {
            if (link.bulkCalls.length > 1) return empty(c);
            c.stream.push(binding(10, 'bulk', 7000));
            releaseBulk = () => {
              c.stream.push(done(0, 7001));
              c.stream.end();
            };
          };
        }
      },
    });
    await until(() => r.links[0]?.activeCalls.length === 1);
    const st = r.links[0].activeCalls[0].stream;
    st.push(dataMissing(7000));
    await until(() => r.links.length === 2 && r.links[1].bulkCalls.length === 1, 2000, 'recovery connection');
    expect(r.s.state).toBe('recovering');
    // START = the START of the Active Leasequery (5000 - 2), END = the DataMissing base-time.
    expect(r.links[1].bulkCalls[0].extras).toMatchObject({ startTime: 4998, endTime: 7000 });
    // Live updates keep flowing on the first connection, but the resume point stays.
    st.push(binding(3, 'live', 7005));
    await until(() => r.items.some((i) => i.event?.type === 'binding' && i.event.phase === 'live'));
    expect(r.s.resume.value).toBe(5000);
    expect(r.items[r.items.length - 1].resumePoint).toBe(5000);
    releaseBulk();
    // The first scope answered; the second (default: empty) follows; then bulk-complete.
    await until(() => r.items.some((i) => i.event?.type === 'source' && i.event.kind === 'bulk-complete'));
    const started = r.items.find((i) => i.event?.type === 'source' && i.event.kind === 'bulk-started')?.event;
    expect(started).toMatchObject({ scope: { linkAddresses: ['2001:db8:1::1', '2001:db8:2::1'], relayIds: [], startTime: 4998, endTime: 7000 } });
    const complete = r.items.find((i) => i.event?.type === 'source' && i.event.kind === 'bulk-complete');
    // Thawed before the marker: the marker's checkpoint covers the live base-times seen meanwhile.
    expect(complete?.resumePoint).toBe(7005);
    await until(() => r.s.state === 'live');
    expect(r.links[1].closed).toBe(true);
    expect(kinds(r.items)).toContain('data-missing');
  });

  it('drops a recovery bulk report of a binding the live stream already reported (it can only be older)', async () => {
    let answer: (() => void) | undefined;
    const r = rig({
      start: { resumePoint: 5000, initialLoadDone: true },
      setup: (link, n) => {
        if (n === 1) {
          const empty = link.onBulk;
          link.onBulk = (c) => {
            if (link.bulkCalls.length > 1) return empty(c);
            answer = () => {
              c.stream.push(binding(10, 'bulk', 7001), binding(11, 'bulk', 7001), done(0, 7001));
              c.stream.end();
            };
          };
        }
      },
    });
    await until(() => r.links[0]?.activeCalls.length === 1);
    r.links[0].activeCalls[0].stream.push(dataMissing(7000), binding(10, 'live', 7001, undefined, { released: true }));
    await until(() => answer !== undefined && r.items.some((i) => i.event?.type === 'binding' && i.event.phase === 'live'));
    answer?.();
    await until(() => r.items.some((i) => i.event?.type === 'source' && i.event.kind === 'bulk-complete'));
    const bulk = r.items.filter((i) => i.event?.type === 'binding' && i.event.phase === 'bulk').map((i) => (i.event as { clientId: string }).clientId);
    expect(bulk).toEqual(['0003000102000000000b']);
  });

  it('a failed recovery ends the session; the next connection asks from the frozen resume point again', async () => {
    const r = rig({
      start: { resumePoint: 5000, initialLoadDone: true },
      setup: (link, n) => {
        if (n === 1) link.onBulk = (c) => c.stream.fail(new Error('recovery connection reset'));
      },
    });
    await until(() => r.links[0]?.activeCalls.length === 1);
    r.links[0].activeCalls[0].stream.push(dataMissing(7000), binding(3, 'live', 7005));
    await until(() => r.links.length >= 3 && r.links[2].activeCalls.length === 1, 2000, 'reconnect');
    expect(r.links[2].activeCalls[0].extras?.startTime).toBe(4998);
    const disc = r.items.find((i) => i.event?.type === 'source' && i.event.kind === 'disconnected')?.event;
    expect(disc).toMatchObject({ reason: expect.stringContaining('recovery bulk leasequery failed') });
  });
});

describe('session: ends and retries', () => {
  it('LEASEQUERY-DONE with QueryTerminated: disconnected, backing-off, reconnect with START = the live resume point', async () => {
    const r = rig({ start: { resumePoint: 5000 } });
    await until(() => r.links[0]?.activeCalls.length === 1);
    const st = r.links[0].activeCalls[0].stream;
    st.push(catchUpComplete(6000), binding(1, 'live', 6010), done(StatusCode.QueryTerminated, 6011, 'server shutting down'));
    await until(() => r.links.length === 2 && r.links[1].activeCalls.length === 1);
    expect(r.links[1].activeCalls[0].extras?.startTime).toBe(6008);
    const disc = r.items.find((i) => i.event?.type === 'source' && i.event.kind === 'disconnected')?.event;
    expect(disc).toMatchObject({ reason: expect.stringContaining('QueryTerminated') });
    expect(r.states).toContain('backing-off');
    expect(r.links[0].closed).toBe(true);
  });

  it('a dropped connection (timeout, reset) is retried the same way', async () => {
    const r = rig({ start: { resumePoint: 5000 } });
    await until(() => r.links[0]?.activeCalls.length === 1);
    r.links[0].activeCalls[0].stream.fail(Object.assign(new Error('nothing received from the server for 120000 ms (ACTIVE_LQ_RCV_TIMEOUT)'), { code: 'timeout' }));
    await until(() => r.links.length === 2 && r.links[1].activeCalls.length === 1);
    expect(r.items.some((i) => i.event?.type === 'source' && i.event.kind === 'disconnected' && /ACTIVE_LQ_RCV_TIMEOUT/.test(i.event.reason ?? ''))).toBe(true);
  });

  it('connection refused: backs off and retries without emitting connected/disconnected', async () => {
    const r = rig({ start: { resumePoint: 5000 }, failConnects: 3 });
    await until(() => r.links.length === 1 && r.links[0].activeCalls.length === 1, 2000, 'connected after failures');
    expect(r.connects).toHaveLength(4);
    expect(r.states.filter((s) => s === 'backing-off')).toHaveLength(3);
    expect(kinds(r.items).filter((k) => k === 'connected')).toHaveLength(1);
    expect(kinds(r.items)).not.toContain('disconnected');
  });
});

describe('session: scopes and back-pressure', () => {
  it('learns links seen in live data that no scope covers', async () => {
    const r = rig({ start: { resumePoint: 5000 } });
    await until(() => r.links[0]?.activeCalls.length === 1);
    r.links[0].activeCalls[0].stream.push(catchUpComplete(6000), binding(1, 'live', 6001, undefined, { link: 1 }), binding(2, 'live', 6002, undefined, { link: 7 }));
    await until(() => r.items.filter((i) => i.event?.type === 'binding').length === 2);
    expect(r.s.scopes.learned()).toEqual({ linkAddresses: ['2001:db8:7::1'], relayIds: [] });
    expect(r.s.scopes.queries()).toHaveLength(3);
  });

  it('stops pulling from the requestor stream when its queue is full', async () => {
    const r = rig({ start: { resumePoint: 5000 }, capacity: 16 });
    await until(() => r.links[0]?.activeCalls.length === 1);
    r.pauseDrain();
    const st = r.links[0].activeCalls[0].stream;
    st.push(catchUpComplete(6000));
    for (let i = 0; i < 100; i++) st.push(binding(i, 'live', 6001 + i));
    await new Promise((res) => setTimeout(res, 30));
    expect(st.pulled).toBeLessThanOrEqual(18);
    expect(st.buffered).toBeGreaterThanOrEqual(82);
    expect(r.s.waitingForQueue).toBe(true);
    r.resumeDrain();
    await until(() => st.buffered === 0);
  });
});
