// Snapshot files of the lease tables (DESIGN.md "Projection and responder": a restart
// loads the newest snapshot and consumes only the tail of lq.events).
//
// Format, version 2 (all integers little-endian; version 1 had no Kafka offset in the
// packed states and is ignored, so the replica rebuilds from lq.events):
//
//   header   "LQRPSNAP" u32 version u32 reserved(0)
//   records  u8 tag, then the record:
//     META      f64 seq (the change sequence)  f64 createdAt (view clock, ms)
//               u32 bindings  u32 resources  u32 addresses (sizes, to pre-size the tables)
//     OFFSET    str topic  u32 partition  str offset      (the Kafka offsets covered)
//     POSITION  i32 partition  str offset                  (last applied, per partition)
//     SOURCE    str name  u8 hasDuid  str serverDuid(hex)  (ids = order of appearance)
//     LINK      16 bytes                                    (ids = order of appearance)
//     TEMPLATE  u32 id  str relay chain JSON (shared part, relay.ts)
//     RESYNC    u16 source  str resyncId  f64 at  str scope JSON ('' = none)
//     BINDING   u32 link  f64 seq  u16 n  n packed states (state.ts), winner first
//     END       u32 bindings
//   trailer  "LQRPEND!" u64 length of header + records, then SHA-256 of header + records
//
// str = u32 byte length + UTF-8. The writer streams fixed-size chunks to the file while
// hashing them, so a million bindings never become one giant string or buffer. The
// reader verifies magic, version, trailer and checksum before decoding a single record,
// and decodes into fresh tables: a bad file never reaches the live ones.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fsync, openSync, writeSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { BulkScope, RelayData } from '../events/model.js';
import { SnapshotError } from './errors.js';
import { compareAcrossSources } from './order.js';
import { pack, readPacked, type SourceState } from './state.js';
import type { LeaseTables } from './tables.js';

export const SNAPSHOT_VERSION = 2;
const MAGIC = Buffer.from('LQRPSNAP', 'latin1');
const END_MAGIC = Buffer.from('LQRPEND!', 'latin1');
const HEADER = 16;
const TRAILER = 8 + 8 + 32;
const CHUNK = 1 << 20;

const enum Tag {
  META = 1,
  OFFSET = 2,
  POSITION = 3,
  SOURCE = 4,
  LINK = 5,
  TEMPLATE = 6,
  RESYNC = 7,
  BINDING = 8,
  END = 9,
}

/** A Kafka position the snapshot covers: the consumer resumes from these. */
export interface SnapshotOffset {
  topic: string;
  partition: number;
  offset: string;
}

export interface SnapshotInfo {
  path: string;
  bytes: number;
  bindings: number;
}

/** Buffered, hashing writer over a file descriptor (synchronous writes, see writeSnapshot). */
class ChunkWriter {
  buf = Buffer.allocUnsafe(CHUNK);
  pos = 0;
  total = 0;
  constructor(
    private readonly fd: number,
    private readonly hash: Hash,
  ) {}

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }

  flush(): void {
    if (this.pos === 0) return;
    const chunk = this.buf.subarray(0, this.pos);
    this.hash.update(chunk);
    for (let off = 0; off < chunk.length; ) off += writeSync(this.fd, chunk, off);
    this.total += this.pos;
    this.pos = 0;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeUInt16LE(v, this.pos);
  }
  u32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeUInt32LE(v, this.pos);
  }
  i32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeInt32LE(v, this.pos);
  }
  f64(v: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }
  str(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.ensure(4 + n);
    this.pos = this.buf.writeUInt32LE(n, this.pos);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }
  raw(b: Buffer): void {
    this.ensure(b.length);
    this.pos += b.copy(this.buf, this.pos);
  }
  latin1(s: string): void {
    this.ensure(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }
  winner(t: LeaseTables, b: number): void {
    this.ensure(t.packedWinnerSize(b));
    this.pos = t.writeWinner(b, this.buf, this.pos);
  }
}

