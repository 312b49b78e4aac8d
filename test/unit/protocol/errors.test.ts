// Decode failures: each is a DecodeError with a reason, the absolute offset of the
// fault, the option code and the path of enclosing messages and options. And encode
// failures: a model with no lossless wire form is an EncodeError.
import { describe, expect, test } from 'vitest';
import {
  decodeMessage,
  decodeOptions,
  encodeFramedMessage,
  encodeMessage,
  EncodeError,
  frameMessage,
  FrameError,
  MAX_NESTING_DEPTH,
  type Dhcp6Message,
  type Dhcp6Option,
} from '../../../src/protocol/index.js';
import { A1, decodeFailure, DUID_EN, DUID_LLT, hx, ip, LINK, PEER } from './helpers.js';

describe('decode errors with exact offsets', () => {
  test('an option claiming more than remains: option-overrun at the option header', () => {
    // LEASEQUERY-REPLY: header (0-3), SERVERID (4-21), CLIENTID with a 12-byte DUID-LL
    // (22-37), then CLIENT_DATA at 38 claiming 90 bytes of which 41 arrived.
    const bytes = hx(`0f 000001 | 0002 000e ${DUID_EN} | 0001 000c 0003 0001 00163efffe112233
                      | 002d 005a | 0001 000e ${DUID_LLT} | 0005 0018 ${A1} 000e10`);
    expect(bytes.length).toBe(38 + 4 + 41);
    const e = decodeFailure(bytes);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('DecodeError');
    expect(e).toMatchObject({ reason: 'option-overrun', offset: 38, optionCode: 45, path: 'LEASEQUERY-REPLY' });
    expect(e.detail).toBe('option 45 at offset 38 claims 90 bytes but only 41 remain');
    expect(e.message).toBe('option 45 at offset 38 claims 90 bytes but only 41 remain (in LEASEQUERY-REPLY)');
  });

  test('an overrun inside CLIENT_DATA names the container in the path', () => {
    const e = decodeFailure(hx('11 000001 | 002d 0008 | 0005 0018 00000000'));
    expect(e).toMatchObject({ reason: 'option-overrun', offset: 8, optionCode: 5, path: 'LEASEQUERY-DATA > clientData(45)' });
    expect(e.detail).toBe('option 5 at offset 8 claims 24 bytes but only 4 remain');
  });

  test('a 65535-byte claim with 3 bytes present', () => {
    const e = decodeFailure(hx('0e 000001 | ffff ffff | 010203'));
    expect(e).toMatchObject({ reason: 'option-overrun', offset: 4, optionCode: 0xffff });
    expect(e.detail).toBe('option 65535 at offset 4 claims 65535 bytes but only 3 remain');
  });

  test('truncated headers', () => {
    expect(decodeFailure(hx(''))).toMatchObject({ reason: 'truncated-header', offset: 0 });
    const short = decodeFailure(hx('0f 0000'));
    expect(short).toMatchObject({ reason: 'truncated-header', offset: 0, path: '' });
    expect(short.message).toBe('the LEASEQUERY-REPLY (15) message at offset 0 is 3 byte(s); its header needs 4');
    // A relay header is 34 bytes: 33 is one short.
    expect(decodeFailure(hx(`0c 00 ${LINK} ${PEER}`).subarray(0, 33))).toMatchObject({ reason: 'truncated-header', offset: 0 });
  });

  test('a message inside RELAY_MSG too short for its header (offset of the inner message)', () => {
    expect(decodeFailure(hx('0e 000001 | 0009 0003 | 010203'))).toMatchObject({ reason: 'truncated-header', offset: 8, path: 'LEASEQUERY > relayMsg(9)' });
    expect(decodeFailure(hx('0e 000001 | 0009 0000'))).toMatchObject({ reason: 'truncated-header', offset: 8 });
    const relay33 = hx(`0c 00 ${LINK} ${PEER}`).subarray(0, 33);
    const bytes = Buffer.concat([hx('0e 000001 0009 0021'), relay33]);
    expect(decodeFailure(bytes)).toMatchObject({ reason: 'truncated-header', offset: 8 });
  });

  test('1-3 bytes left where an option header would start', () => {
    const e = decodeFailure(hx('0e 000001 | 0001 00'));
    expect(e).toMatchObject({ reason: 'truncated-option', offset: 4 });
    expect(e.detail).toBe('3 byte(s) at offset 4 are too few for an option header (4 bytes)');
  });

  test('an IAADDR of 20 bytes inside CLIENT_DATA', () => {
    const e = decodeFailure(hx(`11 000001 | 002d 0018 | 0005 0014 | 20010db8 00010000 00000000 0000001a 00000e10`));
    expect(e).toMatchObject({ reason: 'bad-length', offset: 8, optionCode: 5, path: 'LEASEQUERY-DATA > clientData(45) > iaAddr(5)' });
    expect(e.message).toBe(
      'option 5 (iaAddr) at offset 8 has length 20; it needs at least 24 (address, preferred and valid lifetimes) (in LEASEQUERY-DATA > clientData(45) > iaAddr(5))',
    );
  });

  test('an LQ_QUERY with no room for the link-address', () => {
    const e = decodeFailure(hx(`0e 000001 | 0001 000e ${DUID_LLT} | 002c 0005 | 01 00000000`));
    expect(e).toMatchObject({ reason: 'bad-length', offset: 22, optionCode: 44, path: 'LEASEQUERY > lqQuery(44)' });
    expect(e.detail).toBe('option 44 (lqQuery) at offset 22 has length 5; it needs at least 17 (query-type, link-address)');
  });

  // Every fixed-size or minimum-size option with a wrong length, at offset 4 of a LEASEQUERY.
  test.each([
    ['CLT_TIME of 3', '002e 0003 000000', 46],
    ['CLT_TIME of 5', '002e 0005 0000000000', 46],
    ['LQ_BASE_TIME of 5', '0064 0005 0000000000', 100],
    ['LQ_START_TIME of 0', '0065 0000', 101],
    ['LQ_END_TIME of 2', '0066 0002 0000', 102],
    ['ORO of odd length', '0006 0003 000100', 6],
    ['LQ_CLIENT_LINK not a multiple of 16', `0030 0011 ${LINK} 00`, 48],
    ['IAPREFIX of 24', `001a 0018 00000000 00000000 ${A1}`, 26],
    ['IA_NA of 11', '0003 000b 00000001 00000000 000000', 3],
    ['IA_PD of 11', '0019 000b 00000001 00000000 000000', 25],
    ['REMOTE_ID of 3', '0025 0003 000000', 37],
    ['STATUS_CODE of 1', '000d 0001 00', 13],
    ['LQ_RELAY_DATA of 49 (16 + a 33-byte relay header)', `002f 0031 ${PEER} 0c 00 ${LINK} ${PEER.slice(0, -2)}`, 47],
    ['LQ_RELAY_DATA of 0', '002f 0000', 47],
  ])('%s is bad-length', (_title, optionHex, code) => {
    const e = decodeFailure(hx(`0e 000001 | ${optionHex}`));
    expect(e).toMatchObject({ reason: 'bad-length', offset: 4, optionCode: code });
  });

  test.each([
    ['an empty CLIENTID', '0001 0000', 1],
    ['a 2-byte SERVERID (type only)', '0002 0002 0001', 2],
    ['an empty RELAY_ID', '0035 0000', 53],
    ['a 131-byte CLIENTID', `0001 0083 0002 ${'00'.repeat(129)}`, 1],
  ])('%s is bad-duid (RFC 8415 section 11.1: 3 to 130 bytes)', (_title, optionHex, code) => {
    expect(decodeFailure(hx(`0e 000001 | ${optionHex}`))).toMatchObject({ reason: 'bad-duid', offset: 4, optionCode: code });
  });

  test('DUIDs of exactly 3 and 130 bytes are accepted', () => {
    for (const duid of ['000201', `0002${'ab'.repeat(128)}`]) {
      const bytes = Buffer.concat([hx('0e 000001 0001'), hx((duid.length / 2).toString(16).padStart(4, '0')), hx(duid)]);
      expect(encodeMessage(decodeMessage(bytes))).toEqual(bytes);
    }
  });

  test.each([
    ['a truncated 2-byte sequence', '72 c3'],
    ['an overlong encoding of /', 'c0 af'],
    ['a UTF-16 surrogate encoded in UTF-8', 'ed a0 80'],
    ['a byte that never appears in UTF-8', 'ff'],
  ])('a status message with %s is bad-utf8', (_title, text) => {
    const msg = hx(text);
    const bytes = Buffer.concat([hx(`0e 000001 000d ${(2 + msg.length).toString(16).padStart(4, '0')} 0001`), msg]);
    expect(decodeFailure(bytes)).toMatchObject({ reason: 'bad-utf8', offset: 4, optionCode: 13 });
  });

  test('LQ_RELAY_DATA holding a client/server message is bad-relay-message at the message', () => {
    const e = decodeFailure(hx(`0e 000001 | 002f 0032 | ${PEER} | 0e 000001 ${'00'.repeat(30)}`));
    expect(e).toMatchObject({ reason: 'bad-relay-message', offset: 24, optionCode: 47 });
    expect(e.detail).toContain('holds a LEASEQUERY (14) message at offset 24');
  });

  test('faults deep in a relay chain carry the whole path', () => {
    const e = decodeFailure(hx(`11 000001 | 002d 0036 | 002f 0032 | ${PEER} | 0c 00 ${LINK} ${PEER}`).subarray(0, 59));
    // The bytes end 1 byte into the relay header: the CLIENT_DATA length overruns first.
    expect(e.reason).toBe('option-overrun');
    const bad = decodeFailure(hx(`11 000001 | 002d 003a | 002f 0036 | ${PEER} | 0c 00 ${LINK} ${PEER} | 002e 0000`));
    expect(bad).toMatchObject({ reason: 'bad-length', offset: 62, path: 'LEASEQUERY-DATA > clientData(45) > lqRelayData(47) > RELAY-FORW > cltTime(46)' });
  });

  test('decodeOptions reports offsets relative to its input', () => {
    expect(decodeFailure(hx('002e 0004 00000078 | 002e 0003 000000'), decodeOptions)).toMatchObject({ reason: 'bad-length', offset: 8, path: 'cltTime(46)' });
  });
});

