// The lab's network: links, the relays in front of them, and the client population.
//
// Every attribute of client i (DUID, kind, home link, remote-id, ...) is a pure function
// of (seed, i), so a million clients cost no memory until they hold a binding, and the
// same seed always yields the same population (two lab servers of a failover pair in
// `shared` mode see the same clients).
//
// Numbering plan (all inside the documentation prefix 2001:db8::/32, RFC 3849):
//   link L (L < 0x8000)        2001:db8:L::/64, relay link-address 2001:db8:L::1
//   delegated prefix of client i   slot 2001:db8:(0x800000 + i)00::/56 (bits 32..55),
//                                   delegated as /56, /60 or /64 at the slot's start
//   relay of link L            fd00:0:0:L::1, relay-id DUID-EN 32473 "relay-L"
//   aggregation relay A        fd00:0:a:A::1, relay-id DUID-EN 32473 "agg-A", in front of
//                              every link L with L % 3 == 2 (A = floor(L / 6)): two hops
import type { Dhcp6Option, RelayMessage } from '../protocol/index.js';
import { MessageType } from '../protocol/index.js';

/** The example enterprise number of RFC 5612, for lab relay-ids and DUID-ENs. */
export const LAB_ENTERPRISE = 32473;
/** CableLabs' enterprise number: lab remote-ids look like DOCSIS cable-modem MACs. */
export const REMOTE_ID_ENTERPRISE = 4491;

export type ClientKind = 'na' | 'pd' | 'both';

export interface TopologyConfig {
  seed: number;
  clients: number;
  links: number;
  /** Fraction of clients with a delegated prefix (half of those also hold an address). */
  pdRatio: number;
}

export interface LinkInfo {
  index: number;
  /** The relay's link-address: the link's name in the DB and in QUERY_BY_LINK_ADDRESS. */
  linkAddress: Buffer;
  relayAddress: Buffer;
  relayId: Buffer;
  /** Aggregation relay in front of this link's relay, if the link is two hops away. */
  agg?: { index: number; address: Buffer; relayId: Buffer };
}

const MAX_LINKS = 0x8000;
const DNS_SERVERS_OPTION = 23; // OPTION_DNS_SERVERS (RFC 3646): an "extra" client option in the lab

/** A 32-bit hash of (seed, i, salt): the source of every per-client attribute. */
function hash32(seed: number, i: number, salt: number): number {
  let h = Math.imul(seed ^ 0x2545f491, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca77) ^ Math.imul(salt + 7, 0xc2b2ae3d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return h >>> 0;
}

function ipv6(words: number[]): Buffer {
  const b = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) b.writeUInt16BE(words[i] ?? 0, i * 2);
  return b;
}

/** A DUID-EN (RFC 8415 section 11.3): the lab's identifiers for relays. */
function duidEn(enterprise: number, id: string): Buffer {
  const b = Buffer.alloc(6 + id.length);
  b.writeUInt16BE(2, 0);
  b.writeUInt32BE(enterprise, 2);
  b.write(id, 6, 'latin1');
  return b;
}

export class Topology {
  readonly links: readonly LinkInfo[];
  /** relay-id (latin1) -> the links behind that relay. */
  readonly linksByRelayId: ReadonlyMap<string, readonly number[]>;
  private readonly linkByAddress = new Map<string, number>();
  private readonly dnsServer = ipv6([0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 0x53]);

