// Option lists on their own (e.g. the client-options of a stored OPTION_CLIENT_DATA),
// typed look-ups, and the registry.
import { decodeOptionList, optionListSize, writeOptionList } from './codec.js';
import { asBuffer } from './message.js';
import type { Dhcp6Option, OptionName, OptionOf } from './types.js';

export { optionRegistry, type KnownOptionName, type OptionRegistry } from './registry.js';

/** Decodes bytes that are exactly a sequence of options. Throws DecodeError. */
export function decodeOptions(bytes: Uint8Array): Dhcp6Option[] {
  const buf = asBuffer(bytes);
  return decodeOptionList(buf, 0, buf.length, 0);
}

/** Encodes a sequence of options (no message header) into one Buffer. */
export function encodeOptions(options: readonly Dhcp6Option[]): Buffer {
  const buf = Buffer.allocUnsafe(optionListSize(options, 0));
  writeOptionList(options, buf, 0, 0);
  return buf;
}

/** The first option of that name in the list (not searching nested lists). */
export function findOption<N extends OptionName>(options: readonly Dhcp6Option[], name: N): OptionOf<N> | undefined {
  for (let i = 0; i < options.length; i++) if (options[i].name === name) return options[i] as OptionOf<N>;
  return undefined;
}

/** Every option of that name in the list, in order (not searching nested lists). */
export function findOptions<N extends OptionName>(options: readonly Dhcp6Option[], name: N): OptionOf<N>[] {
  const out: OptionOf<N>[] = [];
  for (let i = 0; i < options.length; i++) if (options[i].name === name) out.push(options[i] as OptionOf<N>);
  return out;
}