describe('nesting depth', () => {
  /** n CLIENT_DATA options, each inside the previous one, in a LEASEQUERY-DATA. */
  function nestedClientData(n: number): Buffer {
    let inner = Buffer.alloc(0);
    for (let i = 0; i < n; i++) inner = Buffer.concat([hx('002d'), hx(inner.length.toString(16).padStart(4, '0')), inner]);
    return Buffer.concat([hx('11 000001'), inner]);
  }

  test(`${MAX_NESTING_DEPTH} nested containers decode; one more is too-deep at the offset of the deepest list`, () => {
    expect(MAX_NESTING_DEPTH).toBe(16);
    const ok = nestedClientData(MAX_NESTING_DEPTH);
    expect(encodeMessage(decodeMessage(ok))).toEqual(ok);
    const e = decodeFailure(nestedClientData(MAX_NESTING_DEPTH + 1));
    expect(e).toMatchObject({ reason: 'too-deep', offset: 4 + 4 * (MAX_NESTING_DEPTH + 1) });
    expect(e.path.split(' > ')).toHaveLength(MAX_NESTING_DEPTH + 2);
  });

  test('thousands of levels fail fast with too-deep, not a stack overflow', () => {
    // 5,000 SOLICITs each nested in the previous one's RELAY_MSG: 8 bytes a level.
    const levels = 5000;
    const bytes = Buffer.alloc(4 + levels * 8);
    let off = 0;
    for (let i = 0; i < levels; i++) {
      bytes.writeUInt32BE(0x01000000, off); // SOLICIT, transaction-id 0
      bytes.writeUInt16BE(9, off + 4);
      bytes.writeUInt16BE(bytes.length - off - 8, off + 6);
      off += 8;
    }
    bytes.writeUInt32BE(0x01000000, off);
    const e = decodeFailure(bytes);
    expect(e).toMatchObject({ reason: 'too-deep', offset: 8 * (MAX_NESTING_DEPTH + 1) });
  });

  test('a full relay chain (8 relays, RFC 8415 HOP_COUNT_LIMIT) inside LQ_RELAY_DATA inside CLIENT_DATA is within the bound', () => {
    let relay: Dhcp6Message = { kind: 'relay', msgType: 12, hopCount: 0, linkAddress: ip('2001:db8:1::1'), peerAddress: ip('fe80::1'), options: [] };
    for (let hop = 1; hop < 8; hop++) {
      relay = { kind: 'relay', msgType: 12, hopCount: hop, linkAddress: ip('::'), peerAddress: ip(`2001:db8::${hop}`), options: [{ name: 'relayMsg', code: 9, message: relay }] };
    }
    const msg: Dhcp6Message = {
      kind: 'client-server',
      msgType: 17,
      transactionId: 1,
      options: [{ name: 'clientData', code: 45, options: [{ name: 'lqRelayData', code: 47, peerAddress: ip('2001:db8::7'), relayMessage: relay }] }],
    };
    const bytes = encodeMessage(msg);
    expect(decodeMessage(bytes)).toEqual(msg);
  });
});

