// One event -> one Kafka record, linked into its source's integrity chain. The same
// bytes as linkEvent() followed by encodeEvent() (src/events; a unit test holds the
// two equal), with the event serialized once instead of twice: the chain hash is taken
// over the JSON of the event without its chain, and that JSON, with the chain appended
// as the last member, is the record value. This is the connector's hottest path.
import { createHash } from 'node:crypto';
import { HEADER_SCHEMA, HEADER_TYPE, SCHEMA_VERSION, eventKey, type ChainHead, type LqEvent } from '../events/index.js';

export interface EncodedEvent {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  head: ChainHead;
}

const HEADERS = {
  binding: { [HEADER_TYPE]: 'binding', [HEADER_SCHEMA]: String(SCHEMA_VERSION) },
  source: { [HEADER_TYPE]: 'source', [HEADER_SCHEMA]: String(SCHEMA_VERSION) },
} as const;

/** Link `event` after `head` (sets event.chain) and encode it. */
export function linkAndEncode(event: LqEvent, head: ChainHead): EncodedEvent {
  // A `chain` key present (even undefined) would keep its place in JSON.stringify's
  // order and break the equivalence with linkEvent + encodeEvent.
  if ('chain' in event) delete (event as { chain?: unknown }).chain;
  const body = JSON.stringify(event);
  const seq = head.seq + 1;
  // One update of one string: measurably cheaper than three updates (same bytes hashed).
  const hash = createHash('sha256').update(`${head.hash}\n${body}`).digest('hex');
  event.chain = { seq, prev: head.hash, hash };
  const value = Buffer.from(`${body.slice(0, -1)},"chain":{"seq":${seq},"prev":"${head.hash}","hash":"${hash}"}}`);
  return { key: eventKey(event), value, headers: HEADERS[event.type], head: { seq, hash } };
}
