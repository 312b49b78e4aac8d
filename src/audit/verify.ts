// Integrity of lq.events (issue 7): proof that no event of a source was removed,
// altered, duplicated or reordered in a range, from the per-source hash chain
// (src/events/chain.ts: hash = SHA-256(prev "\n" event-without-chain)).
//
// Checks, per event: its own hash (the body and `prev` are what was hashed); per
// source, in seq order: seq contiguous, and each event's `prev` equal to the previous
// event's `hash`; per (source, partition): seq increasing in offset order (Kafka keeps
// a partition's order, so a record moved within it shows); at the end of the topic:
// the last event equal to the chain head the connector committed in lq.sources with
// it. The hashes are checked over the record's JSON as written (JSON.parse keeps
// member order), not over a re-validated copy.
//
// A source's events are spread over every partition (binding events go by client
// DUID), so records are swept in record-timestamp order across partitions (merge.ts)
// and an event whose predecessor has not been seen waits in a per-source pending map.
// Bulk markers (bulk-started, bulk-complete) are written to every partition (the
// projection retires per partition): their copies share one seq and hash, are not
// duplicates, and each must be in every partition read.
//
// One producer writes a source's chain at a time and stamps its records in send
// order, so a predecessor is never later than its successor by more than clock
// jitter: once the sweep is one reorder window past a waiting event, its predecessor
// is missing. The pending map therefore holds at most one window of a source's
// events; the rest of the state is O(1) per source plus one entry per partition and
// a ring of the last RECENT hashes (to tell a duplicate from a conflicting copy).
import { GENESIS_HASH, verifyLink, type ChainHead, type LqEvent } from '../events/index.js';
import { readToEnd, type KafkaSettings, type ReadMessage } from '../kafka/index.js';
import { decodeCheckpoint } from '../connector/checkpoint.js';
import { TimeMerger, steerFlow, type MergeItem, type MergeStats } from './merge.js';
import { readRange, withTimeout, type RangeFlow, type RangeResult, type RangeStart, type RangeStop, type ReadOptions } from './read.js';
import { DEFAULT_REORDER_WINDOW_MS } from './sweep.js';
import { iso } from './time.js';

export type BreakKind =
  /** A record that is not an event (not JSON, or no source). */
  | 'not-an-event'
  /** An event without a chain link. */
  | 'unchained'
  /** An event whose body (or prev) does not hash to its `hash`: altered. */
  | 'hash-mismatch'
  /** An event whose `prev` is not its predecessor's `hash`: an event between was removed or replaced. */
  | 'prev-mismatch'
  /** seq numbers missing: removed events. */
  | 'missing'
  /** The same event (same seq and hash) twice. */
  | 'duplicate'
  /** Two different events with one seq: a forged or replaced copy. */
  | 'conflict'
  /** Within one partition, a seq after a higher one of the same source: moved records. */
  | 'reordered'
  /** Read from the topic's start, a source's first event is not seq 1 after the genesis hash. */
  | 'not-genesis'
  /** At the end of the topic, the last event differs from the head committed in lq.sources. */
  | 'head-mismatch';

export interface ChainBreak {
  kind: BreakKind;
  source: string | null;
  seq: number | null;
  partition: number | null;
  offset: string | null;
  message: string;
}

export interface SourceSummary {
  source: string;
  events: number;
  /** The first linked seq: 1 from genesis, or where a range that starts mid-topic anchored. */
  firstSeq: number | null;
  lastSeq: number | null;
  lastHash: string | null;
  /** True when the chain was checked from seq 1 (prev = the genesis hash). */
  fromGenesis: boolean;
  anchor: { seq: number; partition: number; offset: string } | null;
  head: ChainHead | null;
  headChecked: boolean;
  breaks: number;
}

export interface VerifyReport {
  ok: boolean;
  firstBreak: ChainBreak | null;
  breaks: ChainBreak[];
  breakCount: number;
  sources: SourceSummary[];
  records: number;
  nonEvents: number;
  fromStart: boolean;
  toEnd: boolean;
  caveats: string[];
}

