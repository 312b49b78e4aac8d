// `lqr query` against a lab server: output and exit statuses.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, parseDhcpTime, parseServer, run } from '../../../src/cli/commands/query.js';
import { CliError } from '../../../src/cli/errors.js';
import { dhcpTimeToIso } from '../../../src/protocol/index.js';
import { startLab } from './helpers.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) } };
}

describe('lqr query', () => {
  let lab: Awaited<ReturnType<typeof startLab>>;
  beforeAll(async () => {
    lab = await startLab({ seed: 61 });
  });
  afterAll(() => lab.stop());

  it('parses --server forms and times', () => {
    expect(parseServer('[::1]:5470')).toEqual({ host: '::1', port: 5470 });
    expect(parseServer('::1')).toEqual({ host: '::1', port: 547 });
    expect(parseServer('127.0.0.1:99')).toEqual({ host: '127.0.0.1', port: 99 });
    expect(parseServer('dhcp.example')).toEqual({ host: 'dhcp.example', port: 547 });
    expect(() => parseServer('[::1]:99999')).toThrow(CliError);
    expect(parseDhcpTime('12345', '--start-time')).toBe(12345);
    expect(dhcpTimeToIso(parseDhcpTime('2024-11-01T03:14:00Z', '--start-time'))).toBe('2024-11-01T03:14:00Z');
    expect(() => parseDhcpTime('yesterday', '--start-time')).toThrow(CliError);
  });

  it('UDP by address: text output, exit 0; JSON output', async () => {
    const b = lab.dumpBindings().bindings.find((x) => x.addresses.length > 0)!;
    const t = io();
    expect(await run(['--server', `[::1]:${lab.udpPort}`, '--address', b.addresses[0].address], t.io)).toBe(ExitCode.ok);
    expect(t.out.join('')).toContain(b.clientId);
    const j = io();
    expect(await run(['--server', `[::1]:${lab.udpPort}`, '--address', b.addresses[0].address, '--json'], j.io)).toBe(ExitCode.ok);
    expect(JSON.parse(j.out[0])).toMatchObject({ type: 'binding', clientId: b.clientId, linkAddress: b.linkAddress });
  });

  it('exit 3 for no binding, 4 for an error status', async () => {
    expect(await run(['--server', `[::1]:${lab.udpPort}`, '--address', '2001:db8:1::ffff'], io().io)).toBe(ExitCode.noBinding);
    const t = io();
    expect(await run(['--server', `[::1]:${lab.udpPort}`, '--address', '2001:db9::1', '--json'], t.io)).toBe(ExitCode.errorStatus);
    expect(JSON.parse(t.out[0])).toMatchObject({ type: 'status', statusName: 'NotConfigured' });
  });

  it('bulk by link (NDJSON ending with done), by relay-id and remote-id', async () => {
    const t = io();
    expect(await run(['--server', `[::1]:${lab.tcpPort}`, '--link', '2001:db8:1::1', '--json'], t.io)).toBe(ExitCode.ok);
    const lines = t.out.map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ type: 'done', bindings: lines.length - 1 });
    const relay = lab.db.topology.links[1].relayId.toString('hex');
    expect(await run(['--server', `[::1]:${lab.tcpPort}`, '--relay-id', relay], io().io)).toBe(ExitCode.ok);
    const b = lab.dumpBindings().bindings.find((x) => x.remoteId)!;
    expect(await run(['--server', `[::1]:${lab.tcpPort}`, '--remote-id', `${b.remoteId!.enterpriseNumber}:${b.remoteId!.id}`], io().io)).toBe(ExitCode.ok);
  });

  it('active with --count', async () => {
    const t = io();
    const p = run(['--server', `[::1]:${lab.tcpPort}`, '--active', '--count', '3', '--json'], t.io);
    const timer = setInterval(() => lab.step(5), 20);
    expect(await p).toBe(ExitCode.ok);
    clearInterval(timer);
    const lines = t.out.map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ type: 'accepted' });
    expect(lines.filter((l) => l.type === 'binding').length).toBe(3);
  });

  it('exit 5 on timeout, 6 on a refused connection, 7 when TLS is refused, 2 on usage errors', async () => {
    const udpSink = await import('node:dgram').then((d) => d.createSocket('udp6'));
    await new Promise<void>((r) => udpSink.bind(0, '::1', () => r()));
    const t = io();
    expect(await run(['--server', `[::1]:${udpSink.address().port}`, '--address', '2001:db8::1', '--timeout', '300'], t.io)).toBe(ExitCode.timeout);
    udpSink.close();
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '::1', () => r()));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    expect(await run(['--server', `[::1]:${port}`, '--link', '2001:db8::1'], io().io)).toBe(ExitCode.connection);
    expect(await run(['--server', `[::1]:${lab.tcpPort}`, '--link', '2001:db8::1', '--tls'], io().io)).toBe(ExitCode.tls);
    await expect(run(['--address', '2001:db8::1'], io().io)).rejects.toThrow(CliError);
    await expect(run(['--server', '::1', '--address', '2001:db8::1', '--client-id', '00'], io().io)).rejects.toThrow(CliError);
    await expect(run(['--server', '::1', '--active', '--end-time', '5'], io().io)).rejects.toThrow(CliError);
  });
});
