// Errors of the wire codec. Decoding raises only DecodeError (never a RangeError from a
// Buffer read: every read is bounds-checked first); encoding a model that has no valid
// wire form raises EncodeError; the TCP framing raises FrameError.

/** Why a decode failed, as a short stable code that callers and tests can switch on. */
export type DecodeErrorReason =
  /** Fewer bytes than a message header needs (4 client/server, 34 relay). */
  | 'truncated-header'
  /** 1 to 3 bytes left over where an option header (4 bytes) would start. */
  | 'truncated-option'
  /** An option's length field claims more bytes than its enclosing region holds. */
  | 'option-overrun'
  /** An option's length does not fit its grammar (fixed size, minimum, multiple of). */
  | 'bad-length'
  /** A DUID outside 3..130 octets (RFC 8415 section 11.1). */
  | 'bad-duid'
  /** OPTION_LQ_RELAY_DATA holds something other than a relay message (12 or 13). */
  | 'bad-relay-message'
  /** OPTION_STATUS_CODE's message is not valid UTF-8. */
  | 'bad-utf8'
  /** More nested options or messages than MAX_NESTING_DEPTH. */
  | 'too-deep';

/**
 * A DHCPv6 message or option list that cannot be decoded losslessly.
 * `offset` is absolute in the buffer given to the top-level decode call; `path` names
 * the messages and options enclosing the fault, outermost first, e.g.
 * 'LEASEQUERY-DATA > clientData(45) > iaAddr(5)'.
 */
export class DecodeError extends Error {
  /** The fault itself, without the path. */
  readonly detail: string;
  path = '';

  constructor(
    readonly reason: DecodeErrorReason,
    readonly offset: number,
    detail: string,
    readonly optionCode?: number,
  ) {
    super(detail);
    this.name = 'DecodeError';
    this.detail = detail;
  }

  /** Called by each enclosing decoder as the error passes outwards (only on failure). */
  enter(segment: string): this {
    this.path = this.path === '' ? segment : `${segment} > ${this.path}`;
    this.message = `${this.detail} (in ${this.path})`;
    return this;
  }
}

/** Why an encode failed. */
export type EncodeErrorReason =
  | 'bad-field' // a number outside its field's range, or not an integer
  | 'bad-address' // an address that is not 16 bytes
  | 'bad-duid' // a DUID outside 3..130 octets
  | 'bad-relay-message' // LQ_RELAY_DATA whose relayMessage is not a relay message
  | 'bad-utf8' // a status message with lone surrogates (would not round-trip)
  | 'too-long' // an option body over 65535 bytes, or no room in the target buffer
  | 'too-deep'; // nesting over MAX_NESTING_DEPTH (also stops cyclic models)

/**
 * A message model that has no wire form the decoder would give back unchanged.
 * Encoding is strict for the same reason decoding is: encode(m) must decode to m.
 */
export class EncodeError extends Error {
  constructor(
    readonly reason: EncodeErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'EncodeError';
  }
}

/** A message too large for the 2-octet TCP frame length (RFC 5460 section 5.1). */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}