interface Link {
  seq: number;
  prev: string;
  hash: string;
  partition: number;
  offset: string;
  timestamp: number;
}

interface SourceChain {
  name: string;
  events: number;
  anchored: boolean;
  firstSeq: number | null;
  lastSeq: number;
  lastHash: string;
  anchor: Link | null;
  fromGenesis: boolean;
  pending: Map<number, Link>;
  recent: Map<number, string>;
  byPartition: Map<number, { seq: number; offset: string }>;
  /** The last gaps declared (bounded): a record of one showing up later was moved, not duplicated. */
  gaps: Array<[number, number]>;
  breaks: number;
}

const RECENT = 4096;
const HEX64 = /^[0-9a-f]{64}$/;

interface MarkerCopies {
  source: string;
  seq: number;
  kind: string;
  hash: string;
  partitions: Set<number>;
  timestamp: number;
  first: Link;
}

export interface VerifierOptions {
  /** Every partition read: a bulk marker must be in each. */
  partitions?: readonly number[];
  /** Reorder window (ms of record time) before a missing predecessor is declared. */
  windowMs?: number;
  /** Check only this source's chain. */
  source?: string;
  /** The range starts at offset 0 of every partition: chains must start at genesis. */
  fromStart: boolean;
  /** Breaks kept in the report (all are counted). */
  maxBreaks?: number;
}

/**
 * The chain checks over records fed in sweep order (record timestamp). Pure: the
 * Kafka reading is verifyRange's.
 */
export class ChainVerifier {
  private readonly chains = new Map<string, SourceChain>();
  private readonly markers = new Map<string, MarkerCopies>();
  private readonly breaks: ChainBreak[] = [];
  private breakCount = 0;
  private nonEvents = 0;
  private records = 0;
  private readonly windowMs: number;
  private readonly maxBreaks: number;

  constructor(private readonly opts: VerifierOptions) {
    this.windowMs = opts.windowMs ?? DEFAULT_REORDER_WINDOW_MS;
    this.maxBreaks = opts.maxBreaks ?? 100;
  }

  /** One record of the range, in sweep order. */
  record(partition: number, offset: bigint, timestamp: number, value: Buffer | null): void {
    this.advance(timestamp);
    this.records++;
    const off = offset.toString();
    if (value === null) return; // a tombstone carries no event
    let json: unknown;
    try {
      json = JSON.parse(value.toString('utf8'));
    } catch (err) {
      this.nonEvents++;
      this.flag({ kind: 'not-an-event', source: null, seq: null, partition, offset: off, message: `record is not JSON: ${(err as Error).message}` });
      return;
    }
    const e = json as { source?: { name?: unknown }; chain?: { seq?: unknown; prev?: unknown; hash?: unknown } };
    const name = typeof e === 'object' && e !== null && typeof e.source === 'object' && e.source !== null ? e.source.name : undefined;
    if (typeof name !== 'string') {
      this.nonEvents++;
      this.flag({ kind: 'not-an-event', source: null, seq: null, partition, offset: off, message: 'record is not an event (no source name)' });
      return;
    }
    if (this.opts.source !== undefined && name !== this.opts.source) return;
    const c = this.chainOf(name);
    c.events++;
    const ch = e.chain;
    if (typeof ch !== 'object' || ch === null || !Number.isSafeInteger(ch.seq) || (ch.seq as number) < 1 || typeof ch.prev !== 'string' || !HEX64.test(ch.prev) || typeof ch.hash !== 'string' || !HEX64.test(ch.hash)) {
      this.flag({ kind: 'unchained', source: name, seq: null, partition, offset: off, message: 'event has no valid chain link (seq, prev, hash)' }, c);
      return;
    }
    const link: Link = { seq: ch.seq as number, prev: ch.prev, hash: ch.hash, partition, offset: off, timestamp };
    const kind = (json as { type?: unknown; kind?: unknown }).type === 'source' ? (json as { kind?: unknown }).kind : undefined;
    if (kind === 'bulk-started' || kind === 'bulk-complete') {
      const k = `${name}\u0000${link.seq}`;
      const m = this.markers.get(k);
      if (m && m.hash === link.hash && !m.partitions.has(partition)) {
        // Another partition's copy of a marker already seen: expected, and only its place in the partition to check.
        m.partitions.add(partition);
        c.events--;
        this.inPartition(c, link);
        return;
      }
      if (!m) this.markers.set(k, { source: name, seq: link.seq, kind, hash: link.hash, partitions: new Set([partition]), timestamp, first: link });
    }
    if (!verifyLink(json as LqEvent)) {
      this.flag({ kind: 'hash-mismatch', source: name, seq: link.seq, partition, offset: off, message: `seq ${link.seq}: the event's content does not hash to its recorded hash ${link.hash.slice(0, 16)}...: altered after it was written` }, c);
      // Keep going with the recorded hash: its successor's prev still tells whether more changed.
    }
    if (c.anchored && link.seq <= c.lastSeq) {
      this.twice(c, link, c.recent.get(link.seq));
      return;
    }
    const waiting = c.pending.get(link.seq);
    if (waiting) {
      this.twice(c, link, waiting.hash);
      return;
    }
    this.inPartition(c, link);
    c.pending.set(link.seq, link);
    this.drain(c);
  }

