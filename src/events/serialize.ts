// Events <-> Kafka records. Key: the client DUID (all changes of one client in one
// partition, in order); source events are keyed by their source. Headers carry the
// event type and schema version so consumers can route without parsing the value.
import { LqEvent, SCHEMA_VERSION, type LqEvent as LqEventT } from './model.js';

export interface EventRecord {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

export const HEADER_TYPE = 'lq-event-type';
export const HEADER_SCHEMA = 'lq-schema-version';

export function eventKey(e: LqEventT): string {
  return e.type === 'binding' ? e.clientId : `source:${e.source.name}`;
}

export function encodeEvent(e: LqEventT): EventRecord {
  return {
    key: eventKey(e),
    value: Buffer.from(JSON.stringify(e)),
    headers: { [HEADER_TYPE]: e.type, [HEADER_SCHEMA]: String(SCHEMA_VERSION) },
  };
}

/** A record on lq.events that is not a valid event: its position and what was wrong. */
export class EventDecodeError extends Error {
  constructor(
    message: string,
    readonly issues: string[],
  ) {
    super(message);
    this.name = 'EventDecodeError';
  }
}

/** Parse and validate one record value. Throws EventDecodeError, never anything else. */
export function decodeEvent(value: Buffer | string): LqEventT {
  let json: unknown;
  try {
    json = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (err) {
    throw new EventDecodeError(`event is not JSON: ${(err as Error).message}`, []);
  }
  const r = LqEvent.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new EventDecodeError(`event does not match schema v${SCHEMA_VERSION}: ${issues.slice(0, 3).join('; ')}`, issues);
  }
  return r.data;
}
