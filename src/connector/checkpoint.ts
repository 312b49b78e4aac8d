// A source's checkpoint in lq.sources (compacted, key = source name): where its next
// session resumes, and the head of its integrity chain. Written in the same Kafka
// transaction as the events it covers (DESIGN.md "lq.sources"), so after any crash
// the checkpoint read back and the events committed agree.
import { z } from 'zod';
import { GENESIS_HASH, type ChainHead } from '../events/index.js';
import { readToEnd, type KafkaSettings } from '../kafka/index.js';
import type { Logger } from '../log.js';
import type { LearnedScopes } from './scopes.js';

export const CHECKPOINT_VERSION = 1 as const;

const hex = z.string().regex(/^[0-9a-f]*$/);

export const SourceCheckpointSchema = z
  .object({
    version: z.literal(CHECKPOINT_VERSION),
    source: z.string().min(1),
    /** OPTION_LQ_START_TIME of the next Active Leasequery: server clock, seconds since 2000-01-01; null = none yet. */
    resumePoint: z.number().int().min(0).max(0xffffffff).nullable(),
    /** Head of the source's integrity chain after the events this checkpoint covers. */
    chainHead: z.object({ seq: z.number().int().min(0), hash: hex.length(64) }).strict(),
    learnedScopes: z.object({ linkAddresses: z.array(z.string()), relayIds: z.array(hex) }).strict(),
    initialLoadDone: z.boolean(),
    /** The server DUID last seen (hex), for people reading the topic. */
    serverDuid: hex.nullable(),
    /** Connector clock, Unix ms. */
    updatedAt: z.number().int(),
  })
  .strict();
export type SourceCheckpoint = z.infer<typeof SourceCheckpointSchema>;

export function emptyCheckpoint(source: string): SourceCheckpoint {
  return {
    version: CHECKPOINT_VERSION,
    source,
    resumePoint: null,
    chainHead: { seq: 0, hash: GENESIS_HASH },
    learnedScopes: { linkAddresses: [], relayIds: [] },
    initialLoadDone: false,
    serverDuid: null,
    updatedAt: 0,
  };
}

export function encodeCheckpoint(cp: SourceCheckpoint): { key: string; value: Buffer } {
  return { key: cp.source, value: Buffer.from(JSON.stringify(cp)) };
}

export class CheckpointDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointDecodeError';
  }
}

export function decodeCheckpoint(key: string, value: Buffer): SourceCheckpoint {
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw new CheckpointDecodeError(`checkpoint of '${key}' is not JSON: ${(err as Error).message}`);
  }
  const r = SourceCheckpointSchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new CheckpointDecodeError(`checkpoint of '${key}' does not match version ${CHECKPOINT_VERSION}: ${issues}`);
  }
  if (r.data.source !== key) throw new CheckpointDecodeError(`checkpoint under key '${key}' names source '${r.data.source}'`);
  return r.data;
}

/** What the sessions and the publisher need from a checkpoint. */
export interface SourceStart {
  resumePoint: number | null;
  chainHead: ChainHead;
  learnedScopes: LearnedScopes;
  initialLoadDone: boolean;
  serverDuid: string | null;
}

/**
 * Where the connector reads its checkpoints from (Kafka in production, memory in unit
 * tests). `partitions`: only these partitions of lq.sources (sharing: the work slots
 * being started); the result may hold other sources too, callers look up theirs.
 */
export type CheckpointLoader = (opts?: { partitions?: number[] }) => Promise<Map<string, SourceCheckpoint>>;

/**
 * Every source's latest committed checkpoint: lq.sources read to its end offsets with
 * read_committed (an open transaction's checkpoint is not visible and not waited for;
 * the producer that owns our transactional id was initialized before this, which
 * resolved any transaction a previous instance left open). A null value (tombstone)
 * removes a source's checkpoint: its next session starts with an initial load.
 *
 * Sharing: a slot's checkpoints are alone in their partition and written only by that
 * slot's producer, which was initialized first, so no transaction is open there and
 * the partition's end offset is its high watermark: nothing committed is missed (a
 * read of the whole topic stops at the first transaction another instance has open).
 */
export function kafkaCheckpointLoader(settings: KafkaSettings, logger?: Logger): CheckpointLoader {
  return async (opts) => {
    const out = new Map<string, SourceCheckpoint>();
    const read = { topic: settings.topics.sources.name, isolation: 'read_committed' as const, logger, timeoutMs: 120_000, partitions: opts?.partitions };
    const t0 = Date.now();
    const r = await readToEnd(settings, read, (batch) => {
      for (const m of batch.messages) {
        if (!m.key) continue;
        const key = m.key.toString('utf8');
        if (m.value === null) out.delete(key);
        else out.set(key, decodeCheckpoint(key, m.value));
      }
    });
    logger?.info({ partitions: opts?.partitions ?? 'all', endOffsets: Object.fromEntries([...r.endOffsets].map(([p, o]) => [p, o.toString()])), records: r.records, checkpoints: out.size, ms: Date.now() - t0 }, 'checkpoints read');
    return out;
  };
}
