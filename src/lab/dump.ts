// The ground truth: a lab server's current bindings as JSON, for tests that compare a
// replica (or a requestor's view) against what the server really holds.
import { formatIPv6 } from '../protocol/index.js';
import type { LeaseDb, LeaseRecord } from './db.js';
import { keyToAddress } from './keys.js';

export interface DumpedBinding {
  clientId: string;
  linkAddress: string;
  addresses: { address: string; preferredUntil: number; validUntil: number }[];
  prefixes: { prefix: string; prefixLength: number; preferredUntil: number; validUntil: number }[];
  /** Server-clock instants, ms since the Unix epoch. */
  lastTransactionAt: number;
  changedAt: number;
  seq: number;
  relayId?: string;
  remoteId?: { enterpriseNumber: number; id: string };
  interfaceId: string;
  subscriberId?: string;
}

export interface BindingsDump {
  serverDuid: string;
  /** The server's clock when dumped (ms) and its offset from the host clock. */
  now: number;
  clockOffsetMs: number;
  bindings: DumpedBinding[];
}

export function dumpRecord(db: LeaseDb, r: LeaseRecord): DumpedBinding {
  const t = db.topology;
  const link = t.links[r.link];
  const rid = t.remoteId(r.client);
  const sub = t.subscriberId(r.client);
  const d: DumpedBinding = {
    clientId: t.clientDuid(r.client).toString('hex'),
    linkAddress: formatIPv6(link.linkAddress),
    addresses: r.addr === null ? [] : [{ address: formatIPv6(keyToAddress(r.addr)), preferredUntil: r.preferredUntil, validUntil: r.validUntil }],
    prefixes:
      r.prefix === null ? [] : [{ prefix: formatIPv6(keyToAddress(r.prefix)), prefixLength: r.prefixLength, preferredUntil: r.preferredUntil, validUntil: r.validUntil }],
    lastTransactionAt: r.lastTransactionAt,
    changedAt: r.changedAt,
    seq: r.seq,
    relayId: link.relayId.toString('hex'),
    interfaceId: t.interfaceId(r.client).toString('hex'),
  };
  if (rid) d.remoteId = { enterpriseNumber: rid.enterpriseNumber, id: rid.remoteId.toString('hex') };
  if (sub) d.subscriberId = sub.toString('hex');
  return d;
}

/**
 * Current bindings (holding a resource whose valid lifetime has not ended), sorted by
 * client then link; with `includeReleased`, the remembered released/expired ones too.
 */
export function dumpBindings(db: LeaseDb, serverDuid: Buffer, opts: { includeReleased?: boolean } = {}): BindingsDump {
  const now = db.now();
  const out: DumpedBinding[] = [];
  for (const r of db.allRecords()) {
    const active = (r.addr !== null || r.prefix !== null) && r.validUntil > now;
    if (active || opts.includeReleased) out.push(dumpRecord(db, r));
  }
  out.sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : a.linkAddress < b.linkAddress ? -1 : a.linkAddress > b.linkAddress ? 1 : 0));
  return { serverDuid: serverDuid.toString('hex'), now, clockOffsetMs: db.clockOffsetMs, bindings: out };
}
