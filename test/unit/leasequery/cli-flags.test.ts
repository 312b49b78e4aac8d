// The hostile-input flags of `lqr lab` and `lqr replica`: help text and refusals before
// anything starts (no listener opened, no broker contacted).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run as lab } from '../../../src/cli/commands/lab.js';
import { run as replica } from '../../../src/cli/commands/replica.js';
import { CliError } from '../../../src/cli/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'lqr-cli-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function help(run: (argv: string[]) => Promise<number>): Promise<string> {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((t: string | Uint8Array) => {
    out.push(String(t));
    return true;
  });
  try {
    expect(await run(['--help'])).toBe(0);
  } finally {
    spy.mockRestore();
  }
  return out.join('');
}

describe('lqr lab flags', () => {
  it('documents the rate limit, per-prefix connection and ACL flags', async () => {
    const h = await help(lab);
    for (const f of ['--rate-limit', '--rate-burst', '--rate-prefix', '--rate-prefix4', '--conn-rate-limit', '--conn-rate-burst', '--max-conns-per-prefix', '--acl']) expect(h).toContain(f);
  });

  it('refuses bad values before starting anything', async () => {
    await expect(lab(['--rate-limit', 'lots'])).rejects.toThrow(CliError);
    await expect(lab(['--rate-limit', '10/s', '--rate-prefix', '129'])).rejects.toThrow(/--rate-prefix/);
    await expect(lab(['--rate-burst', '10'])).rejects.toThrow(/need --rate-limit/);
    await expect(lab(['--max-conns-per-prefix', '0'])).rejects.toThrow(/--max-conns-per-prefix/);
    await expect(lab(['--allow-all', '--acl', '::1'])).rejects.toThrow(/exclude each other/);
  });
});

describe('lqr replica flags', () => {
  const base = ['--brokers', '127.0.0.1:1', '--data-dir', dir];

  it('documents the HTTP security flags and the token variable', async () => {
    const h = await help(replica);
    for (const f of ['--http-tls-cert', '--http-tls-key', '--http-client-ca', '--http-token-file', 'LQR_HTTP_TOKEN', '--http-protect-probes', '--rate-limit', '--max-conns-per-prefix']) expect(h).toContain(f);
  });

  it('refuses unusable secrets without printing them', async () => {
    const weak = join(dir, 'weak-token');
    writeFileSync(weak, 's3cret\n');
    const err = await replica([...base, '--http-token-file', weak]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toMatch(/shorter than 16/);
    expect((err as Error).message).not.toContain('s3cret');
    await expect(replica([...base, '--http-token-file', join(dir, 'nope')])).rejects.toThrow(/ENOENT/);
    await expect(replica([...base, '--http-tls-cert', weak])).rejects.toThrow(/go together/);
    await expect(replica([...base, '--rate-limit', '0/s'])).rejects.toThrow(/positive/);
  });
});
