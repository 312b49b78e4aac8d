// Properties of the codec over generated inputs:
//  - every valid model encodes, and decodes back to the same model;
//  - every byte string decodes to a message or throws DecodeError, nothing else, and a
//    message that decodes re-encodes to exactly those bytes (lossless or fail);
//  - messageToJson works on anything that decodes.
// Run counts are modest: the suite runs on a 2-core CI box. `npm run fuzz` goes further.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodeMessage, DecodeError, encodedLength, encodeMessage, messageToJson, type Dhcp6Message } from '../../../src/protocol/index.js';
import { realisticLeasequeryData, sampleMessages } from '../../../bench/codec-samples.js';
import { modelArbitraries } from './arbitraries.js';

const { message } = modelArbitraries(3);

/** Decode must give a message that re-encodes identically, or a DecodeError. */
function checkDecode(bytes: Buffer): 'ok' | 'error' {
  let msg: Dhcp6Message;
  try {
    msg = decodeMessage(bytes);
  } catch (e) {
    if (e instanceof DecodeError) {
      expect(e.offset).toBeGreaterThanOrEqual(0);
      expect(e.offset).toBeLessThanOrEqual(bytes.length);
      return 'error';
    }
    throw e;
  }
  expect(encodeMessage(msg).toString('hex')).toBe(bytes.toString('hex'));
  JSON.stringify(messageToJson(msg));
  return 'ok';
}

/** Seeds for mutation: the samples plus generated messages. */
const seeds = [realisticLeasequeryData(), ...sampleMessages()].map(encodeMessage);
const seed = fc.oneof(fc.constantFrom(...seeds), message.map(encodeMessage));

/** A small edit of valid bytes. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('length' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ kind: fc.constant('length-delta' as const), at: fc.nat(), delta: fc.integer({ min: -4, max: 4 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(input: Buffer, edits: Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of edits) {
    if (b.length === 0) break;
    const at = 'at' in m ? m.at % b.length : 0;
    switch (m.kind) {
      case 'flip':
        b[at] ^= 1 << m.bit;
        break;
      case 'set':
        b[at] = m.value;
        break;
      case 'length': // any 16-bit field, option lengths included
        if (at + 2 <= b.length) b.writeUInt16BE(m.value, at);
        break;
      case 'length-delta': // off-by-a-few lengths, the classic parser bug
        if (at + 2 <= b.length) b.writeUInt16BE((b.readUInt16BE(at) + m.delta) & 0xffff, at);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'extend':
        b = Buffer.concat([b, m.extra]);
        break;
    }
  }
  return b;
}

describe('codec properties', () => {
  test('encode then decode gives the model back, and encodedLength is exact', () => {
    fc.assert(
      fc.property(message, (msg) => {
        const bytes = encodeMessage(msg);
        expect(bytes.length).toBe(encodedLength(msg));
        expect(decodeMessage(bytes)).toEqual(msg);
      }),
      { numRuns: 250 },
    );
  });

  test('random bytes: a message that re-encodes identically, or a DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (a) => {
        checkDecode(Buffer.from(a));
      }),
      { numRuns: 1000 },
    );
  });

  test('random bytes after a valid header: the same', () => {
    const header = fc.oneof(
      fc.constantFrom(12, 13, 14, 15, 16, 17, 22, 23).map((t) => Buffer.from([t, 0, 0, 1])),
      fc.uint8Array({ minLength: 34, maxLength: 34 }).map((a) => Buffer.from([12, ...a.subarray(1)])),
    );
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 120 }), (h, tail) => {
        checkDecode(Buffer.concat([h, tail]));
      }),
      { numRuns: 1000 },
    );
  });

  test('mutated valid encodings: the same', () => {
    const outcomes = { ok: 0, error: 0 };
    fc.assert(
      fc.property(seed, fc.array(mutation, { minLength: 1, maxLength: 3 }), (bytes, edits) => {
        outcomes[checkDecode(mutate(bytes, edits))]++;
      }),
      { numRuns: 1000 },
    );
    // Both outcomes must actually occur, or the property tests nothing.
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.error).toBeGreaterThan(0);
  });

  test('messageToJson handles every valid model', () => {
    fc.assert(
      fc.property(message, (msg) => {
        const json = JSON.parse(JSON.stringify(messageToJson(msg))) as { msgType: number };
        expect(json.msgType).toBe(msg.msgType);
      }),
      { numRuns: 200 },
    );
  });
});