  /** Per (source, partition): seqs only grow in offset order. */
  private inPartition(c: SourceChain, link: Link): void {
    const last = c.byPartition.get(link.partition);
    if (last && link.seq < last.seq) {
      this.flag(
        { kind: 'reordered', source: c.name, seq: link.seq, partition: link.partition, offset: link.offset, message: `seq ${link.seq} at offset ${link.offset} comes after seq ${last.seq} at offset ${last.offset} in partition ${link.partition}` },
        c,
      );
    }
    if (!last || link.seq > last.seq) c.byPartition.set(link.partition, { seq: link.seq, offset: link.offset });
  }

  /** A bulk marker whose copies should all have arrived: is it in every partition? */
  private checkMarker(k: string, m: MarkerCopies): void {
    this.markers.delete(k);
    const all = this.opts.partitions;
    if (!all) return;
    const absent = all.filter((p) => !m.partitions.has(p));
    if (absent.length === 0) return;
    this.flag(
      {
        kind: 'missing',
        source: m.source,
        seq: m.seq,
        partition: absent[0],
        offset: null,
        message: `${m.kind} seq ${m.seq} of "${m.source}" is missing from partition(s) ${absent.join(', ')} (a bulk marker is written to every partition; seen at partition ${m.first.partition} offset ${m.first.offset})`,
      },
      this.chainOf(m.source),
    );
  }

  /** The sweep reached record time `t`: predecessors still missing one window before it are gone. */
  advance(t: number): void {
    for (const [k, m] of this.markers) if (m.timestamp < t - this.windowMs) this.checkMarker(k, m);
    for (const c of this.chains.values()) {
      while (c.pending.size > 0) {
        const low = lowest(c.pending);
        if (low.timestamp >= t - this.windowMs) break;
        this.skipTo(c, low);
      }
    }
  }

