// Active Leasequery catch-up from Kafka (RFC 7653 section 9.2: "every change since
// OPTION_LQ_START_TIME"). The replica keeps only current state in memory; its history
// is lq.events itself. For a start time T we read the topic from the offsets of the
// first records at or after T - margin up to the end observed now, collect the
// bindings (client, link) those records touched, and report each one's CURRENT state
// from the live projection. RFC 7653 requires only the current state of each changed
// binding, the engine coalesces by key anyway, and taking the state from the
// projection (rather than re-folding old events in a scratch projection) gives the
// answer the projection's own merge rules give: several sources, stale reports and
// releases (tombstones) are resolved exactly as in a live lookup.
//
// Record timestamps are the connector's produce time, a little after the event's
// receivedAt (the view clock): the margin covers that lag; extra bindings are harmless
// (the engine filters on changedAt and sends states, not deltas).
import { KafkaAdmin, readToEnd, type KafkaSettings } from '../kafka/index.js';
import { HistoryGapError, type Binding, type BindingChange, type HistoryResult } from '../leasequery/view.js';
import { parseIPv6 } from '../protocol/index.js';
import type { Projection } from '../projection/index.js';
import { decodeEventFast } from '../projection/index.js';
import { silentLogger, type Logger } from '../log.js';

export interface KafkaHistoryOptions {
  settings: KafkaSettings;
  topic: string;
  /** How far before the start time reading begins (record timestamps lag receivedAt). Default 60 s. */
  marginMs?: number;
  logger?: Logger;
}

/** Builds the projection's `history(sinceMs)` provider. `projection` is read lazily (it is created after the provider). */
export function kafkaHistory(opts: KafkaHistoryOptions, projection: () => Projection): (sinceMs: number) => HistoryResult {
  const margin = opts.marginMs ?? 60_000;
  const log = opts.logger ?? silentLogger;
  return (sinceMs) => ({ available: true, changes: changesSince(opts, projection, sinceMs, margin, log) });
}

async function* changesSince(opts: KafkaHistoryOptions, projection: () => Projection, sinceMs: number, margin: number, log: Logger): AsyncGenerator<BindingChange> {
  const from = Math.max(0, sinceMs - margin);
  // A partition whose retained log begins at or after `from`, having lost records
  // before it, cannot prove it holds every change since `from`: that is a gap.
  const admin = await KafkaAdmin.connect(opts.settings, { logger: log });
  try {
    const [offsets, byTime] = await Promise.all([admin.topicOffsets(opts.topic), admin.offsetsForTimestamp(opts.topic, from)]);
    for (const o of offsets) {
      const first = byTime.get(o.partition);
      if (o.earliest > 0n && first !== undefined && first <= o.earliest && o.end > o.earliest) {
        throw new HistoryGapError(`lq.events partition ${o.partition} starts at offset ${o.earliest} (older records deleted by retention): no complete history since ${new Date(sinceMs).toISOString()}`);
      }
    }
  } finally {
    await admin.close().catch(() => undefined);
  }
  const touched = new Map<string, { clientId: string; link: string }>();
  let skipped = 0;
  await readToEnd(opts.settings, { topic: opts.topic, from: { timestamp: from }, logger: log }, (batch) => {
    for (const m of batch.messages) {
      if (!m.value) continue;
      try {
        const e = decodeEventFast(m.value);
        if (e.type === 'binding') touched.set(`${e.clientId}|${e.linkAddress}`, { clientId: e.clientId, link: e.linkAddress });
      } catch {
        skipped++;
      }
    }
  });
  if (skipped > 0) log.warn({ skipped, sinceMs }, 'catch-up history: records that are not valid events were skipped');
  const p = projection();
  for (const { clientId, link } of touched.values()) {
    const found: readonly Binding[] = p.byClientId(Buffer.from(clientId, 'hex'), parseIPv6(link));
    for (const b of found) if (b.changedAt >= sinceMs) yield b;
  }
}
