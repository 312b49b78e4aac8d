// Requestor results for people (text) and scripts (JSON), used by `lqr query`.
import { INFINITY, describeDuid, dhcpTimeToIso, formatIPv6, statusName, type Dhcp6Message } from '../../protocol/index.js';
import type { ReportedBinding } from './client-data.js';

function lifetime(s: number): string | number {
  return s === INFINITY ? 'infinity' : s;
}

interface RelaySummary {
  peerAddress: string;
  relayId?: string;
  remoteId?: { enterpriseNumber: number; id: string };
  interfaceId?: string;
  subscriberId?: string;
  hops: number;
}

/** Relay-supplied identifiers, from the relay nearest the client that supplied each. */
export function summarizeRelay(relay: { peerAddress: Buffer; relayMessage: Dhcp6Message }): RelaySummary {
  const hops: Dhcp6Message[] = [];
  let m: Dhcp6Message | undefined = relay.relayMessage;
  while (m && m.kind === 'relay') {
    hops.push(m);
    let inner: Dhcp6Message | undefined;
    for (const o of m.options) if (o.name === 'relayMsg') inner = o.message;
    m = inner;
  }
  const out: RelaySummary = { peerAddress: formatIPv6(relay.peerAddress), hops: hops.length };
  for (let i = hops.length - 1; i >= 0; i--) {
    for (const o of hops[i].options) {
      if (o.name === 'relayId' && out.relayId === undefined) out.relayId = o.duid.toString('hex');
      else if (o.name === 'remoteId' && out.remoteId === undefined) out.remoteId = { enterpriseNumber: o.enterpriseNumber, id: o.remoteId.toString('hex') };
      else if (o.name === 'interfaceId' && out.interfaceId === undefined) out.interfaceId = o.data.toString('hex');
      else if (o.name === 'subscriberId' && out.subscriberId === undefined) out.subscriberId = o.data.toString('hex');
    }
  }
  return out;
}

/** One binding as a JSON object (times as on the wire, relative to baseTime). */
export function bindingJson(b: ReportedBinding, extra: { baseTime?: number; phase?: string; receivedAt?: number } = {}): Record<string, unknown> {
  return {
    type: 'binding',
    ...(extra.phase ? { phase: extra.phase } : {}),
    clientId: b.clientDuid?.toString('hex') ?? null,
    linkAddress: b.linkAddress ? formatIPv6(b.linkAddress) : null,
    addresses: b.addresses.map((a) => ({ address: formatIPv6(a.address), preferredLifetime: a.preferredLifetime, validLifetime: a.validLifetime })),
    prefixes: b.prefixes.map((p) => ({ prefix: formatIPv6(p.prefix), prefixLength: p.prefixLength, preferredLifetime: p.preferredLifetime, validLifetime: p.validLifetime })),
    cltTime: b.cltTime ?? null,
    relay: b.relay ? summarizeRelay(b.relay) : null,
    baseTime: extra.baseTime ?? null,
    baseTimeIso: extra.baseTime !== undefined ? dhcpTimeToIso(extra.baseTime) : null,
    ...(extra.receivedAt !== undefined ? { receivedAt: extra.receivedAt } : {}),
  };
}

/** One binding as indented text. */
export function bindingText(b: ReportedBinding, extra: { baseTime?: number; phase?: string } = {}): string {
  const lines: string[] = [];
  const duid = b.clientDuid ? describeDuid(b.clientDuid) : undefined;
  const who = duid ? `${duid.hex} (${duid.typeName})` : '(no client-id)';
  lines.push(`client ${who}${b.linkAddress ? ` on link ${formatIPv6(b.linkAddress)}` : ''}${extra.phase ? ` [${extra.phase}]` : ''}`);
  for (const a of b.addresses) lines.push(`  address ${formatIPv6(a.address)}  preferred ${lifetime(a.preferredLifetime)}s valid ${lifetime(a.validLifetime)}s`);
  for (const p of b.prefixes) lines.push(`  prefix  ${formatIPv6(p.prefix)}/${p.prefixLength}  preferred ${lifetime(p.preferredLifetime)}s valid ${lifetime(p.validLifetime)}s`);
  if (b.addresses.length === 0 && b.prefixes.length === 0) lines.push('  (no addresses or prefixes: released or expired)');
  if (b.cltTime !== undefined) lines.push(`  last transaction ${b.cltTime}s before the server's base time`);
  if (b.relay) {
    const r = summarizeRelay(b.relay);
    const parts = [`via ${r.peerAddress} (${r.hops} hop${r.hops === 1 ? '' : 's'})`];
    if (r.relayId) parts.push(`relay-id ${r.relayId}`);
    if (r.remoteId) parts.push(`remote-id ${r.remoteId.enterpriseNumber}:${r.remoteId.id}`);
    if (r.interfaceId) parts.push(`interface-id ${Buffer.from(r.interfaceId, 'hex').toString('latin1').replace(/[^\x20-\x7e]/g, '.')}`);
    if (r.subscriberId) parts.push(`subscriber-id ${r.subscriberId}`);
    lines.push(`  relay ${parts.join(', ')}`);
  }
  if (extra.baseTime !== undefined) lines.push(`  server base time ${dhcpTimeToIso(extra.baseTime)} (${extra.baseTime})`);
  return lines.join('\n');
}

export function statusText(status: number, message: string): string {
  return `${statusName(status)} (${status})${message ? `: ${message}` : ''}`;
}