  constructor(readonly config: TopologyConfig) {
    if (!Number.isInteger(config.links) || config.links < 1 || config.links > MAX_LINKS) {
      throw new RangeError(`links must be an integer in 1..${MAX_LINKS}, got ${config.links}`);
    }
    if (!Number.isInteger(config.clients) || config.clients < 0 || config.clients > 0x7fffff) {
      throw new RangeError(`clients must be an integer in 0..${0x7fffff}, got ${config.clients}`);
    }
    if (!(config.pdRatio >= 0 && config.pdRatio <= 1)) throw new RangeError(`pdRatio must be in [0, 1], got ${config.pdRatio}`);
    const links: LinkInfo[] = [];
    const byRelay = new Map<string, number[]>();
    for (let l = 0; l < config.links; l++) {
      const link: LinkInfo = {
        index: l,
        linkAddress: ipv6([0x2001, 0xdb8, l, 0, 0, 0, 0, 1]),
        relayAddress: ipv6([0xfd00, 0, 0, l, 0, 0, 0, 1]),
        relayId: duidEn(LAB_ENTERPRISE, `relay-${l}`),
      };
      if (l % 3 === 2) {
        const a = Math.floor(l / 6);
        link.agg = { index: a, address: ipv6([0xfd00, 0, 0xa, a, 0, 0, 0, 1]), relayId: duidEn(LAB_ENTERPRISE, `agg-${a}`) };
      }
      links.push(link);
      this.linkByAddress.set(link.linkAddress.toString('latin1'), l);
      for (const id of [link.relayId, link.agg?.relayId]) {
        if (!id) continue;
        const k = id.toString('latin1');
        const list = byRelay.get(k);
        if (list) list.push(l);
        else byRelay.set(k, [l]);
      }
    }
    this.links = links;
    this.linksByRelayId = byRelay;
  }

  get clientCount(): number {
    return this.config.clients;
  }

  kind(i: number): ClientKind {
    const r = hash32(this.config.seed, i, 1) / 4294967296;
    if (r >= this.config.pdRatio) return 'na';
    return r < this.config.pdRatio / 2 ? 'both' : 'pd';
  }

  homeLink(i: number): number {
    return hash32(this.config.seed, i, 2) % this.config.links;
  }

  /** Another link than `current`, chosen by `r` (a client moving, e.g. a re-homed CPE). */
  otherLink(current: number, r: number): number {
    if (this.config.links === 1) return current;
    return (current + 1 + (r % (this.config.links - 1))) % this.config.links;
  }

  /** The client's DUID (RFC 8415 section 11): mostly DUID-LL, some DUID-LLT and DUID-EN. */
  clientDuid(i: number): Buffer {
    const h = hash32(this.config.seed, i, 3);
    const mac = [0x02, this.config.seed & 0xff, (i >>> 24) & 0xff, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff];
    const t = h % 10;
    if (t < 6) return Buffer.from([0, 3, 0, 1, ...mac]);
    if (t < 9) {
      const b = Buffer.alloc(14);
      b.writeUInt16BE(1, 0);
      b.writeUInt16BE(1, 2);
      b.writeUInt32BE(600_000_000 + (h >>> 8), 4);
      Buffer.from(mac).copy(b, 8);
      return b;
    }
    return duidEn(9, `cpe-${this.config.seed}-${i}`);
  }

  /** The client's DUID as a latin1 string (an index key), without building a Buffer. */
  clientDuidKey(i: number): string {
    const h = hash32(this.config.seed, i, 3) % 10;
    const s = this.config.seed & 0xff;
    const mac = String.fromCharCode(0x02, s, (i >>> 24) & 0xff, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff);
    if (h < 6) return '\x00\x03\x00\x01' + mac;
    return this.clientDuid(i).toString('latin1');
  }

  remoteId(i: number): { enterpriseNumber: number; remoteId: Buffer } | undefined {
    const h = hash32(this.config.seed, i, 4);
    if (h % 10 === 0) return undefined;
    return { enterpriseNumber: REMOTE_ID_ENTERPRISE, remoteId: Buffer.from([0x00, 0x10, 0x95, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff]) };
  }

  subscriberId(i: number): Buffer | undefined {
    return hash32(this.config.seed, i, 5) % 5 === 0 ? Buffer.from(`sub-${i}`, 'latin1') : undefined;
  }

  interfaceId(i: number): Buffer {
    return Buffer.from(`ge-0/${(i >>> 6) % 16}/${i % 48}`, 'latin1');
  }

  /** The client's link-local address, the peer-address the first relay saw. */
  clientLinkLocal(i: number): Buffer {
    return ipv6([0xfe80, 0, 0, 0, 0x0010, 0x95ff, (i >>> 16) & 0xffff, i & 0xffff]);
  }

  /** IA_NA address of client i on link l: 2001:db8:l::1:iiii:iiii. */
  address(i: number, l: number): Buffer {
    return ipv6([0x2001, 0xdb8, l, 0, 0, 1, (i >>> 16) & 0xffff, i & 0xffff]);
  }

