// `lqr audit`: as-of queries, binding history export and integrity verification,
// answered from lq.events (src/audit).
import { createWriteStream, type WriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  AuditError,
  exportHistory,
  heldBy,
  intervalJson,
  intervalWriter,
  iso,
  parseAddressArg,
  parseDuration,
  parseInstant,
  parseLookback,
  parsePrefixArg,
  verifyRange,
  whoHeld,
  type AuditTarget,
  type EventRef,
  type FoldBasis,
  type HeldAnswer,
  type Interval,
  type Resource,
  type Selector,
  type VerifyResult,
  type WhoAnswer,
} from '../../audit/index.js';
import { KafkaLayerError, kafkaSettingsFromEnv, parseBrokerList, type KafkaSettings } from '../../kafka/index.js';
import { decodeOptions, dhcpTimeToIso, optionsToJson } from '../../protocol/index.js';
import { CliError } from '../errors.js';

export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  /** who/held: nothing held. */
  nothing: 3,
  /** verify: the chain is broken. */
  broken: 4,
  /** Reading stalled (no progress within --stall-timeout). */
  stalled: 5,
  /** The brokers did not answer, or Kafka failed. */
  kafka: 6,
  /** The topic does not exist. */
  topic: 7,
} as const;

const COMMON = `common options:
  --brokers HOST:PORT[,...]  Kafka bootstrap servers (default: KAFKA_BROKERS)
  --topic NAME               the events topic (default: KAFKA_EVENTS_TOPIC or lq.events)
  --sources-topic NAME       checkpoints with the chain heads (default: KAFKA_SOURCES_TOPIC or lq.sources)
  --json                     machine-readable output (one JSON document)
  --timeout MS               bound on reaching the brokers and each metadata call (default 15000)
  --stall-timeout MS         fail when reading makes no progress for this long (default 60000)
  --reorder-window MS        how far events of one partition may be out of time order (default 30000)
  -h, --help                 this help

instants: ISO 8601 with a zone (2024-11-01T03:14:00Z, 2024-11-01T04:14:00+01:00),
Unix milliseconds (1730430840000), or "now". Answers are in the connector clock
(receivedAt); each answer also gives the instant in the clock of the DHCPv6 server
whose report it rests on (connector clock minus that report's clockOffsetMs).`;

const USAGE = `usage: lqr audit <who|held|history|verify> [options]

  who      who held an address or prefix at an instant
  held     which addresses and prefixes a client, remote-id or relay-id held in a range
  history  every binding interval in a range, as NDJSON or CSV
  verify   prove that no event of a source was removed, altered or reordered

lqr audit who (--address ADDR | --prefix PREFIX/LEN) --at T [--lookback D|all] [--snapshot-dir DIR] [--decode-raw]
  An address inside a delegated prefix is held by that prefix's holder: the answer
  lists the address's own binding (exact) and every delegated prefix containing it
  (covering). A prefix query lists the same prefix (exact), shorter delegations
  containing it (covering) and longer prefixes and addresses inside it (contained).
  --lookback all (default) folds every event from the topic's start: exact. A
  duration (e.g. 7d) folds from T minus it: faster on a long topic, exact when no
  valid lifetime exceeds it (the answer says so).
  --snapshot-dir DIR (a replica's snapshots directory, DATA_DIR/snapshots) starts
  from the newest good snapshot there taken at or before T for this topic: its state,
  then only the events after its offsets. The answer names the snapshot (file, time,
  offsets); an interval already open in it starts at the report in force then (held
  at least since). No usable snapshot (corrupt, later than T, another topic): the
  look-back as above, and the answer says why each was passed over.
  --decode-raw shows each report's OPTION_CLIENT_DATA decoded.

lqr audit held (--client-id HEX | --remote-id EN:HEX | --relay-id HEX) --from T1 --to T2
                [--lookback D|all] [--all-partitions]
  A client-id query reads only the partition its DUID is keyed to (a takeover by a
  client in another partition is then not seen: --all-partitions reads them all).

lqr audit history [--from T1] [--to T2] [--format ndjson|csv] [--out FILE]
                  [--client-id HEX | --remote-id EN:HEX | --relay-id HEX] [--address A | --prefix P]
  Streams every interval overlapping [T1, T2] as it closes (constant memory), then
  the ones still open at T2 (close reason "open"). --to defaults to now. Columns: see
  src/audit/export.ts (resource, kind, prefix_length, client_id, link_address, start,
  start_ms, end, end_ms, close_reason, sources, valid_until, preferred_until,
  opened_source, opened_partition, opened_offset, opened_received_at,
  opened_base_time, opened_clock_offset_ms, latest_partition, latest_offset,
  closed_source, closed_partition, closed_offset, reassigned_to_client_id, relay_ids,
  remote_ids). A summary goes to standard error.

lqr audit verify [--from T1] [--to T2] [--source NAME]
  Checks every event's hash, that each event's prev is its predecessor's hash (seq
  contiguous, across partitions), that no partition holds a source's events out of
  order, and, when the range reaches the end of the topic, that the last event of
  each chain is the head committed in lq.sources. Without --from the chains are
  checked from their genesis. Reports the first break (source, seq, partition,
  offset, what is wrong).

${COMMON}

exit status:
  0  answered (verify: the chains are intact)
  1  internal error
  2  usage error (bad instant, address, option)
  3  who/held: nothing was held
  4  verify: a chain is broken
  5  reading stalled
  6  the brokers did not answer in time, or Kafka failed
  7  the topic does not exist`;

