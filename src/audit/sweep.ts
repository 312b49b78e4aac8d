// One pass over a range of lq.events in connector-clock order: read (read.ts), decode,
// merge the partitions by time (merge.ts), hand each event to the consumer.
import type { LqEvent } from '../events/model.js';
import { decodeEventFast } from '../projection/index.js';
import type { KafkaSettings } from '../kafka/index.js';
import { TimeMerger, steerFlow, type MergeItem, type MergeStats } from './merge.js';
import { readRange, type RangeFlow, type RangeResult, type RangeSpec, type ReadOptions } from './read.js';
import type { RecordPosition } from './intervals.js';

export interface SweptEvent extends MergeItem {
  event: LqEvent;
  position: RecordPosition;
  /** The Kafka record timestamp (the producer's send time). */
  timestamp: number;
}

/** A record waiting in the merge: decoded only when released, so decoded events die young. */
interface Pending extends MergeItem {
  value: Buffer;
  /** Set when the record had to be decoded to be ordered (peek failed). */
  event?: LqEvent;
  timestamp: number;
}

export interface SweepOptions extends ReadOptions {
  /** How far events of one partition may be out of time order (default 30 s). */
  reorderWindowMs?: number;
  /**
   * Flow control (default true): partitions whose newest record is more than the
   * reorder window ahead of the slowest partition still being read are paused until it
   * catches up. Partitions are fetched by bytes, so a denser partition falls behind in
   * time by its density excess times the range read; without pausing, the merge buffers
   * the others' records for that whole lag. With it, the buffer is bounded by the window
   * plus about one fetch per partition, whatever the range. false: for comparison.
   */
  flowControl?: boolean;
  /**
   * Hard bound on records buffered by the merge (default 250,000; records wait as their
   * raw bytes, about 1 KiB each): a safety net under flow control. Past it the oldest
   * are released anyway and the answer counts "late" events and is not exact.
   */
  maxBuffered?: number;
  /** Awaited after each batch: where a consumer writing output applies back-pressure. */
  afterBatch?: () => Promise<void> | void;
}

export interface Undecodable {
  partition: number;
  offset: string;
  error: string;
}

export interface SweepResult {
  range: RangeResult;
  merge: MergeStats;
  /** Most records waiting in the merge at once (merge.maxBuffered). */
  peakBuffered: number;
  /** Records that are not events (not JSON, or not matching the schema); the first 10 are listed. */
  undecodable: number;
  firstUndecodable: Undecodable[];
  /** Records without a value (tombstones). */
  skipped: number;
}

export const DEFAULT_REORDER_WINDOW_MS = 30_000;

/** The instant an event is swept at: a binding's receivedAt, a source event's `at` (both connector clock). */
export function eventTime(e: LqEvent): number {
  return e.type === 'binding' ? e.receivedAt : e.at;
}

/** The tie-break of events at one instant: by content, so the answer does not depend on partitioning. */
export function eventSort(e: LqEvent): string {
  return e.type === 'binding' ? `b\u0000${e.clientId}\u0000${e.linkAddress}\u0000${e.source.name}` : `s\u0000${e.source.name}\u0000${e.kind}`;
}

const RECEIVED_AT = Buffer.from('"receivedAt":');
const AT = Buffer.from('"at":');
const CLIENT_ID = Buffer.from('"clientId":"');
const LINK = Buffer.from('"linkAddress":"');
const SOURCE_NAME = Buffer.from('"source":{"name":"');
const KIND = Buffer.from('"kind":"');
const TYPE_BINDING = Buffer.from('{"type":"binding"');
const TYPE_SOURCE = Buffer.from('{"type":"source"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function stringAt(v: Buffer, key: Buffer): string | undefined {
  const i = v.indexOf(key);
  if (i < 0) return undefined;
  const from = i + key.length;
  const to = v.indexOf(QUOTE, from);
  if (to < 0 || v.subarray(from, to).includes(BACKSLASH)) return undefined;
  return v.toString('utf8', from, to);
}

function integerAt(v: Buffer, key: Buffer): number | undefined {
  const i = v.indexOf(key);
  if (i < 0) return undefined;
  let p = i + key.length;
  const neg = v[p] === 0x2d;
  if (neg) p++;
  let n = 0;
  let digits = 0;
  for (; p < v.length && v[p] >= 0x30 && v[p] <= 0x39; p++, digits++) n = n * 10 + (v[p] - 0x30);
  if (digits === 0 || digits > 15 || (v[p] !== 0x2c && v[p] !== 0x7d)) return undefined;
  return neg ? -n : n;
}

