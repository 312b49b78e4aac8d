// `lqr decode`, through its run() with captured output.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseHex, run, type DecodeIo } from '../../../src/cli/commands/decode.js';
import { CliError } from '../../../src/cli/errors.js';
import { DUID_LLT } from './helpers.js';

const STARTTLS = `17000001 0001000e ${DUID_LLT}`.replace(/ /g, '');
const DONE = '10000002';

async function lqrDecode(argv: string[], stdin?: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: DecodeIo = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), readStdin: async () => stdin };
  const code = await run(argv, io);
  return { code, out, err };
}

describe('lqr decode', () => {
  test('one message from arguments, one JSON line', async () => {
    const { code, out, err } = await lqrDecode([STARTTLS]);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out.endsWith('\n')).toBe(true);
    expect(out.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(out)).toMatchObject({ type: 'STARTTLS', msgType: 23, transactionId: 1, options: [{ name: 'clientId', code: 1 }] });
  });

  test('tolerates whitespace, colons and 0x, across several arguments and lines of stdin', async () => {
    const spaced = STARTTLS.match(/../g)!;
    const fromArgs = await lqrDecode(['0x17', spaced.slice(1, 10).join(':'), spaced.slice(10).join(' ')]);
    expect(JSON.parse(fromArgs.out)).toMatchObject({ type: 'STARTTLS' });
    const fromStdin = await lqrDecode([], `0x${STARTTLS.slice(0, 20)}\n  ${STARTTLS.slice(20)}\n`);
    expect(fromStdin.out).toBe(fromArgs.out);
  });

  test('--pretty indents', async () => {
    const { out } = await lqrDecode(['--pretty', DONE]);
    expect(out).toBe(JSON.stringify({ type: 'LEASEQUERY-DONE', msgType: 16, transactionId: 2, transactionIdHex: '000002', options: [] }, null, 2) + '\n');
  });

  test('--framed decodes every message of a TCP stream', async () => {
    const stream = `0016${STARTTLS} 0004${DONE} 0000`;
    const { code, out } = await lqrDecode(['--framed'], stream);
    expect(code).toBe(1); // the zero-length frame is not a message
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(lines.map((l) => l.type)).toEqual(['STARTTLS', 'LEASEQUERY-DONE']);
    const ok = await lqrDecode(['--framed', `0016${STARTTLS}0004${DONE}`]);
    expect(ok.code).toBe(0);
  });

  test('a bad message: exit 1, the DecodeError on stderr, nothing on stdout', async () => {
    const { code, out, err } = await lqrDecode(['0e000001 0005 0014 00000000']);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe('lqr decode: option 5 at offset 4 claims 20 bytes but only 4 remain (in LEASEQUERY)\n');
  });

  test('--framed: good frames print, bad ones are reported with their position, a cut-off frame too', async () => {
    const { code, out, err } = await lqrDecode(['--framed', `0004${DONE} 0003 0f0000 0004${DONE} 0010 0e00`]);
    expect(code).toBe(1);
    expect(out.trim().split('\n')).toHaveLength(2);
    expect(err).toBe(
      'lqr decode: frame 2 (message at stream offset 8): the LEASEQUERY-REPLY (15) message at offset 0 is 3 byte(s); its header needs 4\n' +
        'lqr decode: the input ends inside a frame at stream offset 17: it claims 16 bytes but only 2 follow\n',
    );
  });

  test('bad hex and missing input are errors for the person at the terminal', async () => {
    await expect(lqrDecode(['0e00zz'])).rejects.toThrow(new CliError("decode: the input is not hex: unexpected 'z'", 1));
    await expect(lqrDecode(['0e0'])).rejects.toThrow(/odd number of hex digits/);
    await expect(lqrDecode([], '  \n')).rejects.toThrow(/no hex digits/);
    await expect(lqrDecode([])).rejects.toThrow(/no input/);
    await expect(lqrDecode(['--nope'])).rejects.toMatchObject({ exitCode: 2 });
  });

  test('--help', async () => {
    const { code, out } = await lqrDecode(['--help']);
    expect(code).toBe(0);
    expect(out).toContain('usage: lqr decode [--framed] [--pretty] [HEX...]');
  });

  test('parseHex', () => {
    expect(parseHex('0x0E:12 34\n56').toString('hex')).toBe('0e123456');
  });
});

// The built command as a user runs it (only when `npm run build` has produced it).
const built = new URL('../../../dist/src/cli/lqr.js', import.meta.url).pathname;

describe.skipIf(!existsSync(built))('lqr decode, built, in a child process', () => {
  test('stdin in, JSON out, exit 0; bad input: exit 1 and the reason on stderr', () => {
    const ok = spawnSync(process.execPath, [built, 'decode'], { input: `${STARTTLS}\n`, encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ type: 'STARTTLS' });
    const bad = spawnSync(process.execPath, [built, 'decode', '0f0000'], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('its header needs 4');
    const notHex = spawnSync(process.execPath, [built, 'decode', 'xyz'], { encoding: 'utf8' });
    expect(notHex.status).toBe(1);
    expect(notHex.stderr).toBe("lqr: decode: the input is not hex: unexpected 'x'\n");
  });
});
