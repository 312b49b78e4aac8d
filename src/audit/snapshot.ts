// Where an as-of fold can start: the nearest usable replica snapshot (src/projection
// snapshot-store.ts) instead of the topic's start.
//
// A replica snapshot is the projection's state after every record below its offsets
// (one per partition): for each binding, every source's newest report with its live
// resources. That is exactly the state a sweep needs to continue from those offsets:
// the state at T is the snapshot's state plus the events after its offsets received by
// T. Usable for T when:
// - it is good (magic, version, trailer, SHA-256: the projection's own loader checks);
// - it covers the topic asked about (its offsets name it);
// - its time (the replica's clock when it was written, which is the connector clock)
//   is at or before T, and no report in it was received after T: a snapshot taken
//   after T may hold reports of after T, and has dropped resources that expired
//   between T and its time.
// The newest usable one (by its sequence number) is taken; every one passed over is
// named with the reason.
//
// What a snapshot cannot give: when an interval open at it started (its `start` is the
// report in force then: held at least since), the offsets and raw bytes of the reports
// (a snapshot keeps a report's partition only), and claims beaten by a reassignment
// whose new holder has since let go: the projection keeps them as fall-backs, a full
// fold does not (src/audit/README.md). The projection also forgets a released
// binding after one hour where the audit remembers it for a day, so a catch-up report
// of an older state between the two can count as new. Both need a report that was
// missed or replayed late; the answer says it rests on a snapshot.
import { open, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { BulkScope, type Phase } from '../events/model.js';
import { Projection, SNAPSHOT_VERSION, SnapshotError, SnapshotStore } from '../projection/index.js';
import { dhcpTimeToUnixMs, type Dhcp6Message, type Dhcp6Option } from '../protocol/index.js';
import { AuditError } from './errors.js';
import type { SeedBinding, SeedResync, SeedState } from './intervals.js';
import type { Resource } from './resources.js';
import { iso } from './time.js';

/** A snapshot's head records (up to the first binding), as src/projection/snapshot.ts writes them (version 1). */
export interface SnapshotHead {
  /** The replica's clock when it was written (ms). */
  createdAt: number;
  bindings: number;
  /** Next offset to read per partition, per topic. */
  offsets: Array<{ topic: string; partition: number; offset: bigint }>;
  /** Last applied offset per partition. */
  positions: Map<number, bigint>;
  sources: string[];
  resyncs: SeedResync[];
}

export interface SnapshotChoice {
  path: string;
  file: string;
  /** The snapshot's time (connector clock, ms) and its ISO text. */
  at: number;
  atIso: string;
  /** Where reading continues: next offset per partition (partitions it does not name start at their earliest). */
  offsets: Map<number, bigint>;
  bindings: SeedBinding[];
  resyncs: SeedResync[];
  /** The newest report it holds (connector clock). */
  newestReport: number;
  loadMs: number;
}

export interface SnapshotRejection {
  file: string;
  reason: string;
}

const TAG = { META: 1, OFFSET: 2, POSITION: 3, SOURCE: 4, LINK: 5, TEMPLATE: 6, RESYNC: 7, BINDING: 8, END: 9 } as const;
const HEADER = 16;
const PHASES: readonly Phase[] = ['live', 'catch-up', 'bulk'];

/** The createdAt of META, from the first bytes only (no checksum yet): to pass over snapshots later than T cheaply. */
async function peekCreatedAt(path: string): Promise<number | undefined> {
  const h = await open(path, 'r');
  try {
    const b = Buffer.alloc(HEADER + 17);
    const { bytesRead } = await h.read(b, 0, b.length, 0);
    if (bytesRead < b.length || b.readUInt32LE(8) !== SNAPSHOT_VERSION || b[HEADER] !== TAG.META) return undefined;
    return b.readDoubleLE(HEADER + 9);
  } finally {
    await h.close();
  }
}

/** Parses the head records of a snapshot file that the projection's loader has verified. */
export function parseSnapshotHead(buf: Buffer): SnapshotHead {
  let pos = HEADER;
  const need = (n: number) => {
    if (pos + n > buf.length) throw new RangeError(`snapshot head: record at ${pos} needs ${n} bytes`);
  };
  const u8 = () => (need(1), buf[pos++]);
  const u16 = () => (need(2), (pos += 2), buf.readUInt16LE(pos - 2));
  const u32 = () => (need(4), (pos += 4), buf.readUInt32LE(pos - 4));
  const i32 = () => (need(4), (pos += 4), buf.readInt32LE(pos - 4));
  const f64 = () => (need(8), (pos += 8), buf.readDoubleLE(pos - 8));
  const str = () => {
    const n = u32();
    need(n);
    pos += n;
    return buf.toString('utf8', pos - n, pos);
  };
  const head: SnapshotHead = { createdAt: NaN, bindings: 0, offsets: [], positions: new Map(), sources: [], resyncs: [] };
  for (;;) {
    const tag = u8();
    switch (tag) {
      case TAG.META:
        f64();
        head.createdAt = f64();
        head.bindings = u32();
        u32();
        u32();
        break;
      case TAG.OFFSET: {
        const topic = str();
        const partition = u32();
        head.offsets.push({ topic, partition, offset: BigInt(str()) });
        break;
      }
      case TAG.POSITION: {
        const p = i32();
        head.positions.set(p, BigInt(str()));
        break;
      }
      case TAG.SOURCE: {
        head.sources.push(str());
        u8();
        str();
        break;
      }
      case TAG.LINK:
        need(16);
        pos += 16;
        break;
      case TAG.TEMPLATE:
        u32();
        str();
        break;
      case TAG.RESYNC: {
        const source = head.sources[u16()] ?? '?';
        const resyncId = str();
        const at = f64();
        const scope = str();
        head.resyncs.push({ source, resyncId, at, scope: scope === '' ? undefined : BulkScope.parse(JSON.parse(scope)) });
        break;
      }
      case TAG.BINDING:
      case TAG.END:
        return head;
      default:
        throw new RangeError(`snapshot head: unknown record tag ${tag}`);
    }
  }
}

function relayIdsOf(message: Dhcp6Message | undefined): { relayIds: string[]; remoteIds: string[] } {
  // As the interval engine reads an event's relay data: the ids of the relay nearest the
  // client that sent one first, then every hop's, outermost first.
  const hopRelay: string[] = [];
  const hopRemote: string[] = [];
  for (let m = message; m && m.kind === 'relay'; ) {
    let inner: Dhcp6Message | undefined;
    for (const o of m.options as Dhcp6Option[]) {
      if (o.name === 'relayId') hopRelay.push(o.duid.toString('hex'));
      else if (o.name === 'remoteId') hopRemote.push(`${o.enterpriseNumber}:${o.remoteId.toString('hex')}`);
      else if (o.name === 'relayMsg') inner = o.message;
    }
    m = inner;
  }
  const order = (ids: string[]) => [...new Set([...(ids.length > 0 ? [ids[ids.length - 1]] : []), ...ids])];
  return { relayIds: order(hopRelay), remoteIds: order(hopRemote) };
}

function idsOfSpec(relay: string | null): { relayIds: string[]; remoteIds: string[] } {
  if (relay === null) return { relayIds: [], remoteIds: [] };
  const spec = JSON.parse(relay) as { hops?: Array<{ relayId?: string; remoteId?: { enterpriseNumber: number; id: string } }> };
  const hops = spec.hops ?? [];
  const rel = hops.filter((h) => h.relayId !== undefined).map((h) => h.relayId as string);
  const rem = hops.filter((h) => h.remoteId !== undefined).map((h) => `${h.remoteId!.enterpriseNumber}:${h.remoteId!.id}`);
  const order = (ids: string[]) => [...new Set([...(ids.length > 0 ? [ids[ids.length - 1]] : []), ...ids])];
  return { relayIds: order(rel), remoteIds: order(rem) };
}

function resourceOfDump(text: string): { resource: Resource; validUntil: number | null; preferredUntil: number | null } {
  // "plen:hex:pref:valid" (src/projection/dump.ts); plen 255 = an address.
  const [plenText, hex, pref, valid] = text.split(':');
  const plen = Number(plenText);
  const bytes = Buffer.from(hex, 'hex');
  const prefixLength = plen === 255 ? null : plen;
  const fin = (v: string) => (Number(v) === Infinity ? null : Number(v));
  return { resource: { key: prefixLength === null ? hex : `${hex}/${prefixLength}`, bytes, prefixLength }, validUntil: fin(valid), preferredUntil: fin(pref) };
}

/** Loads a verified snapshot into seed form. */
async function load(path: string, at: number): Promise<{ head: SnapshotHead; bindings: SeedBinding[]; newestReport: number }> {
  const projection = new Projection({ serverDuid: Buffer.alloc(16), clock: () => at });
  await projection.loadSnapshot(path); // verifies it (SnapshotError when bad)
  const head = parseSnapshotHead(await readFile(path));
  const bindings: SeedBinding[] = [];
  let newestReport = -Infinity;
  for (const d of projection.dump()) {
    const sep = d.key.indexOf('@');
    const clientId = d.key.slice(0, sep);
    const linkAddress = d.key.slice(sep + 1);
    const view = projection.byClientId(Buffer.from(clientId, 'hex'), undefined).find((b) => b.key === d.key);
    const winnerIds = relayIdsOf(view?.relay?.relayMessage);
    const states: SeedState[] = [d.winner, ...d.others].map((s) => {
      if (s.receivedAt > newestReport) newestReport = s.receivedAt;
      const ids = s.blob === d.winner.blob && s.relay === d.winner.relay ? winnerIds : idsOfSpec(s.relay);
      const lastTx = s.lastTx;
      const cltTime = s.cltTime < 0 ? null : s.cltTime;
      return {
        source: s.source,
        lastTx,
        receivedAt: s.receivedAt,
        baseTime: s.baseTime,
        cltTime,
        tie: s.tie,
        resources: s.resources.map(resourceOfDump),
        ref: {
          type: 'binding',
          source: s.source,
          partition: s.partition,
          offset: '',
          receivedAt: s.receivedAt,
          baseTime: s.baseTime,
          clockOffsetMs: s.receivedAt - dhcpTimeToUnixMs(s.baseTime),
          lastTransactionAt: lastTx,
          phase: PHASES[s.phase] ?? null,
          kind: null,
          chainSeq: null,
        },
        relayIds: ids.relayIds,
        remoteIds: ids.remoteIds,
      };
    });
    bindings.push({ clientId, linkAddress, states });
  }
  return { head, bindings, newestReport };
}

/**
 * The newest usable snapshot in `dir` for a fold of `topic` up to `at`, with the
 * reasons the newer ones were passed over. `chosen` undefined: none is usable.
 */
export async function chooseSnapshot(dir: string, topic: string, at: number): Promise<{ chosen?: SnapshotChoice; rejected: SnapshotRejection[] }> {
  const rejected: SnapshotRejection[] = [];
  let paths: string[];
  try {
    paths = await new SnapshotStore({ dir }).list();
  } catch (err) {
    throw new AuditError('bad-argument', `--snapshot-dir ${dir}: ${(err as Error).message}`);
  }
  if (paths.length === 0) rejected.push({ file: dir, reason: 'no snapshot files (projection-*.lqsnap) in the directory' });
  for (const path of paths) {
    const file = basename(path);
    const t0 = Date.now();
    const peeked = await peekCreatedAt(path).catch(() => undefined);
    if (peeked !== undefined && peeked > at) {
      rejected.push({ file, reason: `taken at ${iso(peeked)}, after the asked instant ${iso(at)}` });
      continue;
    }
    let loaded: Awaited<ReturnType<typeof load>>;
    try {
      loaded = await load(path, at);
    } catch (err) {
      if (err instanceof SnapshotError) {
        rejected.push({ file, reason: `unusable (${err.reason}): ${err.message}` });
        continue;
      }
      if (err instanceof RangeError || err instanceof SyntaxError) {
        rejected.push({ file, reason: `unusable (format): ${err.message}` });
        continue;
      }
      throw err;
    }
    const { head, bindings, newestReport } = loaded;
    if (!(head.createdAt <= at)) {
      rejected.push({ file, reason: `taken at ${iso(head.createdAt)}, after the asked instant ${iso(at)}` });
      continue;
    }
    const mine = head.offsets.filter((o) => o.topic === topic);
    if (mine.length === 0) {
      const others = [...new Set(head.offsets.map((o) => o.topic))];
      rejected.push({ file, reason: others.length > 0 ? `covers topic ${others.map((t) => `"${t}"`).join(', ')}, not "${topic}"` : 'records no Kafka offsets' });
      continue;
    }
    if (newestReport > at) {
      rejected.push({ file, reason: `holds a report received at ${iso(newestReport)}, after the asked instant ${iso(at)}` });
      continue;
    }
    return {
      chosen: {
        path,
        file,
        at: head.createdAt,
        atIso: iso(head.createdAt) as string,
        offsets: new Map(mine.map((o) => [o.partition, o.offset])),
        bindings,
        resyncs: head.resyncs,
        newestReport,
        loadMs: Date.now() - t0,
      },
      rejected,
    };
  }
  return { rejected };
}