/**
 * The sweep time and tie-break of an encoded event (JSON as the events module writes
 * it), without parsing it: the merge needs only these, and holding parsed events for a
 * fetch round makes them outlive the young generation. undefined: decode it instead.
 * The keys looked for are top-level ones: `receivedAt`, `at`, `clientId`, `kind` occur
 * nowhere else in an event; the top-level `linkAddress` precedes the relay hops'.
 */
export function peekEvent(v: Buffer): { time: number; sort: string } | undefined {
  if (v.subarray(0, TYPE_BINDING.length).equals(TYPE_BINDING)) {
    const time = integerAt(v, RECEIVED_AT);
    const clientId = stringAt(v, CLIENT_ID);
    const link = stringAt(v, LINK);
    const source = stringAt(v, SOURCE_NAME);
    if (time === undefined || clientId === undefined || link === undefined || source === undefined) return undefined;
    return { time, sort: `b\u0000${clientId}\u0000${link}\u0000${source}` };
  }
  if (v.subarray(0, TYPE_SOURCE.length).equals(TYPE_SOURCE)) {
    const time = integerAt(v, AT);
    const source = stringAt(v, SOURCE_NAME);
    const kind = stringAt(v, KIND);
    if (time === undefined || source === undefined || kind === undefined) return undefined;
    return { time, sort: `s\u0000${source}\u0000${kind}` };
  }
  return undefined;
}

/** Reads the range and hands its events to `consume` in sweep order (time, then content, then position). */
export async function sweep(settings: KafkaSettings, spec: RangeSpec, opts: SweepOptions, consume: (item: SweptEvent) => void): Promise<SweepResult> {
  const firstUndecodable: Undecodable[] = [];
  let undecodable = 0;
  let skipped = 0;
  const windowMs = opts.reorderWindowMs ?? DEFAULT_REORDER_WINDOW_MS;
  const maxBuffered = opts.maxBuffered ?? 250_000;
  const steering = opts.flowControl ?? true;
  let merger: TimeMerger<Pending> | undefined;
  let flow: RangeFlow | undefined;
  const steer = () => {
    if (steering) steerFlow(merger, flow);
  };
  const undecodableAt = (partition: number, offset: bigint, err: unknown) => {
    undecodable++;
    if (firstUndecodable.length < 10) firstUndecodable.push({ partition, offset: offset.toString(), error: (err as Error).message });
  };
  const release = (p: Pending) => {
    let event = p.event;
    if (event === undefined) {
      try {
        event = decodeEventFast(p.value);
      } catch (err) {
        undecodableAt(p.partition, p.offset, err);
        return;
      }
    }
    consume({ time: p.time, partition: p.partition, offset: p.offset, sort: p.sort, event, position: { partition: p.partition, offset: p.offset.toString() }, timestamp: p.timestamp });
  };
  const range = await readRange(
    settings,
    spec,
    {
      begin(ranges) {
        merger = new TimeMerger<Pending>(
          ranges.map((r) => r.partition),
          release,
          { windowMs, maxBuffered },
        );
      },
      attach(f) {
        flow = f;
      },
      async batch(partition, messages) {
        const m = merger as TimeMerger<Pending>;
        for (const msg of messages) {
          if (msg.value === null) {
            skipped++;
            continue;
          }
          const peek = peekEvent(msg.value);
          if (peek) {
            m.push({ time: peek.time, partition, offset: msg.offset, sort: peek.sort, value: msg.value, timestamp: msg.timestamp });
            continue;
          }
          let event: LqEvent;
          try {
            event = decodeEventFast(msg.value);
          } catch (err) {
            undecodableAt(partition, msg.offset, err);
            continue;
          }
          m.push({ time: eventTime(event), partition, offset: msg.offset, sort: eventSort(event), value: msg.value, event, timestamp: msg.timestamp });
        }
        m.release();
        steer();
        await opts.afterBatch?.();
      },
      partitionDone(partition) {
        const m = merger as TimeMerger<Pending>;
        m.done(partition);
        m.release();
        steer();
      },
    },
    opts,
  );
  const m = merger as TimeMerger<Pending>;
  m.flush();
  const merge = m.stats();
  return { range, merge, peakBuffered: merge.maxBuffered, undecodable, firstUndecodable, skipped };
}
