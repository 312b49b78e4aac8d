// Plain-JSON form of messages, for people and tools (`lqr decode`, logs, the HTTP
// API). Each option's fields come from its registry entry's toJson; this file only
// adds the envelope. Addresses are RFC 5952 text, DUIDs are explained (text.ts),
// unknown options are hex.
import { displayMessageType } from './message-names.js';
import type { MessageJson, NestedJson, OptionJson } from './option-codec.js';
import { unknownJson } from './options/unknown.js';
import { optionRegistry } from './registry.js';
import { formatIPv6 } from './text.js';
import type { Dhcp6Message, Dhcp6Option } from './types.js';

export type { MessageJson, OptionJson } from './option-codec.js';

/**
 * {type: 'LEASEQUERY-DATA', msgType: 17, transactionId: 1193046, transactionIdHex:
 * '123456', options: [...]} for client/server messages; {type: 'RELAY-FORW', msgType:
 * 12, hopCount, linkAddress, peerAddress, options} for relay messages.
 */
export function messageToJson(msg: Dhcp6Message): MessageJson {
  const type = displayMessageType(msg.msgType);
  if (msg.kind === 'relay') {
    return {
      type,
      msgType: msg.msgType,
      hopCount: msg.hopCount,
      linkAddress: formatIPv6(msg.linkAddress),
      peerAddress: formatIPv6(msg.peerAddress),
      options: optionsToJson(msg.options),
    };
  }
  return {
    type,
    msgType: msg.msgType,
    transactionId: msg.transactionId,
    transactionIdHex: msg.transactionId.toString(16).padStart(6, '0'),
    options: optionsToJson(msg.options),
  };
}

/** {name, code, ...fields}; unknown options are {name: 'unknown', code, data: hex}. */
export function optionToJson(option: Dhcp6Option): OptionJson {
  const codec = optionRegistry.codecOf(option);
  const fields = codec === undefined ? unknownJson(option as Extract<Dhcp6Option, { name: 'unknown' }>) : codec.toJson(option, nestedJson);
  return { name: option.name, code: option.code, ...fields };
}

export function optionsToJson(options: readonly Dhcp6Option[]): OptionJson[] {
  return options.map(optionToJson);
}

const nestedJson: NestedJson = {
  options: optionsToJson,
  message: messageToJson,
  optionName: optionRegistry.nameOf,
};
