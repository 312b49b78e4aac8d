// ISC dhcpd -6 beside the replica, for bench:replica's side-by-side UDP LEASEQUERY figure.
//
// Three network namespaces worth of plumbing, all on this machine:
//   lqb-srv-PID  2001:db8:1::1/64  dhcpd -6 with a lease file of the bench's IA_NA bindings
//   lqb-cli-PID  2001:db8:1::2/64 (to dhcpd) and 2001:db8:2::2/64 (to the replica)
//   this namespace 2001:db8:2::1/64, where the bench's replica listens
// The load generator (bench/udp-load.ts) runs in lqb-cli with the same window against
// both, over a veth pair each, so neither side gets a cheaper path. dhcpd answers
// LEASEQUERY to port 546 whatever the source port, so the generator binds 546.
// Needs root, iproute2 and dhcpd (Debian: isc-dhcp-server); `available()` says why not.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DHCPD_ADDR = '2001:db8:1::1';
export const REPLICA_ADDR = '2001:db8:2::1';
export const CLIENT_TO_REPLICA = '2001:db8:2::2';

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Why the comparison cannot run here, or undefined when it can. */
export function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  if (!which('ip')) return 'iproute2 (ip) not installed';
  if (!which('dhcpd')) return 'dhcpd not installed (apt-get install isc-dhcp-server)';
  return undefined;
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** dhcpd's lease-file name of an IA_NA: IAID (4 octets) + client DUID, as octal escapes. */
function iaName(iaidDuidHex: string): string {
  let out = '';
  for (let i = 0; i < iaidDuidHex.length; i += 2) out += '\\' + parseInt(iaidDuidHex.slice(i, i + 2), 16).toString(8).padStart(3, '0');
  return out;
}

