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

// Added with the codec implementation (the names above are the original contract).
export { EncodeError, type DecodeErrorReason, type EncodeErrorReason } from './errors.js';
export { encodeMessageInto } from './message.js';
export { encodeFramedMessage, MAX_FRAME_PAYLOAD } from './framing.js';
export { optionToJson, optionsToJson, type MessageJson, type OptionJson } from './json.js';
export { type KnownOptionName, type OptionRegistry } from './options.js';
export { type OptionCodec } from './option-codec.js';
export { MAX_NESTING_DEPTH } from './wire.js';
export { displayMessageType } from './message-names.js';
export { DUID_MIN_LENGTH, DUID_MAX_LENGTH } from './options/duid.js';