  /** Ends the sweep: what still waits has no predecessor; then compares with the heads (when the range reached the topic's end). */
  finish(heads: ReadonlyMap<string, ChainHead> | undefined, toEnd: boolean, caveats: string[] = []): VerifyReport {
    for (const c of this.chains.values()) while (c.pending.size > 0) this.skipTo(c, lowest(c.pending));
    for (const [k, m] of [...this.markers]) this.checkMarker(k, m);
    const summaries: SourceSummary[] = [];
    const names = new Set(this.chains.keys());
    if (heads && toEnd) for (const name of heads.keys()) if (this.opts.source === undefined || name === this.opts.source) names.add(name);
    for (const name of [...names].sort()) {
      const c = this.chainOf(name);
      const head = heads?.get(name) ?? null;
      let headChecked = false;
      if (head && toEnd) {
        headChecked = true;
        this.compareHead(c, head);
      }
      summaries.push({
        source: name,
        events: c.events,
        firstSeq: c.firstSeq,
        lastSeq: c.anchored ? c.lastSeq : null,
        lastHash: c.anchored ? c.lastHash : null,
        fromGenesis: c.fromGenesis,
        anchor: c.anchor && !c.fromGenesis ? { seq: c.anchor.seq, partition: c.anchor.partition, offset: c.anchor.offset } : null,
        head,
        headChecked,
        breaks: c.breaks,
      });
    }
    const notes = [...caveats];
    if (!toEnd) notes.push('the range does not reach the end of the topic: the last events were not compared with the chain heads in lq.sources');
    else if (!heads) notes.push('no chain heads were read from lq.sources: the end of each chain was not checked');
    else for (const s of summaries) if (s.events > 0 && !s.head) notes.push(`source "${s.source}" has no checkpoint in lq.sources: the end of its chain was not checked`);
    for (const s of summaries) {
      if (s.anchor) notes.push(`source "${s.source}": checked from seq ${s.anchor.seq} (partition ${s.anchor.partition} offset ${s.anchor.offset}); its predecessor is before the range`);
    }
    return {
      ok: this.breakCount === 0,
      firstBreak: this.breaks[0] ?? null,
      breaks: this.breaks,
      breakCount: this.breakCount,
      sources: summaries,
      records: this.records,
      nonEvents: this.nonEvents,
      fromStart: this.opts.fromStart,
      toEnd,
      caveats: notes,
    };
  }

  private chainOf(name: string): SourceChain {
    let c = this.chains.get(name);
    if (!c) {
      c = { name, events: 0, anchored: false, firstSeq: null, lastSeq: 0, lastHash: GENESIS_HASH, anchor: null, fromGenesis: false, pending: new Map(), recent: new Map(), byPartition: new Map(), gaps: [], breaks: 0 };
      this.chains.set(name, c);
    }
    return c;
  }

  private flag(b: ChainBreak, c?: SourceChain): void {
    this.breakCount++;
    if (c) c.breaks++;
    if (this.breaks.length < this.maxBreaks) this.breaks.push(b);
  }

  private twice(c: SourceChain, link: Link, known: string | undefined): void {
    if (known === undefined && c.gaps.some(([from, to]) => link.seq >= from && link.seq <= to)) {
      this.flag(
        {
          kind: 'reordered',
          source: c.name,
          seq: link.seq,
          partition: link.partition,
          offset: link.offset,
          message: `seq ${link.seq} shows up at partition ${link.partition} offset ${link.offset}, after it was reported missing: moved away from its place`,
        },
        c,
      );
      return;
    }
    const same = known === undefined || known === link.hash;
    this.flag(
      {
        kind: same ? 'duplicate' : 'conflict',
        source: c.name,
        seq: link.seq,
        partition: link.partition,
        offset: link.offset,
        message: same ? `seq ${link.seq} appears again (a duplicated event)` : `seq ${link.seq} appears again with another hash (${link.hash.slice(0, 16)}... vs ${known.slice(0, 16)}...): a forged or replaced copy`,
      },
      c,
    );
  }

