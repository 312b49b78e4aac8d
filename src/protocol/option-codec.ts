// The shape of one entry of the option registry (./registry.ts). Each option family in
// ./options/ provides entries of this shape; ./codec.ts walks option lists and messages
// with them, ./json.ts prints with them.
import type { Dhcp6Message, Dhcp6Option } from './types.js';

/** JSON form of one option: its name and code, then the option's own fields. */
export interface OptionJson {
  name: string;
  code: number;
  [field: string]: unknown;
}

/** JSON form of one message (see ./json.ts for the fields of each kind). */
export interface MessageJson {
  type: string;
  msgType: number;
  [field: string]: unknown;
}

/**
 * What a container option needs to handle what it contains. Passed in as an argument
 * (rather than imported) so that option families do not import the walkers that
 * import them.
 */
export interface Nested {
  decodeOptions(buf: Buffer, start: number, end: number, depth: number): Dhcp6Option[];
  decodeMessage(buf: Buffer, start: number, end: number, depth: number): Dhcp6Message;
  optionsSize(options: readonly Dhcp6Option[], depth: number): number;
  messageSize(msg: Dhcp6Message, depth: number): number;
  writeOptions(options: readonly Dhcp6Option[], buf: Buffer, off: number, depth: number): number;
  writeMessage(msg: Dhcp6Message, buf: Buffer, off: number, depth: number): number;
}

export interface NestedJson {
  options(options: readonly Dhcp6Option[]): OptionJson[];
  message(msg: Dhcp6Message): MessageJson;
  /** The registry's JSON name of an option code ('option-<code>' when unmodelled). */
  optionName(code: number): string;
}

/**
 * One option: its code, its JSON name (the `name` discriminant of types.ts), its IANA
 * name, and how to read, size, write and print its data (the bytes after the 4-byte
 * option header). `depth` is the nesting depth of the option itself; a container
 * passes depth + 1 to what it holds.
 */
export interface OptionCodec<O extends Dhcp6Option = Dhcp6Option> {
  readonly code: number;
  readonly name: O['name'];
  readonly label: string;
  /** Where the option is defined, e.g. 'RFC 8415 section 21.6'. */
  readonly spec: string;
  /** Decodes data at buf[start, end); throws DecodeError if it does not fit the grammar. */
  decode(buf: Buffer, start: number, end: number, depth: number, nested: Nested): O;
  /** Length of the data (without the option header). */
  size(option: O, depth: number, nested: Nested): number;
  /** Writes the data at `off`; returns the offset after it. */
  write(option: O, buf: Buffer, off: number, depth: number, nested: Nested): number;
  /** The option's fields for JSON output (name and code are added by the caller). */
  toJson(option: O, nested: NestedJson): Record<string, unknown>;
}
