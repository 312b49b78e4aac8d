// Saving and loading a lab server's database (NDJSON: one header line, then one line per
// binding record, then one per history entry), so `lqr lab --state FILE` restarts with
// its bindings, its change history (catch-up still works across the restart) and its
// workload's PRNG state (the sequence continues exactly).
import { createReadStream, createWriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { LeaseDb, LeaseRecord } from './db.js';
import { addressKey, keyToAddress } from './keys.js';
import type { TopologyConfig } from './topology.js';

export const STATE_VERSION = 1;

export interface StateHeader {
  type: 'lab-state';
  version: number;
  topology: TopologyConfig;
  serverDuid: string;
  createdAt: number;
  horizon: number;
  seq: number;
  lastStamp: number;
  workload: { rng: number; ops: number };
  savedAt: number;
}

interface RecordLine {
  type: 'r' | 'h';
  c: number;
  l: number;
  a: string | null;
  p: string | null;
  pl: number;
  pu: number;
  vu: number;
  t: number;
  ch: number;
  s: number;
}

function toLine(type: 'r' | 'h', r: LeaseRecord): string {
  const line: RecordLine = {
    type,
    c: r.client,
    l: r.link,
    a: r.addr === null ? null : keyToAddress(r.addr).toString('hex'),
    p: r.prefix === null ? null : keyToAddress(r.prefix).toString('hex'),
    pl: r.prefixLength,
    pu: r.preferredUntil,
    vu: r.validUntil,
    t: r.lastTransactionAt,
    ch: r.changedAt,
    s: r.seq,
  };
  return JSON.stringify(line);
}

function fromLine(db: LeaseDb, l: RecordLine): LeaseRecord {
  return {
    key: db.keyOf(l.c, l.l),
    client: l.c,
    link: l.l,
    addr: l.a === null ? null : addressKey(Buffer.from(l.a, 'hex')),
    prefix: l.p === null ? null : addressKey(Buffer.from(l.p, 'hex')),
    prefixLength: l.pl,
    preferredUntil: l.pu,
    validUntil: l.vu,
    lastTransactionAt: l.t,
    changedAt: l.ch,
    seq: l.s,
  };
}

/** Write the database to `file` (via a temporary file and a rename: never a half-written state). */
export async function saveState(file: string, db: LeaseDb, header: Omit<StateHeader, 'type' | 'version' | 'createdAt' | 'horizon' | 'seq' | 'lastStamp' | 'savedAt'>): Promise<void> {
  const meta = db.exportState();
  const tmp = `${file}.tmp-${process.pid}`;
  const out = createWriteStream(tmp);
  const write = async (s: string): Promise<void> => {
    if (!out.write(s + '\n')) await once(out, 'drain');
  };
  const h: StateHeader = { type: 'lab-state', version: STATE_VERSION, ...header, createdAt: meta.createdAt, horizon: meta.horizon, seq: meta.seq, lastStamp: meta.lastStamp, savedAt: db.now() };
  await write(JSON.stringify(h));
  for (const r of db.allRecords()) await write(toLine('r', r));
  for (const r of meta.history) await write(toLine('h', r));
  out.end();
  await once(out, 'close');
  await rename(tmp, file);
}

/** Read the header of a state file (to build a database with the same topology). */
export async function readStateHeader(file: string): Promise<StateHeader> {
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    rl.close();
    const h = JSON.parse(line) as StateHeader;
    if (h.type !== 'lab-state' || h.version !== STATE_VERSION) throw new Error(`${file} is not a lab state file of version ${STATE_VERSION}`);
    return h;
  }
  throw new Error(`${file} is empty`);
}

/** Load records and history from `file` into an empty database built from its header. */
export async function loadState(file: string, db: LeaseDb): Promise<StateHeader> {
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let header: StateHeader | undefined;
  const history: LeaseRecord[] = [];
  let n = 0;
  for await (const line of rl) {
    n++;
    if (!line) continue;
    if (!header) {
      header = JSON.parse(line) as StateHeader;
      if (header.type !== 'lab-state' || header.version !== STATE_VERSION) throw new Error(`${file} is not a lab state file of version ${STATE_VERSION}`);
      continue;
    }
    let l: RecordLine;
    try {
      l = JSON.parse(line) as RecordLine;
    } catch (err) {
      throw new Error(`${file} line ${n}: ${(err as Error).message}`);
    }
    if (l.type === 'r') db.restoreRecord(fromLine(db, l));
    else if (l.type === 'h') history.push(fromLine(db, l));
  }
  if (!header) throw new Error(`${file} is empty`);
  db.restoreMeta({ createdAt: header.createdAt, horizon: header.horizon, seq: header.seq, lastStamp: header.lastStamp, history });
  return header;
}
