// Codec fuzzer (`npm run fuzz [-- --count N --seed S]`): seeded, reproducible mutations
// of valid encodings (bit flips, byte changes, truncation, extension, length-field
// tampering, splicing, range deletion and duplication) plus random bytes. Every input
// must decode to a message that re-encodes to the same bytes, or throw DecodeError;
// anything else prints the input and exits 1. Then random chunkings of framed streams
// through FrameDecoder. Prints one JSON summary line.
import { parseArgs } from 'node:util';
import { DecodeError, decodeMessage, encodeMessage, FrameDecoder, frameMessage, messageToJson } from '../src/protocol/index.js';
import { realisticLeasequeryData, sampleMessages } from './codec-samples.js';
import { emit, nowMs } from './lib.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '1000000' }, seed: { type: 'string', default: '1' } } });
const COUNT = Number(values.count);
const SEED = Number(values.seed);
if (!Number.isSafeInteger(COUNT) || COUNT < 0 || !Number.isSafeInteger(SEED)) throw new Error('--count and --seed take integers');

/** sfc32: a small, fast, seedable PRNG (reproducible runs: same seed, same inputs). */
function prng(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 16; i++) next();
  return next;
}
const rand = prng(SEED);
const below = (n: number): number => (n <= 0 ? 0 : rand() % n);
const randomBytes = (n: number): Buffer => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = rand() & 0xff;
  return b;
};

// ---- the corpus and where its length fields are

/** Offsets of every option-length field in a valid encoding, found by walking it. */
function lengthFields(buf: Buffer): number[] {
  const out: number[] = [];
  // Bytes of fixed fields before the nested options of each container option.
  const nestedAfter: Record<number, number> = { 3: 12, 25: 12, 5: 24, 26: 25, 44: 17, 45: 0 };
  const message = (s: number, e: number): void => options(s + (buf[s] === 12 || buf[s] === 13 ? 34 : 4), e);
  const options = (s: number, e: number): void => {
    for (let off = s; off + 4 <= e; ) {
      const code = buf.readUInt16BE(off);
      const end = off + 4 + buf.readUInt16BE(off + 2);
      out.push(off + 2);
      if (code in nestedAfter) options(off + 4 + nestedAfter[code], end);
      else if (code === 9) message(off + 4, end);
      else if (code === 47) message(off + 20, end);
      off = end;
    }
  };
  message(0, buf.length);
  return out;
}

const corpus = [realisticLeasequeryData(), ...sampleMessages()].map((m) => {
  const bytes = encodeMessage(m);
  return { bytes, lengths: lengthFields(bytes) };
});

// ---- mutations

const INTERESTING_U16 = [0, 1, 2, 3, 4, 15, 16, 17, 23, 24, 25, 33, 34, 49, 50, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xfffe, 0xffff];

function mutateOnce(input: Buffer, lengths: number[]): Buffer {
  const b = Buffer.from(input);
  const n = b.length;
  switch (below(10)) {
    case 0: // bit flip
      if (n) b[below(n)] ^= 1 << below(8);
      return b;
    case 1: // byte change
      if (n) b[below(n)] = below(4) === 0 ? [0, 0xff, 0x7f, 0x80, 12, 13][below(6)] : rand() & 0xff;
      return b;
    case 2: // truncation
      return b.subarray(0, below(n + 1));
    case 3: // extension
      return Buffer.concat([b, randomBytes(1 + below(16))]);
    case 4: {
      // length-field tampering: a real option length (or any 16-bit spot)
      const at = lengths.length && below(4) ? lengths[below(lengths.length)] : below(n);
      if (at + 2 > n) return b;
      const old = b.readUInt16BE(at);
      const choice = below(4);
      const v = choice === 0 ? rand() & 0xffff : choice === 1 ? old + below(9) - 4 : choice === 2 ? n - at - 2 + below(5) - 2 : INTERESTING_U16[below(INTERESTING_U16.length)];
      b.writeUInt16BE(v & 0xffff, at);
      return b;
    }
    case 5: {
      // splice: the head of this input with the tail of another
      const other = corpus[below(corpus.length)].bytes;
      return Buffer.concat([b.subarray(0, below(n + 1)), other.subarray(below(other.length + 1))]);
    }
    case 6: {
      // insert a chunk of another input (often a whole option) at a random place
      const other = corpus[below(corpus.length)];
      const from = other.lengths.length ? other.lengths[below(other.lengths.length)] - 2 : 0;
      const chunk = other.bytes.subarray(from, from + 4 + below(40));
      const at = below(n + 1);
      return Buffer.concat([b.subarray(0, at), chunk, b.subarray(at)]);
    }
    case 7: {
      // delete a range
      const at = below(n + 1);
      return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(n, at + 1 + below(24)))]);
    }
    case 8: {
      // wrap in 1-20 RELAY-FORW + RELAY_MSG layers (deep but valid, or too deep)
      let inner = b;
      for (let k = 1 + below(20); k > 0 && inner.length <= 0xffff - 38; k--) {
        const head = Buffer.alloc(38);
        head[0] = 12;
        head.writeUInt16BE(9, 34);
        head.writeUInt16BE(inner.length, 36);
        inner = Buffer.concat([head, inner]);
      }
      return inner;
    }
    default: {
      // duplicate a range
      const at = below(n + 1);
      const piece = b.subarray(at, at + 1 + below(24));
      return Buffer.concat([b.subarray(0, at), piece, b.subarray(at)]);
    }
  }
}