  /** Delegated prefix of client i: the start of its /56 slot, delegated at prefixLength(i). */
  prefix(i: number): Buffer {
    const field = 0x800000 + i;
    return ipv6([0x2001, 0xdb8, field >>> 8, (field & 0xff) << 8, 0, 0, 0, 0]);
  }

  prefixLength(i: number): number {
    const r = hash32(this.config.seed, i, 6) % 10;
    return r < 7 ? 56 : r < 9 ? 60 : 64;
  }

  /** Client options beyond the leasequery ones, returned when requested (RFC 5007 4.4.2). */
  extraOptions(): Dhcp6Option[] {
    return [{ name: 'unknown', code: DNS_SERVERS_OPTION, data: this.dnsServer }];
  }

  /**
   * The RELAY-FORW chain of client i's last message on link l, as kept for
   * OPTION_LQ_RELAY_DATA: outermost relay first, the client's OPTION_RELAY_MSG removed.
   */
  relayChain(i: number, l: number): { peerAddress: Buffer; relayMessage: RelayMessage } {
    const link = this.links[l];
    const firstHop: Dhcp6Option[] = [{ name: 'interfaceId', code: 18, data: this.interfaceId(i) }];
    const rid = this.remoteId(i);
    if (rid) firstHop.push({ name: 'remoteId', code: 37, enterpriseNumber: rid.enterpriseNumber, remoteId: rid.remoteId });
    const sub = this.subscriberId(i);
    if (sub) firstHop.push({ name: 'subscriberId', code: 38, data: sub });
    firstHop.push({ name: 'relayId', code: 53, duid: link.relayId });
    const inner: RelayMessage = {
      kind: 'relay',
      msgType: MessageType.RELAY_FORW,
      hopCount: 0,
      linkAddress: link.linkAddress,
      peerAddress: this.clientLinkLocal(i),
      options: firstHop,
    };
    if (!link.agg) return { peerAddress: link.relayAddress, relayMessage: inner };
    const outer: RelayMessage = {
      kind: 'relay',
      msgType: MessageType.RELAY_FORW,
      hopCount: 1,
      linkAddress: ipv6([0, 0, 0, 0, 0, 0, 0, 0]),
      peerAddress: link.relayAddress,
      options: [
        { name: 'interfaceId', code: 18, data: Buffer.from(`agg-port-${l}`, 'latin1') },
        { name: 'relayId', code: 53, duid: link.agg.relayId },
        { name: 'relayMsg', code: 9, message: inner },
      ],
    };
    return { peerAddress: link.agg.address, relayMessage: outer };
  }

  /** The link a query's link-address designates: any address inside the link's /64. */
  resolveLink(address: Buffer): number | undefined {
    if (address.length !== 16) return undefined;
    const exact = this.linkByAddress.get(address.toString('latin1'));
    if (exact !== undefined) return exact;
    if (address.readUInt16BE(0) !== 0x2001 || address.readUInt16BE(2) !== 0xdb8) return undefined;
    const l = address.readUInt16BE(4);
    if (l >= this.config.links || address.readUInt16BE(6) !== 0) return undefined;
    return l;
  }

  /** Whether an address is in a link's /64 or in the delegated-prefix pool. */
  isConfiguredAddress(address: Buffer): boolean {
    if (address.length !== 16 || address[0] !== 0x20 || address[1] !== 0x01 || address[2] !== 0x0d || address[3] !== 0xb8) return false;
    const hi = (address[4] << 8) | address[5];
    if (hi < 0x8000) return hi < this.config.links && address[6] === 0 && address[7] === 0;
    const field = (hi << 8) | address[6];
    return field - 0x800000 < this.config.clients;
  }

  /** A stable DUID-LLT for lab server k (RFC 8415 section 11.2). */
  static serverDuid(seed: number, k: number): Buffer {
    const b = Buffer.alloc(14);
    b.writeUInt16BE(1, 0);
    b.writeUInt16BE(1, 2);
    b.writeUInt32BE(700_000_000 + (seed % 1_000_000), 4);
    Buffer.from([0x02, 0x00, 0x5e, 0x00, 0x53, k & 0xff]).copy(b, 8);
    return b;
  }
}
