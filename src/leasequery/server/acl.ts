// Per-requestor access control (RFC 5007 section 4.4.1: "A server may also restrict
// LEASEQUERY messages, or query-types, to certain requestors"; RFC 5460 section 7.1 and
// RFC 7653 section 10: restrict connections by source, and requestors to query types).
//
// Rules are tried in order; the first whose prefix contains the requestor's address
// and whose transports (and query types, when the rule names some) include the request
// decides. No matching rule means deny.
//
// Default (no `acl` configured): loopback only (::1/128, 127.0.0.0/8 and its IPv4-mapped
// form), every transport and query type. A server reachable from elsewhere must be
// given an explicit ACL: leasequery exposes every subscriber's addresses and location.
import ipaddr from 'ipaddr.js';

export type Transport = 'udp' | 'bulk' | 'active';

export interface AclRule {
  /** Source prefix, e.g. '2001:db8:ac::/48', '10.0.0.0/8', '::/0' (an address alone means /128 or /32). */
  prefix: string;
  /** Default true. A deny rule stops the search with a denial. */
  allow?: boolean;
  /** Transports the rule applies to; default all. 'bulk' and 'active' are TCP. */
  transports?: Transport[];
  /** Query types (1..5) the rule applies to; default all. */
  queryTypes?: number[];
}

export const DEFAULT_ACL: readonly AclRule[] = [{ prefix: '::1/128' }, { prefix: '127.0.0.0/8' }, { prefix: '::ffff:127.0.0.0/104' }];

interface CompiledRule {
  net: [ipaddr.IPv4 | ipaddr.IPv6, number];
  allow: boolean;
  transports?: ReadonlySet<Transport>;
  queryTypes?: ReadonlySet<number>;
}

const CACHE_LIMIT = 4096;

export class Acl {
  private readonly rules: CompiledRule[];
  /** source address text -> parsed form (requestors are few; the UDP path must not reparse). */
  private readonly parsed = new Map<string, ipaddr.IPv4 | ipaddr.IPv6 | null>();
  /** source address text -> decisions by [transport][query type 0..5], 0 = not yet known, 1 allow, 2 deny. */
  private readonly decisions = new Map<string, Uint8Array>();

  constructor(rules: readonly AclRule[] = DEFAULT_ACL) {
    this.rules = rules.map((r) => {
      let net: [ipaddr.IPv4 | ipaddr.IPv6, number];
      try {
        net = r.prefix.includes('/') ? ipaddr.parseCIDR(r.prefix) : [ipaddr.parse(r.prefix), ipaddr.parse(r.prefix).kind() === 'ipv6' ? 128 : 32];
      } catch (err) {
        throw new Error(`ACL rule prefix '${r.prefix}' is not an address prefix: ${(err as Error).message}`);
      }
      for (const q of r.queryTypes ?? []) {
        if (!Number.isInteger(q) || q < 1 || q > 255) throw new Error(`ACL rule for ${r.prefix}: query type ${q} is not 1..255`);
      }
      return {
        net,
        allow: r.allow ?? true,
        transports: r.transports ? new Set(r.transports) : undefined,
        queryTypes: r.queryTypes ? new Set(r.queryTypes) : undefined,
      };
    });
  }

  /** Rules allowing every source everything (tests, or a server behind its own firewall). */
  static allowAll(): Acl {
    return new Acl([{ prefix: '::/0' }, { prefix: '0.0.0.0/0' }]);
  }

  private parse(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
    let a = this.parsed.get(address);
    if (a !== undefined) return a;
    try {
      a = ipaddr.parse(address.includes('%') ? address.slice(0, address.indexOf('%')) : address);
    } catch {
      a = null;
    }
    if (this.parsed.size >= CACHE_LIMIT) this.parsed.clear();
    this.parsed.set(address, a);
    return a;
  }

  private contains(rule: CompiledRule, addr: ipaddr.IPv4 | ipaddr.IPv6): boolean {
    const [net, bits] = rule.net;
    if (addr.kind() === net.kind()) return addr.match(net, bits);
    // An IPv4 requestor on a dual-stack socket shows up as ::ffff:a.b.c.d, and the other way round.
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && net.kind() === 'ipv4') {
      return (addr as ipaddr.IPv6).toIPv4Address().match(net, bits);
    }
    if (addr.kind() === 'ipv4' && net.kind() === 'ipv6') return (addr as ipaddr.IPv4).toIPv4MappedAddress().match(net, bits);
    return false;
  }

  /**
   * May `address` use `transport` for `queryType`? Without a query type: may it use the
   * transport at all (is there any rule that could allow something)? — the check made
   * when a TCP connection is accepted.
   */
  allows(address: string, transport: Transport, queryType?: number): boolean {
    if (queryType !== undefined && queryType > 5) return this.decide(address, transport, queryType);
    let d = this.decisions.get(address);
    if (!d) {
      if (this.decisions.size >= CACHE_LIMIT) this.decisions.clear();
      this.decisions.set(address, (d = new Uint8Array(21)));
    }
    const t = transport === 'udp' ? 0 : transport === 'bulk' ? 1 : 2;
    // [0..17]: transport x query type 0..5; [18..20]: transport, any query type.
    const i = queryType === undefined ? 18 + t : t * 6 + queryType;
    if (d[i] === 0) d[i] = this.decide(address, transport, queryType) ? 1 : 2;
    return d[i] === 1;
  }

  private decide(address: string, transport: Transport, queryType?: number): boolean {
    const addr = this.parse(address);
    if (!addr) return false;
    for (const r of this.rules) {
      if (r.transports && !r.transports.has(transport)) continue;
      if (!this.contains(r, addr)) continue;
      if (queryType === undefined) {
        if (r.allow) return true;
        if (!r.queryTypes) return false;
        continue;
      }
      if (r.queryTypes && !r.queryTypes.has(queryType)) continue;
      return r.allow;
    }
    return false;
  }
}