/** dhcpd's lease-file time: weekday year/month/day hh:mm:ss, UTC. */
function leaseTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCDay()} ${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

export interface DhcpdBinding {
  clientIdHex: string;
  address: string;
}

export class DhcpdLab {
  readonly tag = String(process.pid);
  readonly srv = `lqb-srv-${this.tag}`;
  readonly cli = `lqb-cli-${this.tag}`;
  private readonly work = mkdtempSync(join(tmpdir(), 'lqr-bench-dhcpd-'));
  private dhcpdPid?: number;
  private rootVeth = `lqbr${this.tag}`;

  /** Namespaces and veth pairs (see the file comment). */
  setUp(): void {
    ip('netns', 'add', this.srv);
    ip('netns', 'add', this.cli);
    ip('link', 'add', `lqbs${this.tag}`, 'type', 'veth', 'peer', 'name', `lqbc${this.tag}`);
    ip('link', 'set', `lqbs${this.tag}`, 'netns', this.srv);
    ip('link', 'set', `lqbc${this.tag}`, 'netns', this.cli);
    ip('link', 'add', this.rootVeth, 'type', 'veth', 'peer', 'name', `lqbq${this.tag}`);
    ip('link', 'set', `lqbq${this.tag}`, 'netns', this.cli);
    for (const ns of [this.srv, this.cli]) ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', this.srv, 'addr', 'add', `${DHCPD_ADDR}/64`, 'dev', `lqbs${this.tag}`, 'nodad');
    ip('-n', this.cli, 'addr', 'add', '2001:db8:1::2/64', 'dev', `lqbc${this.tag}`, 'nodad');
    ip('-n', this.cli, 'addr', 'add', `${CLIENT_TO_REPLICA}/64`, 'dev', `lqbq${this.tag}`, 'nodad');
    ip('addr', 'add', `${REPLICA_ADDR}/64`, 'dev', this.rootVeth, 'nodad');
    ip('-n', this.srv, 'link', 'set', `lqbs${this.tag}`, 'up');
    ip('-n', this.cli, 'link', 'set', `lqbc${this.tag}`, 'up');
    ip('-n', this.cli, 'link', 'set', `lqbq${this.tag}`, 'up');
    ip('link', 'set', this.rootVeth, 'up');
  }

  /**
   * Writes the lease file (one IA_NA per binding, active, an hour left) and starts
   * dhcpd; resolves when it answers (the caller probes) with how long the start took.
   */
  async startDhcpd(bindings: Iterable<DhcpdBinding>, rangePrefix: string): Promise<void> {
    const conf = join(this.work, 'dhcpd6.conf');
    writeFileSync(conf, ['allow leasequery;', 'default-lease-time 3600;', 'preferred-lifetime 1800;', `subnet6 2001:db8:1::/64 {`, `  range6 ${rangePrefix};`, '}', ''].join('\n'));
    const leases = join(this.work, 'dhcpd6.leases');
    const cltt = leaseTime(Date.now() - 60_000);
    const ends = leaseTime(Date.now() + 3_600_000);
    const out = createWriteStream(leases);
    let n = 0;
    for (const b of bindings) {
      const chunk = `ia-na "${iaName('00000001' + b.clientIdHex)}" {\n  cltt ${cltt};\n  iaaddr ${b.address} {\n    binding state active;\n    preferred-life 1800;\n    max-life 3600;\n    ends ${ends};\n  }\n}\n`;
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      n++;
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const pidFile = join(this.work, 'dhcpd.pid');
    // -f: stay in the foreground as our child, so it can be stopped and its exit seen.
    const child = spawn('ip', ['netns', 'exec', this.srv, 'dhcpd', '-6', '-f', '-q', '-cf', conf, '-lf', leases, '-pf', pidFile, `lqbs${this.tag}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    this.dhcpdPid = child.pid;
    child.once('exit', (code) => {
      if (code !== null && code !== 0) process.stderr.write(`dhcpd exited with ${code}: ${stderr}\n`);
      this.dhcpdPid = undefined;
    });
    void n;
  }

  get running(): boolean {
    return this.dhcpdPid !== undefined;
  }

  /** Resident memory of dhcpd (kB), from /proc. */
  dhcpdRssKb(): number | undefined {
    const pidFile = join(this.work, 'dhcpd.pid');
    if (!existsSync(pidFile)) return undefined;
    const pid = readFileSync(pidFile, 'utf8').trim();
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Runs the load generator in the client namespace; resolves with its JSON result. */
  runLoad(args: { server: string; port: number; addressesFile: string; window: number; seconds: number; timeoutMs?: number }): Promise<Record<string, unknown>> {
    const script = new URL('./udp-load.js', import.meta.url).pathname;
    const argv = ['netns', 'exec', this.cli, process.execPath, script, '--server', args.server, '--port', String(args.port), '--addresses', args.addressesFile];
    argv.push('--window', String(args.window), '--seconds', String(args.seconds), '--local-port', '546', '--timeout-ms', String(args.timeoutMs ?? 1000));
    return runJson('ip', argv);
  }

  tearDown(): void {
    if (this.dhcpdPid !== undefined) {
      try {
        process.kill(this.dhcpdPid, 'SIGTERM');
      } catch {
        // already gone
      }
      const pidFile = join(this.work, 'dhcpd.pid');
      if (existsSync(pidFile)) spawnSync('kill', [readFileSync(pidFile, 'utf8').trim()]);
    }
    spawnSync('ip', ['link', 'del', this.rootVeth]);
    spawnSync('ip', ['netns', 'del', this.srv]);
    spawnSync('ip', ['netns', 'del', this.cli]);
    rmSync(this.work, { recursive: true, force: true });
  }
}

/** Runs the load generator in this namespace (loopback figures). */
export function runLoadHere(args: { server: string; port: number; addressesFile: string; window: number; seconds: number }): Promise<Record<string, unknown>> {
  const script = new URL('./udp-load.js', import.meta.url).pathname;
  return runJson(process.execPath, [script, '--server', args.server, '--port', String(args.port), '--addresses', args.addressesFile, '--window', String(args.window), '--seconds', String(args.seconds)]);
}

function runJson(cmd: string, argv: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${cmd} ${argv.slice(0, 6).join(' ')} ... exited ${code}: ${err.slice(-2000)}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as Record<string, unknown>);
      } catch {
        reject(new Error(`load generator printed no result: ${out.slice(-500)} ${err.slice(-500)}`));
      }
    });
  });
}
