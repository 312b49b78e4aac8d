// The option registry: every option this project models, once, by code and by name
// (STYLE.md "Kea"). Decoding, encoding, JSON output and `lqr decode` are all driven by
// it; an option not in it is `unknown` and passes through as raw bytes. Adding an
// option is a new file in ./options/ and one line below (and its type in types.ts).
import type { OptionCodec } from './option-codec.js';
import { clientDataCodec, cltTimeCodec } from './options/client-data.js';
import { clientIdCodec, relayIdCodec, serverIdCodec } from './options/duid.js';
import { iaAddrCodec } from './options/ia-address.js';
import { iaPrefixCodec } from './options/ia-prefix.js';
import { iaNaCodec, iaPdCodec } from './options/ia.js';
import { lqClientLinkCodec } from './options/lq-client-link.js';
import { lqQueryCodec } from './options/lq-query.js';
import { lqRelayDataCodec } from './options/lq-relay-data.js';
import { lqBaseTimeCodec, lqEndTimeCodec, lqStartTimeCodec } from './options/lq-times.js';
import { oroCodec } from './options/oro.js';
import { relayMsgCodec } from './options/relay-msg.js';
import { interfaceIdCodec, remoteIdCodec, subscriberIdCodec } from './options/relay-agent.js';
import { statusCodeCodec } from './options/status-code.js';
import type { Dhcp6Option, OptionName, OptionOf } from './types.js';

/** Names of the modelled options (every `name` of types.ts except 'unknown'). */
export type KnownOptionName = Exclude<OptionName, 'unknown'>;

// Keyed by name so that the compiler insists on one codec for each option type.
const byName: { readonly [N in KnownOptionName]: OptionCodec<OptionOf<N>> } = {
  clientId: clientIdCodec,
  serverId: serverIdCodec,
  iaNa: iaNaCodec,
  iaAddr: iaAddrCodec,
  oro: oroCodec,
  relayMsg: relayMsgCodec,
  statusCode: statusCodeCodec,
  interfaceId: interfaceIdCodec,
  iaPd: iaPdCodec,
  iaPrefix: iaPrefixCodec,
  remoteId: remoteIdCodec,
  subscriberId: subscriberIdCodec,
  lqQuery: lqQueryCodec,
  clientData: clientDataCodec,
  cltTime: cltTimeCodec,
  lqRelayData: lqRelayDataCodec,
  lqClientLink: lqClientLinkCodec,
  relayId: relayIdCodec,
  lqBaseTime: lqBaseTimeCodec,
  lqStartTime: lqStartTimeCodec,
  lqEndTime: lqEndTimeCodec,
};

const codecs: readonly OptionCodec[] = Object.values(byName) as OptionCodec[];

/**
 * Codecs indexed by option code, for the decode loop: a dense array (every slot set,
 * undefined where unmodelled) is one bounds check and one load per option.
 */
export const codecByCode: readonly (OptionCodec | undefined)[] = (() => {
  const table: (OptionCodec | undefined)[] = Array.from({ length: Math.max(...codecs.map((c) => c.code)) + 1 }, () => undefined);
  for (const c of codecs) {
    if (table[c.code]) throw new Error(`option code ${c.code} registered twice`);
    table[c.code] = c;
  }
  return table;
})();

export interface OptionRegistry {
  /** Every modelled option, in the order of the table above. */
  readonly codecs: readonly OptionCodec[];
  /** The codec of an option code, or undefined for options kept as `unknown`. */
  byCode(code: number): OptionCodec | undefined;
  byName<N extends KnownOptionName>(name: N): OptionCodec<OptionOf<N>>;
  /** JSON name of an option code: 'iaAddr', or 'option-<code>' when unmodelled. */
  nameOf(code: number): string;
  /** The codec that encodes this option object, or undefined for `unknown` ones. */
  codecOf(option: Dhcp6Option): OptionCodec | undefined;
}

export const optionRegistry: OptionRegistry = {
  codecs,
  byCode: (code) => (code < codecByCode.length ? codecByCode[code] : undefined),
  byName: <N extends KnownOptionName>(name: N) => byName[name] as OptionCodec<OptionOf<N>>,
  nameOf: (code) => (code < codecByCode.length ? codecByCode[code]?.name : undefined) ?? `option-${code}`,
  codecOf: (o) => (o.name === 'unknown' ? undefined : (byName[o.name] as OptionCodec)),
};
