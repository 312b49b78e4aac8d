// `lqr decode`: DHCPv6 bytes in hex -> one JSON line per message.
import { parseArgs } from 'node:util';
import { DecodeError, FrameDecoder, decodeMessage, messageToJson } from '../../protocol/index.js';
import { CliError } from '../errors.js';

const USAGE = `usage: lqr decode [--framed] [--pretty] [HEX...]

Decodes DHCPv6 messages given in hex and prints each as JSON, one per line.

The hex comes from the arguments (all joined) or, without arguments, from standard
input. Whitespace, colons and 0x prefixes are ignored, so tcpdump/Wireshark hex dumps
and 'aa:bb:cc' both work.

  --framed   the input is a TCP stream (RFC 5460 section 5.1): each message is
             preceded by its length in 2 octets; decode every message in it
  --pretty   indent the JSON
  -h, --help show this help

Exit status: 0 if every message decoded, 1 if any input was bad (the reason is on
standard error; no partial JSON is printed for that message), 2 on a usage error.`;

export interface DecodeIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** All of standard input as text; undefined if stdin is a terminal (nothing piped). */
  readStdin(): Promise<string | undefined>;
}

const processIo: DecodeIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  async readStdin() {
    if (process.stdin.isTTY) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

export async function run(argv: string[], io: DecodeIo = processIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { framed: { type: 'boolean' }, pretty: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    throw new CliError(`decode: ${(e as Error).message}\n\n${USAGE}`, 2);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(USAGE + '\n');
    return 0;
  }
  const text = positionals.length > 0 ? positionals.join(' ') : await io.readStdin();
  if (text === undefined) throw new CliError(`decode: no input; give hex as arguments or pipe it to standard input\n\n${USAGE}`, 2);
  const bytes = parseHex(text);
  const print = (json: unknown): void => io.stdout(JSON.stringify(json, null, values.pretty ? 2 : undefined) + '\n');

  if (!values.framed) {
    try {
      print(messageToJson(decodeMessage(bytes)));
      return 0;
    } catch (e) {
      io.stderr(`lqr decode: ${describeFailure(e)}\n`);
      return 1;
    }
  }

  let failures = 0;
  const decoder = new FrameDecoder();
  let streamOffset = 0;
  decoder.push(bytes).forEach((frame, i) => {
    const at = streamOffset;
    streamOffset += 2 + frame.length;
    try {
      print(messageToJson(decodeMessage(frame)));
    } catch (e) {
      failures++;
      io.stderr(`lqr decode: frame ${i + 1} (message at stream offset ${at + 2}): ${describeFailure(e)}\n`);
    }
  });
  if (decoder.bufferedBytes > 0) {
    failures++;
    const claimed = decoder.pendingFrameLength;
    const have = decoder.bufferedBytes;
    io.stderr(
      `lqr decode: the input ends inside a frame at stream offset ${streamOffset}: ` +
        (claimed === undefined ? `1 byte of a 2-byte length\n` : `it claims ${claimed} bytes but only ${have - 2} follow\n`),
    );
  }
  return failures > 0 ? 1 : 0;
}

function describeFailure(e: unknown): string {
  if (e instanceof DecodeError) return e.message;
  throw e; // a bug, not bad input: let lqr print the stack
}

/** Hex text to bytes, ignoring whitespace, colons and 0x prefixes. */
export function parseHex(text: string): Buffer {
  const digits = text.replace(/\b0x/gi, '').replace(/[\s:]/g, '');
  const bad = /[^0-9a-fA-F]/.exec(digits);
  if (bad) throw new CliError(`decode: the input is not hex: unexpected '${bad[0]}'`, 1);
  if (digits.length === 0) throw new CliError('decode: the input holds no hex digits', 1);
  if (digits.length % 2 !== 0) throw new CliError(`decode: the input has an odd number of hex digits (${digits.length})`, 1);
  return Buffer.from(digits, 'hex');
}
