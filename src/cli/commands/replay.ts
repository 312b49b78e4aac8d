// `lqr replay`: re-emit a time range of lq.events to standard output (NDJSON) or to
// another topic (transactional), for rebuilding downstream systems (src/audit/replay.ts).
import { parseArgs } from 'node:util';
import { iso, parseInstant, replayRange } from '../../audit/index.js';
import { CliError } from '../errors.js';
import { ExitCode, commonOptions, exitCodeOf, exitSoon, processIo, targetOf, type AuditIo, type CommonValues } from './audit.js';

const USAGE = `usage: lqr replay [--from T1] [--to T2] [--to-topic TOPIC] [--source NAME] [--type binding|source]

Re-emits the events of lq.events whose record time is in [T1, T2] (default: all).

  --to-topic TOPIC        write them to TOPIC (created with the source topic's partition
                          count if missing) in transactions, keeping each record's key,
                          headers, timestamp and - with the same partition count - its
                          partition; without it, print them as NDJSON (one event per line,
                          the record value as written), in record-time order
  --source NAME           only events of this source (DHCPv6 server)
  --type binding|source   only binding events, or only source (session) events
  --transactional-id ID   the producer's transactional id (default: lqr-replay-<random>)
  --records-per-transaction N   (default 5000)
  --brokers, --topic, --json, --timeout, --stall-timeout: as for lqr audit

A replay that fails part-way leaves the transactions it committed; running it again
writes them again.

exit status: 0 done, 1 internal error, 2 usage error, 5 reading stalled, 6 Kafka
failed or did not answer in time, 7 the topic does not exist`;

export async function run(argv: string[], io: AuditIo = processIo()): Promise<number> {
  let v: Record<string, string | boolean | undefined>;
  try {
    v = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        ...commonOptions,
        from: { type: 'string' },
        to: { type: 'string' },
        'to-topic': { type: 'string' },
        source: { type: 'string' },
        type: { type: 'string' },
        'transactional-id': { type: 'string' },
        'records-per-transaction': { type: 'string' },
      },
    }).values as Record<string, string | boolean | undefined>;
  } catch (e) {
    throw new CliError(`replay: ${(e as Error).message}\n\n${USAGE}`);
  }
  if (v.help) {
    await io.stdout(`${USAGE}\n`);
    return ExitCode.ok;
  }
  const now = io.now ?? Date.now;
  const env = io.env ?? process.env;
  const from = typeof v.from === 'string' ? parseInstant(v.from, '--from', now) : undefined;
  const to = typeof v.to === 'string' ? parseInstant(v.to, '--to', now) : undefined;
  if (from !== undefined && to !== undefined && to < from) throw new CliError(`replay: --to ${iso(to)} is before --from ${iso(from)}`);
  const type = v.type;
  if (type !== undefined && type !== 'binding' && type !== 'source') throw new CliError(`replay: --type is binding or source, not '${String(type)}'`);
  const perTx = typeof v['records-per-transaction'] === 'string' ? Number(v['records-per-transaction']) : undefined;
  if (perTx !== undefined && (!Number.isInteger(perTx) || perTx < 1)) throw new CliError('replay: --records-per-transaction is a positive integer');
  const target = targetOf(v as CommonValues, env);
  const query = { from, to, source: typeof v.source === 'string' ? v.source : undefined, type: type as 'binding' | 'source' | undefined };
  try {
    const sink =
      typeof v['to-topic'] === 'string'
        ? { kind: 'topic' as const, topic: v['to-topic'], transactionalId: typeof v['transactional-id'] === 'string' ? v['transactional-id'] : undefined, recordsPerTransaction: perTx }
        : { kind: 'lines' as const, write: (line: string) => io.stdout(line) };
    const r = await replayRange({ kafka: target.kafka, topic: target.topic, read: target.read }, query, sink);
    const where = sink.kind === 'topic' ? `to "${sink.topic}" in ${r.transactions} transaction(s)${r.partitionsPreserved ? ', partitions kept' : ', partitioned by key'}` : 'to standard output';
    if (v.json) io.stderr(`${JSON.stringify({ records: r.records, emitted: r.emitted, filtered: r.filtered, transactions: r.transactions, partitionsPreserved: r.partitionsPreserved, elapsedMs: r.elapsedMs })}\n`);
    else io.stderr(`replayed ${r.emitted} of ${r.records} record(s) from "${target.topic}" ${where} in ${(r.elapsedMs / 1000).toFixed(1)} s${r.filtered ? ` (${r.filtered} filtered out)` : ''}\n`);
    return ExitCode.ok;
  } catch (err) {
    const code = exitCodeOf(err);
    if (code === ExitCode.internal) throw err;
    io.stderr(`lqr replay: ${(err as Error).message}\n`);
    return code;
  } finally {
    exitSoon(io);
  }
}