export interface AuditIo {
  stdout(text: string): void | Promise<void>;
  stderr(text: string): void;
  /** Open --out for writing. */
  openOut?(path: string): WriteStream;
  now?(): number;
  env?: NodeJS.ProcessEnv;
  /** The process is ours: end it shortly after the command even if a Kafka client lingers. */
  exitWhenDone?: boolean;
}

/** stdout with back-pressure; a closed pipe (`| head`) ends quietly. */
export function processIo(): AuditIo {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(ExitCode.ok);
    throw err;
  });
  return {
    stdout: (t) =>
      process.stdout.write(t) ? undefined : new Promise<void>((resolve) => process.stdout.once('drain', () => resolve())),
    stderr: (t) => void process.stderr.write(t),
    openOut: (path) => createWriteStream(path),
    exitWhenDone: true,
  };
}

/** Options every audit subcommand and replay share. */
export const commonOptions = {
  brokers: { type: 'string' },
  topic: { type: 'string' },
  'sources-topic': { type: 'string' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  'stall-timeout': { type: 'string' },
  'reorder-window': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface CommonValues {
  brokers?: string;
  topic?: string;
  'sources-topic'?: string;
  timeout?: string;
  'stall-timeout'?: string;
  'reorder-window'?: string;
}

export function kafkaOf(values: CommonValues, env: NodeJS.ProcessEnv, timeoutMs: number): KafkaSettings {
  try {
    return kafkaSettingsFromEnv(env, {
      ...(values.brokers !== undefined ? { brokers: parseBrokerList(values.brokers) } : {}),
      connectionTimeoutMs: Math.min(timeoutMs, 5_000),
      requestTimeoutMs: Math.max(timeoutMs, 1_000),
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message.replace('set KAFKA_BROKERS', 'give --brokers or set KAFKA_BROKERS')}`);
  }
}

export function targetOf(values: CommonValues, env: NodeJS.ProcessEnv): AuditTarget & { sourcesTopic: string } {
  const timeout = values.timeout !== undefined ? parseDuration(values.timeout, '--timeout') : 15_000;
  const kafka = kafkaOf(values, env, timeout);
  return {
    kafka,
    topic: values.topic ?? kafka.topics.events.name,
    sourcesTopic: values['sources-topic'] ?? kafka.topics.sources.name,
    read: {
      connectTimeoutMs: timeout,
      stallTimeoutMs: values['stall-timeout'] !== undefined ? parseDuration(values['stall-timeout'], '--stall-timeout') : 60_000,
      reorderWindowMs: values['reorder-window'] !== undefined ? parseDuration(values['reorder-window'], '--reorder-window') : undefined,
    },
  };
}

/** The exit status of an error (and the message to print). */
export function exitCodeOf(err: unknown): number {
  if (err instanceof AuditError) {
    switch (err.code) {
      case 'unreachable':
        return ExitCode.kafka;
      case 'stalled':
        return ExitCode.stalled;
      case 'topic':
        return ExitCode.topic;
      default:
        return ExitCode.usage;
    }
  }
  if (err instanceof KafkaLayerError) return ExitCode.kafka;
  if (err instanceof CliError) return err.exitCode;
  return ExitCode.internal;
}

function parseSelector(values: { 'client-id'?: string; 'remote-id'?: string; 'relay-id'?: string }, required: boolean): Selector | undefined {
  const given = (['client-id', 'remote-id', 'relay-id'] as const).filter((k) => values[k] !== undefined);
  if (given.length > 1) throw new CliError(`give one of --client-id, --remote-id, --relay-id (got ${given.map((g) => `--${g}`).join(', ')})`);
  if (given.length === 0) {
    if (required) throw new CliError('give one of --client-id HEX, --remote-id EN:HEX, --relay-id HEX');
    return undefined;
  }
  const hex = (text: string, flag: string) => {
    const clean = text.replace(/[:\s-]/g, '').replace(/^0x/i, '').toLowerCase();
    if (!/^([0-9a-f]{2})+$/.test(clean)) throw new CliError(`${flag} '${text}' is not hex bytes`);
    return clean;
  };
  if (values['client-id'] !== undefined) return { clientId: hex(values['client-id'], '--client-id') };
  if (values['relay-id'] !== undefined) return { relayId: hex(values['relay-id'], '--relay-id') };
  const text = values['remote-id'] as string;
  const m = /^(\d+):(.+)$/.exec(text);
  if (!m || Number(m[1]) > 0xffffffff) throw new CliError(`--remote-id '${text}' is not ENTERPRISE:HEX (e.g. 3561:0a0b0c)`);
  return { remoteId: { enterpriseNumber: Number(m[1]), id: hex(m[2], '--remote-id') } };
}

function parseResource(values: { address?: string; prefix?: string }, required: boolean): Resource | undefined {
  if (values.address !== undefined && values.prefix !== undefined) throw new CliError('give --address or --prefix, not both');
  if (values.address !== undefined) return parseAddressArg(values.address);
  if (values.prefix !== undefined) return parsePrefixArg(values.prefix);
  if (required) throw new CliError('give --address ADDR or --prefix PREFIX/LEN');
  return undefined;
}

// ---- presentation --------------------------------------------------------------------------

function refLine(label: string, r: EventRef): string {
  const base = r.baseTime === null ? '' : `  base time ${r.baseTime} (${dhcpTimeToIso(r.baseTime)} server clock)`;
  const seq = r.chainSeq === null ? '' : `  chain seq ${r.chainSeq}`;
  const what = r.type === 'source' ? ` ${r.kind}` : r.phase && r.phase !== 'live' ? ` (${r.phase})` : '';
  const where = r.snapshot !== undefined ? `partition ${r.partition} (from snapshot ${r.snapshot})` : `partition ${r.partition} offset ${r.offset}`;
  return `  ${label.padEnd(10)}${r.source}${what}  ${where}  received ${iso(r.receivedAt)}${base}${seq}`;
}

function decodedRaw(raw: string): unknown {
  try {
    return optionsToJson(decodeOptions(Buffer.from(raw, 'base64')));
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function basisLines(b: FoldBasis): string[] {
  const from = b.foldFrom === 'earliest' ? "the topic's start" : b.foldFrom;
  const used = b.snapshot?.used;
  const lines = [
    `basis: ${b.topic}, ${b.partitions.length} partition(s), folded from ${used ? `snapshot ${used.file} (${used.at})` : from} to ${b.foldTo}: ${b.records} record(s), ${b.events} event(s) in ${(b.elapsedMs / 1000).toFixed(1)} s; ${b.exact ? 'exact' : 'see caveats'}`,
  ];
  if (b.snapshot) {
    if (used) {
      lines.push(`snapshot: ${used.path}: ${used.bindings} binding(s), taken at ${used.at} (newest report ${used.newestReport ?? '-'}); read on from offsets ${Object.entries(used.offsets).map(([p, o]) => `${p}:${o}`).join(' ')}`);
    }
    for (const r of b.snapshot.rejected) lines.push(`snapshot: passed over ${r.file}: ${r.reason}`);
  }
  for (const c of b.caveats) lines.push(`caveat: ${c}`);
  return lines;
}

function intervalLines(iv: Interval, decode: boolean): string[] {
  const lines = [
    `  client    ${iv.clientId} on link ${iv.linkAddress}`,
    `  held      from ${iso(iv.start)} ${iv.end === null ? '(still held)' : `to ${iso(iv.end)} (${iv.closeReason}${iv.reassignedTo ? ` to ${iv.reassignedTo.clientId}` : ''})`}`,
    `  valid     until ${iv.validUntil === null ? 'infinity' : iso(iv.validUntil)}, preferred until ${iv.preferredUntil === null ? 'infinity' : iso(iv.preferredUntil)}`,
    `  sources   ${iv.sources.join(', ')}`,
  ];
  if (iv.remoteIds.length > 0 || iv.relayIds.length > 0) lines.push(`  relay     remote-id ${iv.remoteIds.join(', ') || '-'}; relay-id ${iv.relayIds.join(', ') || '-'}`);
  lines.push(refLine('opened by', iv.opened));
  if (iv.latest !== iv.opened) lines.push(refLine('in force', iv.latest));
  if (iv.closedBy) lines.push(refLine('closed by', iv.closedBy));
  if (iv.latest.raw !== undefined) {
    lines.push(`  raw       ${iv.latest.raw}`);
    if (decode) lines.push(`  decoded   ${JSON.stringify(decodedRaw(iv.latest.raw))}`);
  }
  return lines;
}

function whoText(a: WhoAnswer, decode: boolean): string {
  const out = [`who held ${a.resource} at ${a.atIso} (connector clock)`, ''];
  if (a.holders.length === 0) out.push(`nobody held ${a.resource} at ${a.atIso}`, '');
  for (const h of a.holders) {
    const what =
      h.match === 'exact'
        ? a.kind === 'address'
          ? 'the address itself'
          : 'the prefix itself'
        : h.match === 'covering'
          ? `delegated prefix covering the ${a.kind}`
          : `inside the prefix`;
    out.push(`${h.interval.resource} (${what})`, ...intervalLines(h.interval, decode));
    if (h.serverClock) {
      const skew = h.serverClock.clockOffsetMs;
      out.push(
        skew === 0
          ? `  clocks    ${h.serverClock.source}'s server clock agrees with the connector's`
          : `  clocks    in ${h.serverClock.source}'s server clock the instant is ${h.serverClock.iso} (DHCPv6 time ${h.serverClock.dhcpTime}; the server is ${Math.abs(skew)} ms ${skew > 0 ? 'behind' : 'ahead of'} the connector)`,
      );
    }
    out.push('');
  }
  out.push(...basisLines(a.basis));
  return `${out.join('\n')}\n`;
}

function whoJson(a: WhoAnswer, decode: boolean): unknown {
  return {
    resource: a.resource,
    kind: a.kind,
    at: a.atIso,
    atMs: a.at,
    holders: a.holders.map((h) => {
      const iv = intervalJson(h.interval);
      if (decode && h.interval.latest.raw !== undefined) (iv.latest as Record<string, unknown>).rawDecoded = decodedRaw(h.interval.latest.raw);
      return { match: h.match, ...iv, serverClock: h.serverClock };
    }),
    basis: a.basis,
  };
}

function heldText(a: HeldAnswer): string {
  const out = [`${a.selector} from ${a.fromIso} to ${a.toIso}: ${a.intervals.length} interval(s)`, ''];
  for (const iv of a.intervals) out.push(`${iv.resource}`, ...intervalLines(iv, false), '');
  out.push(...basisLines(a.basis));
  return `${out.join('\n')}\n`;
}

function verifyText(r: VerifyResult): string {
  const range = `${r.fromIso ?? "the topic's start"} to ${r.toIso ?? 'its end'}`;
  const out = [`verified ${r.topic} from ${range}: ${r.records} record(s), ${r.sources.length} source(s), in ${(r.elapsedMs / 1000).toFixed(1)} s`, ''];
  for (const s of r.sources) {
    const span = s.firstSeq === null ? 'no events' : `seq ${s.firstSeq}..${s.lastSeq}`;
    const from = s.fromGenesis ? 'from genesis' : s.anchor ? `from seq ${s.anchor.seq} (partition ${s.anchor.partition} offset ${s.anchor.offset})` : '';
    const head = s.headChecked ? (s.head && s.head.seq === s.lastSeq && s.head.hash === s.lastHash ? 'head matches lq.sources' : `head in lq.sources: seq ${s.head?.seq}`) : 'head not checked';
    out.push(`  ${s.source.padEnd(16)} ${String(s.events).padStart(9)} event(s)  ${span}  ${from}  ${head}${s.breaks ? `  ${s.breaks} break(s)` : ''}`);
  }
  out.push('');
  if (r.ok) out.push('OK: no event was removed, altered, duplicated or reordered in the range');
  else {
    const b = r.firstBreak;
    out.push(`BROKEN: ${r.breakCount} break(s). The first:`);
    if (b) out.push(`  ${b.kind}: source ${b.source ?? '?'}${b.seq !== null ? ` seq ${b.seq}` : ''}${b.partition !== null ? ` at partition ${b.partition} offset ${b.offset}` : ''}`, `  ${b.message}`);
    if (r.breaks.length > 1) {
      out.push('', 'further breaks:');
      for (const x of r.breaks.slice(1, 20)) out.push(`  ${x.kind}: ${x.source ?? '?'}${x.seq !== null ? ` seq ${x.seq}` : ''}${x.partition !== null ? ` p${x.partition}@${x.offset}` : ''}: ${x.message}`);
      if (r.breakCount > 20) out.push(`  ... ${r.breakCount - 20} more`);
    }
  }
  for (const c of r.caveats) out.push(`note: ${c}`);
  return `${out.join('\n')}\n`;
}

function json(v: unknown): string {
  return `${JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2)}\n`;
}

// ---- subcommands ---------------------------------------------------------------------------

function parse<T extends Record<string, { type: 'string' | 'boolean'; short?: string }>>(argv: string[], options: T, sub: string) {
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals: false, options: { ...commonOptions, ...options } }).values as Record<string, string | boolean | undefined>;
  } catch (e) {
    throw new CliError(`audit ${sub}: ${(e as Error).message}\n\n${USAGE}`);
  }
}

