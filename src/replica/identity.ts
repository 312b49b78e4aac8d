// The replica's own server DUID (OPTION_SERVERID of its replies). A replica is a
// leasequery server in its own right (DESIGN.md "Projection and responder"): requestors
// must be able to tell it from the DHCPv6 servers it mirrors and from other replicas,
// and it must keep the same identity across restarts, so it is generated once and kept
// in the data directory.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const FILE = 'server-duid';

/** DUID-UUID (RFC 6355, type 4): 16 random bytes need no MAC address and no clock. */
export function generateServerDuid(): Buffer {
  return Buffer.concat([Buffer.from([0x00, 0x04]), randomBytes(16)]);
}

/** The DUID kept in `dataDir`, created on first use. */
export async function loadOrCreateServerDuid(dataDir: string): Promise<Buffer> {
  const path = join(dataDir, FILE);
  try {
    const text = (await readFile(path, 'utf8')).trim();
    if (!/^([0-9a-f]{2}){3,130}$/i.test(text)) throw new Error(`${path} does not hold a DUID in hex (got "${text.slice(0, 40)}"); delete it to generate a new one`);
    return Buffer.from(text, 'hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dataDir, { recursive: true });
  const duid = generateServerDuid();
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, duid.toString('hex') + '\n');
  await rename(tmp, path);
  return duid;
}
