export * from './model.js';
export { normalizeClientData, type NormalizeContext } from './normalize.js';
export { linkEvent, verifyLink, emptyChainHead, GENESIS_HASH, type ChainHead } from './chain.js';
export { encodeEvent, decodeEvent, eventKey, EventDecodeError, HEADER_TYPE, HEADER_SCHEMA, type EventRecord } from './serialize.js';
export { compareServerClock, serverTransactionTime } from './report-order.js';