function instant(v: string | boolean | undefined, flag: string, now: () => number): number | undefined {
  return typeof v === 'string' ? parseInstant(v, flag, now) : undefined;
}

async function who(argv: string[], io: AuditIo, env: NodeJS.ProcessEnv, now: () => number): Promise<number> {
  const v = parse(argv, { address: { type: 'string' }, prefix: { type: 'string' }, at: { type: 'string' }, lookback: { type: 'string' }, 'snapshot-dir': { type: 'string' }, 'decode-raw': { type: 'boolean' } }, 'who');
  if (v.help) return help(io);
  const resource = parseResource(v as { address?: string; prefix?: string }, true) as Resource;
  const at = instant(v.at, '--at', now);
  if (at === undefined) throw new CliError('audit who: give --at T (the instant)');
  const lookback = typeof v.lookback === 'string' ? parseLookback(v.lookback) : 'all';
  const target = targetOf(v as CommonValues, env);
  const snapshotDir = typeof v['snapshot-dir'] === 'string' ? v['snapshot-dir'] : undefined;
  const answer = await whoHeld(target, { resource, at, lookback, snapshotDir });
  await io.stdout(v.json ? json(whoJson(answer, v['decode-raw'] === true)) : whoText(answer, v['decode-raw'] === true));
  return answer.holders.length > 0 ? ExitCode.ok : ExitCode.nothing;
}

