// A minimal pcap writer (libpcap format, Ethernet link type) for checking the codec's
// output with an independent dissector (tshark). Builds Ethernet + IPv6 + UDP or TCP
// frames with correct lengths and checksums; no I/O here.

const ETHERTYPE_IPV6 = 0x86dd;
const UDP = 17;
const TCP = 6;
// RFC 7042 documentation MAC addresses and RFC 3849 documentation IPv6 addresses.
const MAC_A = Buffer.from('00005e005301', 'hex');
const MAC_B = Buffer.from('00005e005302', 'hex');
export const REQUESTOR = Buffer.from('20010db8000000000000000000000001', 'hex');
export const SERVER = Buffer.from('20010db8000000000000000000000002', 'hex');

export interface Endpoint {
  address: Buffer;
  port: number;
}

/** The Internet checksum of an IPv6 upper-layer packet (RFC 8200 section 8.1). */
function checksum(src: Buffer, dst: Buffer, protocol: number, segment: Buffer): number {
  const pseudo = Buffer.alloc(40);
  src.copy(pseudo, 0);
  dst.copy(pseudo, 16);
  pseudo.writeUInt32BE(segment.length, 32);
  pseudo[39] = protocol;
  let sum = 0;
  for (const part of [pseudo, segment]) {
    for (let i = 0; i < part.length; i += 2) sum += (part[i] << 8) | (i + 1 < part.length ? part[i + 1] : 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  return protocol === UDP && c === 0 ? 0xffff : c;
}

function ipv6Frame(from: Endpoint, to: Endpoint, protocol: number, segment: Buffer): Buffer {
  const eth = Buffer.alloc(14);
  MAC_B.copy(eth, 0);
  MAC_A.copy(eth, 6);
  eth.writeUInt16BE(ETHERTYPE_IPV6, 12);
  const ip = Buffer.alloc(40);
  ip.writeUInt32BE(0x60000000, 0);
  ip.writeUInt16BE(segment.length, 4);
  ip[6] = protocol;
  ip[7] = 64;
  from.address.copy(ip, 8);
  to.address.copy(ip, 24);
  return Buffer.concat([eth, ip, segment]);
}

export function udpFrame(from: Endpoint, to: Endpoint, payload: Buffer): Buffer {
  const udp = Buffer.alloc(8 + payload.length);
  udp.writeUInt16BE(from.port, 0);
  udp.writeUInt16BE(to.port, 2);
  udp.writeUInt16BE(udp.length, 4);
  payload.copy(udp, 8);
  udp.writeUInt16BE(checksum(from.address, to.address, UDP, udp), 6);
  return ipv6Frame(from, to, UDP, udp);
}

/** One PSH+ACK segment of an (assumed established) connection. */
export function tcpFrame(from: Endpoint, to: Endpoint, seq: number, ack: number, payload: Buffer): Buffer {
  const tcp = Buffer.alloc(20 + payload.length);
  tcp.writeUInt16BE(from.port, 0);
  tcp.writeUInt16BE(to.port, 2);
  tcp.writeUInt32BE(seq >>> 0, 4);
  tcp.writeUInt32BE(ack >>> 0, 8);
  tcp[12] = 5 << 4; // data offset: 5 words, no options
  tcp[13] = 0x18; // PSH, ACK
  tcp.writeUInt16BE(0xffff, 14); // window
  payload.copy(tcp, 20);
  tcp.writeUInt16BE(checksum(from.address, to.address, TCP, tcp), 16);
  return ipv6Frame(from, to, TCP, tcp);
}

/** A pcap file (microsecond timestamps, Ethernet) of the frames, one second apart. */
export function pcapFile(frames: Buffer[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(0xffff, 16); // snaplen
  header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const records = frames.map((f, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_730_430_840 + i, 0);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    return Buffer.concat([r, f]);
  });
  return Buffer.concat([header, ...records]);
}