describe('encode errors', () => {
  const cs = (options: Dhcp6Option[], extra: Partial<Dhcp6Message> = {}): Dhcp6Message =>
    ({ kind: 'client-server', msgType: 15, transactionId: 1, options, ...extra }) as Dhcp6Message;
  const encodeFailure = (msg: Dhcp6Message): EncodeError => {
    try {
      encodeMessage(msg);
    } catch (e) {
      if (e instanceof EncodeError) return e;
      throw e;
    }
    throw new Error('expected an EncodeError');
  };

  test('fields out of range', () => {
    expect(encodeFailure(cs([], { transactionId: 0x1000000 })).reason).toBe('bad-field');
    expect(encodeFailure(cs([{ name: 'cltTime', code: 46, seconds: -1 }])).message).toBe('cltTime.seconds must be a 32-bit unsigned integer, got -1');
    expect(encodeFailure(cs([{ name: 'cltTime', code: 46, seconds: 1.5 }])).reason).toBe('bad-field');
    expect(encodeFailure(cs([{ name: 'lqBaseTime', code: 100, time: 2 ** 32 }])).reason).toBe('bad-field');
    expect(encodeFailure(cs([{ name: 'oro', code: 6, codes: [65536] }])).reason).toBe('bad-field');
    expect(encodeFailure(cs([{ name: 'unknown', code: 70000, data: Buffer.alloc(0) }])).reason).toBe('bad-field');
  });

  test('addresses must be 16 bytes', () => {
    const e = encodeFailure(cs([{ name: 'iaAddr', code: 5, address: Buffer.alloc(4), preferredLifetime: 0, validLifetime: 0, options: [] }]));
    expect(e).toMatchObject({ reason: 'bad-address', message: 'iaAddr.address must be a 16-byte IPv6 address, got 4 bytes' });
  });

  test('DUIDs outside 3..130 bytes', () => {
    expect(encodeFailure(cs([{ name: 'clientId', code: 1, duid: Buffer.alloc(0) }])).reason).toBe('bad-duid');
    expect(encodeFailure(cs([{ name: 'relayId', code: 53, duid: Buffer.alloc(131) }])).reason).toBe('bad-duid');
  });

  test('an option body over 65535 bytes', () => {
    expect(encodeFailure(cs([{ name: 'unknown', code: 99, data: Buffer.alloc(65536) }])).reason).toBe('too-long');
    const big = cs([{ name: 'clientData', code: 45, options: Array.from({ length: 3 }, () => ({ name: 'unknown', code: 99, data: Buffer.alloc(30000) }) as const) }]);
    expect(encodeFailure(big).reason).toBe('too-long');
  });

  test('relay kind and msg-type must agree; LQ_RELAY_DATA must hold a relay message', () => {
    expect(encodeFailure(cs([], { msgType: 12 })).reason).toBe('bad-field');
    const notRelay = cs([{ name: 'lqRelayData', code: 47, peerAddress: ip('::'), relayMessage: cs([]) }]);
    expect(encodeFailure(notRelay).reason).toBe('bad-relay-message');
  });

  test('status messages with lone surrogates', () => {
    expect(encodeFailure(cs([{ name: 'statusCode', code: 13, status: 0, message: 'a\ud800b' }])).reason).toBe('bad-utf8');
    expect(encodeMessage(cs([{ name: 'statusCode', code: 13, status: 0, message: 'ok \u{1f600}' }]))).toBeInstanceOf(Buffer);
  });

  test("an 'unknown' option with a modelled code (it would decode typed, or not at all)", () => {
    const e = encodeFailure(cs([{ name: 'unknown', code: 5, data: Buffer.alloc(3) }]));
    expect(e.message).toBe("option 5 is modelled as 'iaAddr'; give it in that form, not as 'unknown'");
  });

  test(`nesting: ${MAX_NESTING_DEPTH} levels encode, one more is too-deep (the same bound as decoding)`, () => {
    const nest = (n: number): Dhcp6Option[] => (n === 0 ? [] : [{ name: 'clientData', code: 45, options: nest(n - 1) }]);
    expect(decodeMessage(encodeMessage(cs(nest(MAX_NESTING_DEPTH))))).toEqual(cs(nest(MAX_NESTING_DEPTH)));
    expect(encodeFailure(cs(nest(MAX_NESTING_DEPTH + 1))).reason).toBe('too-deep');
  });

  test('a name that does not match its code', () => {
    const wrong = { name: 'cltTime', code: 100, seconds: 1 } as unknown as Dhcp6Option;
    expect(encodeFailure(cs([wrong])).message).toBe("option 'cltTime' has code 100, which is not its code");
  });

  test('a cyclic model is too-deep, not a stack overflow', () => {
    const loop = { name: 'clientData', code: 45, options: [] as Dhcp6Option[] } as const;
    loop.options.push(loop);
    expect(encodeFailure(cs([loop])).reason).toBe('too-deep');
  });

  test('frames hold at most 65535 bytes', () => {
    expect(() => frameMessage(Buffer.alloc(65536))).toThrow(FrameError);
    expect(frameMessage(Buffer.alloc(65535)).length).toBe(65537);
    const huge = cs(Array.from({ length: 3 }, () => ({ name: 'unknown', code: 99, data: Buffer.alloc(30000) }) as const));
    expect(() => encodeFramedMessage(huge)).toThrow(FrameError);
    expect(encodeMessage(huge).length).toBe(4 + 3 * 30004); // fine unframed (e.g. for a file)
  });
});