async function held(argv: string[], io: AuditIo, env: NodeJS.ProcessEnv, now: () => number): Promise<number> {
  const v = parse(
    argv,
    { 'client-id': { type: 'string' }, 'remote-id': { type: 'string' }, 'relay-id': { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, lookback: { type: 'string' }, 'all-partitions': { type: 'boolean' } },
    'held',
  );
  if (v.help) return help(io);
  const selector = parseSelector(v as Record<string, string | undefined>, true) as Selector;
  const from = instant(v.from, '--from', now);
  const to = instant(v.to, '--to', now) ?? now();
  if (from === undefined) throw new CliError('audit held: give --from T1 (and --to T2, default now)');
  if (to < from) throw new CliError(`audit held: --to ${iso(to)} is before --from ${iso(from)}`);
  const lookback = typeof v.lookback === 'string' ? parseLookback(v.lookback) : 'all';
  const answer = await heldBy(targetOf(v as CommonValues, env), { selector, from, to, lookback, allPartitions: v['all-partitions'] === true });
  await io.stdout(v.json ? json({ selector: answer.selector, from: answer.fromIso, to: answer.toIso, partitions: answer.partitions, intervals: answer.intervals.map(intervalJson), basis: answer.basis }) : heldText(answer));
  return answer.intervals.length > 0 ? ExitCode.ok : ExitCode.nothing;
}

async function history(argv: string[], io: AuditIo, env: NodeJS.ProcessEnv, now: () => number): Promise<number> {
  const v = parse(
    argv,
    {
      from: { type: 'string' },
      to: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      lookback: { type: 'string' },
      'client-id': { type: 'string' },
      'remote-id': { type: 'string' },
      'relay-id': { type: 'string' },
      address: { type: 'string' },
      prefix: { type: 'string' },
    },
    'history',
  );
  if (v.help) return help(io);
  const format = (v.format ?? 'ndjson') as string;
  if (format !== 'ndjson' && format !== 'csv') throw new CliError(`audit history: --format is ndjson or csv, not '${format}'`);
  const from = instant(v.from, '--from', now);
  const to = instant(v.to, '--to', now) ?? now();
  if (from !== undefined && to < from) throw new CliError(`audit history: --to ${iso(to)} is before --from ${iso(from)}`);
  const selector = parseSelector(v as Record<string, string | undefined>, false);
  const resource = parseResource(v as { address?: string; prefix?: string }, false);
  const lookback = typeof v.lookback === 'string' ? parseLookback(v.lookback) : 'all';
  const target = targetOf(v as CommonValues, env);
  let file: WriteStream | undefined;
  let buffer = '';
  const write = (text: string) => {
    buffer += text;
  };
  const drain = async () => {
    const chunk = buffer;
    buffer = '';
    if (chunk.length === 0) return;
    if (file) {
      const f = file;
      if (!f.write(chunk)) await new Promise<void>((resolve) => f.once('drain', () => resolve()));
    } else {
      await io.stdout(chunk);
    }
  };
  if (typeof v.out === 'string') {
    if (!io.openOut) throw new CliError('audit history: --out is not available here');
    file = io.openOut(v.out);
    const f = file;
    await new Promise<void>((resolve, reject) => {
      f.once('open', () => resolve());
      f.once('error', (err) => reject(new CliError(`audit history: --out ${v.out}: ${err.message}`)));
    });
  }
  const w = intervalWriter(format, write);
  try {
    const summary = await exportHistory(target, { from, to, lookback, selector, resource }, w.write, drain);
    w.finish();
    await drain();
    const reasons = Object.entries(summary.byReason)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    if (v.json) io.stderr(json({ intervals: summary.intervals, open: summary.open, byReason: summary.byReason, from: iso(summary.from), to: iso(summary.to), basis: summary.basis }));
    else io.stderr(`exported ${summary.intervals} interval(s)${reasons ? ` (${reasons})` : ''} from ${from === undefined ? "the topic's start" : iso(from)} to ${iso(summary.to)}\n${basisLines(summary.basis).join('\n')}\n`);
  } finally {
    if (file) {
      const f = file;
      await new Promise<void>((resolve) => f.end(() => resolve()));
    }
  }
  return ExitCode.ok;
}

async function verify(argv: string[], io: AuditIo, env: NodeJS.ProcessEnv, now: () => number): Promise<number> {
  const v = parse(argv, { from: { type: 'string' }, to: { type: 'string' }, source: { type: 'string' }, 'no-heads': { type: 'boolean' } }, 'verify');
  if (v.help) return help(io);
  const from = instant(v.from, '--from', now);
  const to = instant(v.to, '--to', now);
  if (from !== undefined && to !== undefined && to < from) throw new CliError(`audit verify: --to ${iso(to)} is before --from ${iso(from)}`);
  const target = targetOf(v as CommonValues, env);
  const result = await verifyRange(
    { kafka: target.kafka, topic: target.topic, sourcesTopic: v['no-heads'] ? null : target.sourcesTopic, read: target.read },
    { from, to, source: typeof v.source === 'string' ? v.source : undefined },
  );
  await io.stdout(v.json ? json(result) : verifyText(result));
  return result.ok ? ExitCode.ok : ExitCode.broken;
}

function help(io: AuditIo): number {
  void io.stdout(`${USAGE}\n`);
  return ExitCode.ok;
}

export async function run(argv: string[], io: AuditIo = processIo()): Promise<number> {
  const [sub, ...rest] = argv;
  const env = io.env ?? process.env;
  const now = io.now ?? Date.now;
  const subs: Record<string, (a: string[], io: AuditIo, env: NodeJS.ProcessEnv, now: () => number) => Promise<number>> = { who, held, history, verify };
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    await io.stdout(`${USAGE}\n`);
    return sub ? ExitCode.ok : ExitCode.usage;
  }
  const fn = subs[sub];
  if (!fn) throw new CliError(`audit: unknown subcommand '${sub}'\n\n${USAGE}`);
  try {
    return await fn(rest, io, env, now);
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = exitCodeOf(err);
    if (code === ExitCode.internal) throw err;
    io.stderr(`lqr audit ${sub}: ${(err as Error).message}\n`);
    return code;
  } finally {
    exitSoon(io);
  }
}

/**
 * A Kafka client still retrying after a timeout keeps the event loop alive: once the
 * command is done, the process may wait a moment for clean closes, never longer.
 */
export function exitSoon(io: AuditIo): void {
  if (!io.exitWhenDone) return;
  setTimeout(() => process.exit(), 3_000).unref();
}
