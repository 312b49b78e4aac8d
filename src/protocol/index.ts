// Public surface of the wire codec. Pure: no I/O anywhere in src/protocol.
// Everything outside src/protocol reads and writes DHCPv6 bytes only through these.
export * from './constants.js';
export * from './types.js';
export { DecodeError } from './errors.js';
export { decodeMessage, encodeMessage, encodedLength } from './message.js';
export { decodeOptions, encodeOptions, findOption, findOptions, optionRegistry } from './options.js';
export { FrameDecoder, frameMessage, FrameError } from './framing.js';
export { dhcpTimeToUnixMs, unixMsToDhcpTime, dhcpTimeToIso, isInfiniteLifetime } from './time.js';
export { formatIPv6, parseIPv6, describeDuid, type DuidInfo } from './text.js';
export { messageToJson } from './json.js';
