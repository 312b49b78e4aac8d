// `lqr query` against ISC dhcpd -6, an RFC 5007 implementation not written here
// (scripts/interop-dhcpd.sh sets up the namespaces, the server and its leases).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = [
  process.getuid?.() === 0 ? '' : 'root',
  has('dhcpd') ? '' : 'dhcpd (isc-dhcp-server)',
  has('ip') ? '' : 'iproute2',
  existsSync(`${root}dist/src/cli/lqr.js`) ? '' : 'a build (npm run build)',
].filter(Boolean);

interface Outcome { query: string; exit: number; stdout: string; stderr: string }

describe.skipIf(missing.length > 0)(`ISC dhcpd -6 interop${missing.length ? ` (skipped: needs ${missing.join(', ')})` : ''}`, () => {
  it('answers LEASEQUERY by address for its IA_NA bindings, and lqr query reads them right', () => {
    const out = execFileSync('bash', [`${root}scripts/interop-dhcpd.sh`, '2001:db8:1::100', '2001:db8:1::102', '2001:db8:1::1aa'], { encoding: 'utf8', timeout: 60_000 });
    const results = out.trim().split('\n').map((l) => JSON.parse(l) as Outcome);
    expect(results).toHaveLength(3);

    for (const [i, r] of results.slice(0, 2).entries()) {
      expect(r.exit, r.stderr).toBe(0);
      const b = JSON.parse(r.stdout) as { clientId: string; addresses: { address: string; validLifetime: number; preferredLifetime: number }[] };
      const n = i === 0 ? 1 : 3;
      expect(b.clientId).toBe(`000300010a0b0c0d0e0${n}`);
      expect(b.addresses.map((a) => a.address)).toEqual([r.query]);
      // Lifetimes are what remains of max-life 3600 / preferred-life 1800 at reply time.
      expect(b.addresses[0].validLifetime).toBeGreaterThan(3000);
      expect(b.addresses[0].validLifetime).toBeLessThanOrEqual(3600);
      // Departures from RFC 5007 are reported, not swallowed: dhcpd puts an absolute time in CLT_TIME.
      expect(r.stderr).toMatch(/OPTION_CLT_TIME \d+ is not seconds since the last transaction/);
      expect(r.stderr).toMatch(/no OPTION_LQ_BASE_TIME/);
    }
    // An address in the range with no lease: success without client data (RFC 5007 section 4.3.3).
    expect(results[2].exit).toBe(3);
    expect(JSON.parse(results[2].stdout)).toMatchObject({ type: 'no-binding' });
  }, 90_000);
});
