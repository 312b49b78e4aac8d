// fast-check arbitraries for the whole message model: every option type, nested to a
// bounded depth, with unknown options on codes the registry does not model.
import fc from 'fast-check';
import { optionRegistry, type Dhcp6Message, type Dhcp6Option, type RelayMessage } from '../../../src/protocol/index.js';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 0xffffffff));
const bytes = (maxLength: number, minLength = 0): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength, maxLength }).map((a) => Buffer.from(a));
const address = bytes(16, 16);
const duid = fc.oneof(bytes(20, 3), bytes(130, 3));
const unmodelledCode = u16.filter((c) => optionRegistry.byCode(c) === undefined);

const leafOption: fc.Arbitrary<Dhcp6Option> = fc.oneof(
  duid.map((d) => ({ name: 'clientId', code: 1, duid: d }) as const),
  duid.map((d) => ({ name: 'serverId', code: 2, duid: d }) as const),
  duid.map((d) => ({ name: 'relayId', code: 53, duid: d }) as const),
  fc.array(u16, { maxLength: 6 }).map((codes) => ({ name: 'oro', code: 6, codes }) as const),
  fc.record({ status: u16, message: fc.string({ unit: 'binary', maxLength: 12 }) }).map((r) => ({ name: 'statusCode', code: 13, ...r }) as const),
  bytes(12).map((data) => ({ name: 'interfaceId', code: 18, data }) as const),
  bytes(12).map((data) => ({ name: 'subscriberId', code: 38, data }) as const),
  fc.record({ enterpriseNumber: u32, remoteId: bytes(12) }).map((r) => ({ name: 'remoteId', code: 37, ...r }) as const),
  u32.map((seconds) => ({ name: 'cltTime', code: 46, seconds }) as const),
  fc.array(address, { maxLength: 3 }).map((linkAddresses) => ({ name: 'lqClientLink', code: 48, linkAddresses }) as const),
  u32.map((time) => ({ name: 'lqBaseTime', code: 100, time }) as const),
  u32.map((time) => ({ name: 'lqStartTime', code: 101, time }) as const),
  u32.map((time) => ({ name: 'lqEndTime', code: 102, time }) as const),
  fc.record({ code: unmodelledCode, data: bytes(12) }).map((r) => ({ name: 'unknown', ...r }) as const),
);

export interface ModelArbitraries {
  option: fc.Arbitrary<Dhcp6Option>;
  message: fc.Arbitrary<Dhcp6Message>;
  relay: fc.Arbitrary<RelayMessage>;
}

/** Arbitraries whose containers nest at most `depth` levels. */
export function modelArbitraries(depth: number): ModelArbitraries {
  const options = (d: number) => fc.array(option(d), { maxLength: 4 });

  function relay(d: number): fc.Arbitrary<RelayMessage> {
    return fc.record({
      kind: fc.constant('relay' as const),
      msgType: fc.constantFrom(12, 13),
      hopCount: u8,
      linkAddress: address,
      peerAddress: address,
      options: options(d),
    });
  }

  function message(d: number): fc.Arbitrary<Dhcp6Message> {
    const clientServer = fc.record({
      kind: fc.constant('client-server' as const),
      msgType: fc.oneof(fc.constantFrom(14, 15, 16, 17, 22, 23), u8.filter((t) => t !== 12 && t !== 13)),
      transactionId: fc.integer({ min: 0, max: 0xffffff }),
      options: options(d),
    });
    return fc.oneof(clientServer, relay(d));
  }

  const memo = new Map<number, fc.Arbitrary<Dhcp6Option>>();
  function option(d: number): fc.Arbitrary<Dhcp6Option> {
    const known = memo.get(d);
    if (known) return known;
    if (d <= 0) return leafOption;
    const inner = fc.constant(null).chain(() => options(d - 1)); // lazily, so depth stays bounded
    const ia = fc.record({ iaid: u32, t1: u32, t2: u32, options: inner });
    const arb = fc.oneof(
      { arbitrary: leafOption, weight: 4 },
      ia.map((r) => ({ name: 'iaNa', code: 3, ...r }) as const),
      ia.map((r) => ({ name: 'iaPd', code: 25, ...r }) as const),
      fc.record({ address, preferredLifetime: u32, validLifetime: u32, options: inner }).map((r) => ({ name: 'iaAddr', code: 5, ...r }) as const),
      fc
        .record({ preferredLifetime: u32, validLifetime: u32, prefixLength: u8, prefix: address, options: inner })
        .map((r) => ({ name: 'iaPrefix', code: 26, ...r }) as const),
      fc.record({ queryType: u8, linkAddress: address, options: inner }).map((r) => ({ name: 'lqQuery', code: 44, ...r }) as const),
      inner.map((o) => ({ name: 'clientData', code: 45, options: o }) as const),
      fc.constant(null).chain(() => message(d - 1)).map((m) => ({ name: 'relayMsg', code: 9, message: m }) as const),
      fc.record({ peerAddress: address, relayMessage: fc.constant(null).chain(() => relay(d - 1)) }).map((r) => ({ name: 'lqRelayData', code: 47, ...r }) as const),
    );
    memo.set(d, arb);
    return arb;
  }

  return { option: option(depth), message: message(depth), relay: relay(depth) };
}