function encode(t: LeaseTables, offsets: readonly SnapshotOffset[], createdAt: number, w: ChunkWriter): number {
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(SNAPSHOT_VERSION, 8);
  w.raw(header);
  w.u8(Tag.META);
  w.f64(t.seq);
  w.f64(createdAt);
  w.u32(t.count);
  w.u32(t.resources.count);
  w.u32(t.resources.addressCount);
  for (const o of offsets) {
    w.u8(Tag.OFFSET);
    w.str(o.topic);
    w.u32(o.partition);
    w.str(String(o.offset));
  }
  for (const [p, o] of t.positions) {
    w.u8(Tag.POSITION);
    w.i32(p);
    w.str(o.toString());
  }
  for (const s of t.sources.list) {
    w.u8(Tag.SOURCE);
    w.str(s.name);
    w.u8(s.serverDuid === null ? 0 : 1);
    w.str(s.serverDuid ?? '');
  }
  for (const l of t.links.list) {
    w.u8(Tag.LINK);
    w.raw(l.address);
  }
  for (const tm of t.templates.all()) {
    w.u8(Tag.TEMPLATE);
    w.u32(tm.id);
    w.str(JSON.stringify(tm.spec));
  }
  for (const r of t.resyncs.values()) {
    w.u8(Tag.RESYNC);
    w.u16(r.source);
    w.str(r.resyncId);
    w.f64(r.at);
    w.str(r.scope ? JSON.stringify(r.scope) : '');
  }
  let bindings = 0;
  for (let b = 0; b < t.slots; b++) {
    if (!t.inUse(b)) continue;
    const others = t.others.get(b);
    w.u8(Tag.BINDING);
    w.u32(t.link[b]);
    w.f64(t.seqs[b]);
    w.u16(1 + (others === undefined ? 0 : typeof others === 'string' ? 1 : others.length));
    w.winner(t, b);
    // Other sources' states are kept packed in the same layout, template ids included.
    if (others !== undefined) for (const p of typeof others === 'string' ? [others] : others) w.latin1(p);
    bindings++;
  }
  w.u8(Tag.END);
  w.u32(bindings);
  return bindings;
}

const fsyncAsync = promisify(fsync);

/** Writes a snapshot of `t` to `path` atomically (temp file, fsync, rename, fsync dir). */
export async function writeSnapshot(t: LeaseTables, path: string, offsets: readonly SnapshotOffset[], createdAt: number): Promise<SnapshotInfo> {
  const tmp = `${path}.tmp-${process.pid}`;
  let fd = -1;
  try {
    fd = openSync(tmp, 'w', 0o644);
    const hash = createHash('sha256');
    const w = new ChunkWriter(fd, hash);
    const bindings = encode(t, offsets, createdAt, w);
    w.flush();
    const trailer = Buffer.alloc(TRAILER);
    END_MAGIC.copy(trailer, 0);
    trailer.writeBigUInt64LE(BigInt(w.total), 8);
    hash.digest().copy(trailer, 16);
    for (let off = 0; off < trailer.length; ) off += writeSync(fd, trailer, off);
    await fsyncAsync(fd);
    closeSync(fd);
    fd = -1;
    await rename(tmp, path);
    await fsyncDirectory(dirname(path));
    return { path, bytes: w.total + TRAILER, bindings };
  } catch (err) {
    if (fd >= 0) closeSync(fd);
    await unlink(tmp).catch(() => {});
    throw new SnapshotError('io', path, `cannot write: ${(err as Error).message}`);
  }
}

/** Makes a rename durable (POSIX: the directory entry is data of the directory). */
export async function fsyncDirectory(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } catch (err) {
    // Some filesystems refuse fsync on a directory (EINVAL/EISDIR); the rename stands.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw err;
  } finally {
    await h.close();
  }
}