  /** Links pending events while the next seq is there. */
  private drain(c: SourceChain): void {
    if (!c.anchored) {
      // From the topic's start the chain is anchored at genesis: seq 1 links at once.
      if (!this.opts.fromStart || !c.pending.has(1)) return;
      c.anchored = true;
      c.fromGenesis = true;
    }
    for (let next = c.pending.get(c.lastSeq + 1); next !== undefined; next = c.pending.get(c.lastSeq + 1)) {
      c.pending.delete(next.seq);
      if (next.prev !== c.lastHash) {
        const what = c.lastSeq === 0 ? 'the genesis hash' : `seq ${c.lastSeq}'s hash ${c.lastHash.slice(0, 16)}...`;
        this.flag(
          {
            kind: 'prev-mismatch',
            source: c.name,
            seq: next.seq,
            partition: next.partition,
            offset: next.offset,
            message: `seq ${next.seq}: prev ${next.prev.slice(0, 16)}... is not ${what}: the event before it was replaced or altered`,
          },
          c,
        );
      }
      this.linked(c, next);
    }
  }

  private linked(c: SourceChain, link: Link): void {
    c.firstSeq ??= link.seq;
    c.lastSeq = link.seq;
    c.lastHash = link.hash;
    c.recent.set(link.seq, link.hash);
    if (c.recent.size > RECENT) c.recent.delete(c.recent.keys().next().value as number);
  }

  /** `low` is the lowest waiting seq and its predecessor is not coming: anchor there, or report the gap. */
  private skipTo(c: SourceChain, low: Link): void {
    c.pending.delete(low.seq);
    if (!c.anchored) {
      c.anchored = true;
      c.anchor = low;
      if (this.opts.fromStart) {
        this.flag(
          {
            kind: 'not-genesis',
            source: c.name,
            seq: low.seq,
            partition: low.partition,
            offset: low.offset,
            message: `the first event of source "${c.name}" in the topic is seq ${low.seq}: seq 1${low.seq > 2 ? `..${low.seq - 1}` : ''} missing`,
          },
          c,
        );
      }
    } else {
      const from = c.lastSeq + 1;
      const to = low.seq - 1;
      c.gaps.push([from, to]);
      if (c.gaps.length > 64) c.gaps.shift();
      this.flag(
        {
          kind: 'missing',
          source: c.name,
          seq: from,
          partition: low.partition,
          offset: low.offset,
          message: `seq ${from}${to > from ? `..${to}` : ''} missing (${to - from + 1} event(s) removed); next present: seq ${low.seq} at partition ${low.partition} offset ${low.offset}`,
        },
        c,
      );
    }
    this.linked(c, low);
    this.drain(c);
  }

  private compareHead(c: SourceChain, head: ChainHead): void {
    const lastSeq = c.anchored ? c.lastSeq : 0;
    const mk = (message: string): ChainBreak => ({ kind: 'head-mismatch', source: c.name, seq: head.seq, partition: null, offset: null, message });
    if (head.seq === 0 && lastSeq === 0) return;
    if (lastSeq < head.seq) {
      this.flag(mk(`lq.sources says the chain of "${c.name}" ends at seq ${head.seq}, the last event in the topic is ${lastSeq === 0 ? 'none' : `seq ${lastSeq}`}: seq ${lastSeq + 1}${head.seq > lastSeq + 1 ? `..${head.seq}` : ''} missing at the end`), c);
    } else if (lastSeq > head.seq) {
      this.flag(mk(`the topic has events of "${c.name}" up to seq ${lastSeq} beyond the head committed in lq.sources (seq ${head.seq}): written without the connector's checkpoint`), c);
    } else if (c.lastHash !== head.hash) {
      this.flag(mk(`the last event of "${c.name}" (seq ${lastSeq}) has hash ${c.lastHash.slice(0, 16)}..., the head in lq.sources is ${head.hash.slice(0, 16)}...: the chain was rewritten`), c);
    }
  }
}

function lowest(pending: Map<number, Link>): Link {
  let best: Link | undefined;
  for (const l of pending.values()) if (!best || l.seq < best.seq) best = l;
  return best as Link;
}

// ---- against Kafka -----------------------------------------------------------------------

export interface VerifyTarget {
  kafka: KafkaSettings;
  topic: string;
  /** lq.sources, for the chain heads; null to skip the comparison. */
  sourcesTopic: string | null;
  read?: ReadOptions & { reorderWindowMs?: number; maxBuffered?: number };
}

