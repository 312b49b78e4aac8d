// `lqr audit` and `lqr replay` argument handling (no Kafka needed: every case here
// fails or answers before connecting).
import { describe, expect, it } from 'vitest';
import { run as audit } from '../../../src/cli/commands/audit.js';
import { run as replay } from '../../../src/cli/commands/replay.js';
import { CliError } from '../../../src/cli/errors.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t), env: { KAFKA_BROKERS: '127.0.0.1:9' }, now: () => Date.UTC(2024, 10, 1) } };
}

describe('lqr audit arguments', () => {
  it('prints its usage; no subcommand is a usage error', async () => {
    const a = io();
    expect(await audit(['--help'], a.io)).toBe(0);
    expect(a.out.join('')).toMatch(/usage: lqr audit <who\|held\|history\|verify>/);
    expect(await audit([], io().io)).toBe(2);
    await expect(audit(['when'], io().io)).rejects.toThrow(/unknown subcommand 'when'/);
  });

  it('who needs a resource and an instant; bad ones are typed usage errors', async () => {
    await expect(audit(['who', '--at', 'now'], io().io)).rejects.toThrow(/--address ADDR or --prefix/);
    await expect(audit(['who', '--address', '2001:db8::1'], io().io)).rejects.toThrow(/--at T/);
    await expect(audit(['who', '--address', '2001:db8::1', '--prefix', '2001:db8::/32', '--at', 'now'], io().io)).rejects.toThrow(/not both/);
    const bad = io();
    expect(await audit(['who', '--address', '2001:db8::1', '--at', '1 Nov 2024'], bad.io)).toBe(2);
    expect(bad.err.join('')).toMatch(/is not an instant/);
    const lb = io();
    expect(await audit(['who', '--address', '2001:db8::1', '--at', 'now', '--lookback', 'forever'], lb.io)).toBe(2);
    expect(lb.err.join('')).toMatch(/not a duration/);
  });

  it('held needs exactly one selector, valid hex and a range in order', async () => {
    await expect(audit(['held', '--from', 'now'], io().io)).rejects.toThrow(/one of --client-id/);
    await expect(audit(['held', '--client-id', '0a', '--relay-id', '0b', '--from', 'now'], io().io)).rejects.toThrow(/give one of/);
    await expect(audit(['held', '--client-id', 'xyz', '--from', 'now'], io().io)).rejects.toThrow(/not hex bytes/);
    await expect(audit(['held', '--remote-id', 'cafe', '--from', 'now'], io().io)).rejects.toThrow(/ENTERPRISE:HEX/);
    await expect(audit(['held', '--client-id', '00:01:02', '--from', '2024-11-02T00:00:00Z', '--to', '2024-11-01T00:00:00Z'], io().io)).rejects.toThrow(/is before --from/);
  });

  it('history formats; unknown options', async () => {
    await expect(audit(['history', '--format', 'xml'], io().io)).rejects.toThrow(/ndjson or csv/);
    await expect(audit(['verify', '--frm', 'now'], io().io)).rejects.toBeInstanceOf(CliError);
  });

  it('without --brokers or KAFKA_BROKERS it says what to set', async () => {
    const a = io();
    await expect(audit(['who', '--address', '2001:db8::1', '--at', 'now'], { ...a.io, env: {} })).rejects.toThrow(/--brokers or set KAFKA_BROKERS/);
  });
});

describe('lqr replay arguments', () => {
  it('usage, --type and the range', async () => {
    const a = io();
    expect(await replay(['--help'], a.io)).toBe(0);
    expect(a.out.join('')).toMatch(/usage: lqr replay/);
    await expect(replay(['--type', 'lease'], io().io)).rejects.toThrow(/binding or source/);
    await expect(replay(['--from', '2024-11-02T00:00:00Z', '--to', '2024-11-01T00:00:00Z'], io().io)).rejects.toThrow(/is before --from/);
    await expect(replay(['--records-per-transaction', '0'], io().io)).rejects.toThrow(/positive integer/);
  });
});