function nextInput(): Buffer {
  if (below(20) === 0) {
    // random bytes, half of them behind a real message type
    const b = randomBytes(below(120));
    if (b.length && below(2)) b[0] = [12, 13, 14, 15, 16, 17, 22, 23][below(8)];
    return b;
  }
  const seed = corpus[below(corpus.length)];
  let b = seed.bytes;
  for (let k = 1 + below(4); k > 0; k--) b = mutateOnce(b, seed.lengths);
  return b;
}

// ---- the run

function fail(what: string, input: Buffer, err?: unknown): never {
  process.stderr.write(`fuzz-codec: ${what}\n  seed ${SEED}\n  input ${input.toString('hex')}\n`);
  if (err !== undefined) process.stderr.write(`  ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}

const reasons: Record<string, number> = {};
let ok = 0;
let decodeErrors = 0;
const started = nowMs();
const keep: Buffer[] = []; // a few inputs for the framing stage

for (let i = 0; i < COUNT; i++) {
  const input = nextInput();
  if (keep.length < 2000 && below(64) === 0) keep.push(input);
  let msg;
  try {
    msg = decodeMessage(input);
  } catch (e) {
    if (!(e instanceof DecodeError)) fail('decode threw something other than DecodeError', input, e);
    if (e.offset < 0 || e.offset > input.length) fail(`DecodeError offset ${e.offset} outside the input`, input, e);
    decodeErrors++;
    reasons[e.reason] = (reasons[e.reason] ?? 0) + 1;
    continue;
  }
  ok++;
  let again: Buffer;
  try {
    again = encodeMessage(msg);
  } catch (e) {
    fail('a decoded message did not re-encode', input, e);
  }
  if (!again.equals(input)) fail(`re-encoding differs: ${again.toString('hex')}`, input);
  if ((ok & 15) === 0) {
    try {
      JSON.stringify(messageToJson(msg));
    } catch (e) {
      fail('messageToJson failed on a decoded message', input, e);
    }
  }
}

// FrameDecoder: streams of kept inputs, framed, cut into random chunks.
const STREAMS = Math.ceil(COUNT / 500);
for (let s = 0; s < STREAMS && keep.length; s++) {
  const frames = Array.from({ length: below(20) }, () => keep[below(keep.length)]);
  const stream = Buffer.concat(frames.map((f) => frameMessage(f)));
  const decoder = new FrameDecoder();
  const got: Buffer[] = [];
  for (let off = 0; off < stream.length; ) {
    const size = below(4) === 0 ? 1 : 1 + below(below(2) ? 16 : 2048);
    got.push(...decoder.push(stream.subarray(off, off + size)));
    off += size;
    if (decoder.bufferedBytes > 0xffff + 2) fail(`FrameDecoder holds ${decoder.bufferedBytes} bytes`, stream);
  }
  if (decoder.bufferedBytes !== 0 || got.length !== frames.length || got.some((g, k) => !g.equals(frames[k]))) fail('FrameDecoder lost or changed frames', stream);
}

emit({
  bench: 'fuzz-codec',
  metric: 'inputs',
  value: COUNT,
  unit: 'inputs',
  ok,
  decodeError: decodeErrors,
  reasons,
  frameStreams: STREAMS,
  seed: SEED,
  seconds: Math.round((nowMs() - started) / 100) / 10,
});