export interface VerifyQuery {
  from?: number;
  to?: number;
  source?: string;
}

interface RecordItem extends MergeItem {
  value: Buffer | null;
}

export interface VerifyResult extends VerifyReport {
  topic: string;
  fromIso: string | null;
  toIso: string | null;
  range: RangeResult;
  merge: MergeStats;
  elapsedMs: number;
}

/** Reads every source's chain head from lq.sources (the latest committed checkpoint of each). */
export async function readChainHeads(kafka: KafkaSettings, topic: string, timeoutMs = 60_000): Promise<Map<string, ChainHead>> {
  const heads = new Map<string, ChainHead>();
  await withTimeout(
    readToEnd(kafka, { topic, isolation: 'read_committed', timeoutMs }, (batch) => {
      for (const m of batch.messages as ReadMessage[]) {
        if (!m.key) continue;
        const key = m.key.toString('utf8');
        if (m.value === null) heads.delete(key);
        else heads.set(key, decodeCheckpoint(key, m.value).chainHead);
      }
    }),
    timeoutMs + 5_000,
    `read the chain heads in "${topic}"`,
  );
  return heads;
}

export async function verifyRange(target: VerifyTarget, query: VerifyQuery): Promise<VerifyResult> {
  const t0 = Date.now();
  const windowMs = target.read?.reorderWindowMs ?? DEFAULT_REORDER_WINDOW_MS;
  const from: RangeStart = query.from === undefined ? 'earliest' : { timestamp: query.from };
  const until: RangeStop = query.to === undefined ? 'end' : { timestamp: query.to + 1 };
  let verifier: ChainVerifier | undefined;
  let merger: TimeMerger<RecordItem> | undefined;
  let flow: RangeFlow | undefined;
  const range = await readRange(
    target.kafka,
    { topic: target.topic, from, until },
    {
      begin(ranges) {
        const fromStart = ranges.every((r) => r.start === 0n && r.earliest === 0n);
        verifier = new ChainVerifier({ windowMs, source: query.source, fromStart, partitions: ranges.map((r) => r.partition) });
        const v = verifier;
        merger = new TimeMerger<RecordItem>(ranges.map((r) => r.partition), (item) => v.record(item.partition, item.offset, item.time, item.value), {
          windowMs,
          maxBuffered: target.read?.maxBuffered ?? 200_000,
        });
      },
      attach(f) {
        flow = f;
      },
      batch(partition, messages) {
        const m = merger as TimeMerger<RecordItem>;
        for (const msg of messages) m.push({ time: msg.timestamp, partition, offset: msg.offset, sort: '', value: msg.value });
        m.release();
        steerFlow(m, flow);
      },
      partitionDone(partition) {
        merger?.done(partition);
        merger?.release();
        steerFlow(merger, flow);
      },
    },
    target.read,
  );
  (merger as TimeMerger<RecordItem>).flush();
  const v = verifier as ChainVerifier;
  const caveats: string[] = [];
  const truncated = range.partitions.filter((p) => p.earliest > 0n);
  if (query.from === undefined && truncated.length > 0) {
    caveats.push(`partition(s) ${truncated.map((p) => `${p.partition} (starts at offset ${p.earliest})`).join(', ')} no longer hold their oldest records: chains are checked from the oldest event kept`);
  }
  let heads: Map<string, ChainHead> | undefined;
  if (target.sourcesTopic !== null && range.toEnd) heads = await readChainHeads(target.kafka, target.sourcesTopic, target.read?.stallTimeoutMs ?? 60_000);
  const report = v.finish(heads, range.toEnd, caveats);
  return {
    ...report,
    topic: target.topic,
    fromIso: query.from === undefined ? null : iso(query.from),
    toIso: query.to === undefined ? null : iso(query.to),
    range,
    merge: (merger as TimeMerger<RecordItem>).stats(),
    elapsedMs: Date.now() - t0,
  };
}
