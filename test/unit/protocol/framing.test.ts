// TCP framing, RFC 5460 section 5.1: message-size(2, network order) before every message.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { FrameDecoder, frameMessage } from '../../../src/protocol/index.js';
import { hx } from './helpers.js';

/** Pushes each chunk and collects every frame returned. */
function feed(decoder: FrameDecoder, chunks: Buffer[]): Buffer[] {
  return chunks.flatMap((c) => decoder.push(c));
}

/** Splits bytes at the given cut points (any order, duplicates allowed). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let last = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(last, p));
    last = p;
  }
  return chunks;
}

const payloads = [hx('17 000001 0001 000e 000100012d2b1c0000163e112233'), hx(''), hx('10 000002'), Buffer.alloc(300, 7)];
const stream = Buffer.concat(payloads.map(frameMessage));

describe('FrameDecoder', () => {
  test('many frames in one chunk, including a zero-length frame (an empty Buffer)', () => {
    const d = new FrameDecoder();
    expect(d.push(stream)).toEqual(payloads);
    expect(d.bufferedBytes).toBe(0);
  });

  test('a stream fed byte by byte', () => {
    const d = new FrameDecoder();
    const frames: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) {
      frames.push(...d.push(stream.subarray(i, i + 1)));
      expect(d.bufferedBytes).toBeLessThanOrEqual(302);
    }
    expect(frames).toEqual(payloads);
    expect(d.bufferedBytes).toBe(0);
  });

  test('empty chunks change nothing', () => {
    const d = new FrameDecoder();
    expect(d.push(Buffer.alloc(0))).toEqual([]);
    expect(d.push(stream.subarray(0, 1))).toEqual([]);
    expect(d.push(Buffer.alloc(0))).toEqual([]);
    expect(d.bufferedBytes).toBe(1);
    expect(d.pendingFrameLength).toBeUndefined();
    expect(feed(d, [stream.subarray(1)])).toEqual(payloads);
  });

  test('a stalled peer that claims 65535 bytes: only what arrived is held', () => {
    const d = new FrameDecoder();
    expect(d.push(hx('ffff 010203'))).toEqual([]);
    expect(d.bufferedBytes).toBe(5);
    expect(d.pendingFrameLength).toBe(65535);
    expect(d.push(Buffer.alloc(1000))).toEqual([]);
    expect(d.bufferedBytes).toBe(1005);
    const [frame, ...rest] = d.push(Buffer.alloc(65535 - 1003, 9));
    expect(rest).toEqual([]);
    expect(frame.length).toBe(65535);
    expect(frame.subarray(0, 3)).toEqual(hx('010203'));
    expect(d.bufferedBytes).toBe(0);
  });

  test('a frame over many chunks followed by whole frames in the last chunk', () => {
    const d = new FrameDecoder();
    const big = frameMessage(Buffer.alloc(5000, 1));
    const tail = Buffer.concat([big.subarray(4000), frameMessage(hx('aa')), frameMessage(hx('bbcc')), hx('00')]);
    expect(feed(d, [big.subarray(0, 1), big.subarray(1, 2), big.subarray(2, 4000)])).toEqual([]);
    expect(d.push(tail)).toEqual([Buffer.alloc(5000, 1), hx('aa'), hx('bbcc')]);
    expect(d.bufferedBytes).toBe(1);
  });

  test('frames are returned intact after more data arrives (no reuse of a returned buffer)', () => {
    const d = new FrameDecoder();
    const a = frameMessage(Buffer.alloc(100, 1));
    const b = frameMessage(Buffer.alloc(100, 2));
    const [first] = feed(d, [a.subarray(0, 50), Buffer.concat([a.subarray(50), b.subarray(0, 50)])]);
    feed(d, [b.subarray(50)]);
    expect(first).toEqual(Buffer.alloc(100, 1));
  });

  test('random chunkings of random frames give back the same frames (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (frames, cuts) => {
          const bytes = Buffer.concat(frames.map((f) => frameMessage(f)));
          const d = new FrameDecoder();
          const out = feed(d, split(bytes, cuts));
          expect(out.map((b) => b.toString('hex'))).toEqual(frames.map((f) => Buffer.from(f).toString('hex')));
          expect(d.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('held memory never exceeds what arrived (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.array(fc.integer({ min: 1, max: 3000 }), { maxLength: 10 }), (claim, sizes) => {
        const d = new FrameDecoder();
        let sent = 2;
        d.push(hx(claim.toString(16).padStart(4, '0')));
        for (const n of sizes) {
          if (sent - 2 + n >= claim) break;
          d.push(Buffer.alloc(n));
          sent += n;
          expect(d.bufferedBytes).toBe(sent);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('frameMessage', () => {
  test('prepends the size in network order', () => {
    expect(frameMessage(hx('10 000002')).toString('hex')).toBe('000410000002');
    expect(frameMessage(Buffer.alloc(0)).toString('hex')).toBe('0000');
    expect(frameMessage(Buffer.alloc(0x1234)).subarray(0, 2).toString('hex')).toBe('1234');
  });
});