/** Bounds-checked reader over a verified snapshot body. */
class Reader {
  pos = HEADER;
  constructor(
    readonly buf: Buffer,
    readonly end: number,
  ) {}
  need(n: number): void {
    if (this.pos + n > this.end) throw new RangeError(`record at offset ${this.pos} needs ${n} bytes, ${this.end - this.pos} remain`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  str(): string {
    const n = this.u32();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

/** Reads and verifies `path`, and decodes it into fresh tables made by `make`. */
export async function loadTables(path: string, make: () => LeaseTables): Promise<{ tables: LeaseTables; offsets: SnapshotOffset[] }> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new SnapshotError('io', path, `cannot read: ${(err as Error).message}`);
  }
  const head = Math.min(buf.length, MAGIC.length);
  if (head === 0 || !buf.subarray(0, head).equals(MAGIC.subarray(0, head))) throw new SnapshotError('magic', path, 'not a projection snapshot (bad magic)');
  if (buf.length < HEADER + TRAILER) throw new SnapshotError('truncated', path, `${buf.length} bytes: shorter than an empty snapshot`);
  const version = buf.readUInt32LE(8);
  if (version !== SNAPSHOT_VERSION) throw new SnapshotError('version', path, `format version ${version}, this build reads version ${SNAPSHOT_VERSION}`);
  const end = buf.length - TRAILER;
  if (end < HEADER || !buf.subarray(end, end + 8).equals(END_MAGIC) || buf.readBigUInt64LE(end + 8) !== BigInt(end)) {
    throw new SnapshotError('truncated', path, `${buf.length} bytes without a valid trailer: the file was cut short or its end is damaged`);
  }
  const digest = createHash('sha256').update(buf.subarray(0, end)).digest();
  if (!digest.equals(buf.subarray(end + 16))) throw new SnapshotError('checksum', path, 'SHA-256 mismatch: the file is corrupt');
  try {
    return decode(new Reader(buf, end), make);
  } catch (err) {
    if (err instanceof SnapshotError) throw err;
    throw new SnapshotError('format', path, `undecodable although its checksum matches: ${(err as Error).message}`);
  }
}

function decode(r: Reader, make: () => LeaseTables): { tables: LeaseTables; offsets: SnapshotOffset[] } {
  const t = make();
  const offsets: SnapshotOffset[] = [];
  const templateIds = new Map<number, number>();
  const mapTemplate = (id: number): number => {
    if (id === 0) return 0;
    const m = templateIds.get(id);
    if (m === undefined) throw new RangeError(`state refers to unknown relay template ${id}`);
    return m;
  };
  let bindings = 0;
  for (;;) {
    const tag = r.u8();
    switch (tag) {
      case Tag.META: {
        t.seq = r.f64();
        r.f64();
        const bindings = r.u32();
        const resources = r.u32();
        const addresses = r.u32();
        // Sizes from a file that passed its checksum; bounded all the same.
        if (bindings > 1 << 27 || resources > 1 << 28 || addresses > resources) throw new RangeError(`implausible sizes ${bindings}/${resources}/${addresses}`);
        t.reserve(bindings, resources, addresses);
        break;
      }
      case Tag.OFFSET:
        offsets.push({ topic: r.str(), partition: r.u32(), offset: r.str() });
        break;
      case Tag.POSITION: {
        const p = r.i32();
        t.positions.set(p, BigInt(r.str()));
        break;
      }
      case Tag.SOURCE: {
        const name = r.str();
        const hasDuid = r.u8();
        const duid = r.str();
        t.sources.intern(name, hasDuid ? duid : null);
        break;
      }
      case Tag.LINK:
        t.links.internKey(r.bytes(16).toString('latin1'));
        break;
      case Tag.TEMPLATE: {
        const id = r.u32();
        templateIds.set(id, t.templates.intern(RelayData.parse(JSON.parse(r.str()))));
        break;
      }
      case Tag.RESYNC: {
        const source = r.u16();
        const resyncId = r.str();
        const at = r.f64();
        const scopeText = r.str();
        if (source >= t.sources.size) throw new RangeError(`resync of unknown source ${source}`);
        const scope = scopeText === '' ? undefined : BulkScope.parse(JSON.parse(scopeText));
        t.resyncs.set(`${source}\u0000${resyncId}`, { source, resyncId, at, scope });
        break;
      }
      case Tag.BINDING: {
        const link = r.u32();
        const seq = r.f64();
        const n = r.u16();
        if (link >= t.links.list.length) throw new RangeError(`binding on unknown link ${link}`);
        if (n === 0) throw new RangeError('binding without a state');
        const states: SourceState[] = [];
        for (let i = 0; i < n; i++) {
          const { state, end } = readPacked(r.buf.subarray(0, r.end), r.pos, mapTemplate);
          if (state.source >= t.sources.size) throw new RangeError(`state of unknown source ${state.source}`);
          states.push(state);
          r.pos = end;
        }
        let best = 0;
        for (let i = 1; i < n; i++) if (compareAcrossSources(states[i], states[best], t.sources) > 0) best = i;
        const b = t.createBinding(states[best].blob, t.links.list[link]);
        t.setWinner(b, states[best]);
        if (n > 1) t.setOthers(b, states.filter((_, i) => i !== best).map(pack));
        t.seqs[b] = seq;
        bindings++;
        break;
      }
      case Tag.END: {
        const count = r.u32();
        if (count !== bindings) throw new RangeError(`END says ${count} bindings, ${bindings} were read`);
        if (r.pos !== r.end) throw new RangeError(`${r.end - r.pos} bytes after END`);
        for (const id of templateIds.values()) t.templates.dropIfUnused(id); // listed but used by no state
        t.touched.clear(); // a load is not a change
        return { tables: t, offsets };
      }
      default:
        throw new RangeError(`unknown record tag ${tag} at offset ${r.pos - 1}`);
    }
  }
}

