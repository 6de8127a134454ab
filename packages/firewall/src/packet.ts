/** IPv4 packet → firewall tuple, as 1.6.1's `newPacket` (dataplane.md §2). No allocation. */

export interface FirewallPacket {
  localIp: number;
  remoteIp: number;
  localPort: number;
  remotePort: number;
  protocol: number;
  /** A non-first fragment (fragment offset ≠ 0). */
  fragment: boolean;
  /**
   * For the TCP RTT metric: where the TCP header starts in `raw`, or -1 when the packet has no
   * complete one. Read only on the rare conntrack paths that need it (`tcpFlags`/`tcpSeq`/`tcpAck`).
   */
  tcpOff: number;
  raw: Uint8Array;
}

const NO_BYTES = new Uint8Array(0);

/** The TCP flags byte; the packet must have `tcpOff >= 0`. */
export function tcpFlags(p: FirewallPacket): number {
  return p.raw[p.tcpOff + 13]!;
}

/** The TCP sequence number as int32; the packet must have `tcpOff >= 0`. */
export function tcpSeq(p: FirewallPacket): number {
  const b = p.raw;
  const t = p.tcpOff;
  return (b[t + 4]! << 24) | (b[t + 5]! << 16) | (b[t + 6]! << 8) | b[t + 7]!;
}

/** The TCP acknowledgement number as int32; the packet must have `tcpOff >= 0`. */
export function tcpAck(p: FirewallPacket): number {
  const b = p.raw;
  const t = p.tcpOff;
  return (b[t + 8]! << 24) | (b[t + 9]! << 16) | (b[t + 10]! << 8) | b[t + 11]!;
}

/**
 * A packet to parse into. The addresses start as -0, a double to V8: they hold uint32s, and half of
 * those (128.0.0.0 and up: 192.168/16, 203.0.113/24) are doubles too. A field that started as a
 * small integer would change representation at the first such address, giving the object a new map
 * and throwing away the code compiled for the old one (the node's data-path warm-up, its first
 * packets). -0 is 0 to every comparison, `>>> 0` and `| 0`.
 */
export function newFirewallPacket(): FirewallPacket {
  return {
    localIp: -0,
    remoteIp: -0,
    localPort: 0,
    remotePort: 0,
    protocol: 0,
    fragment: false,
    tcpOff: -1,
    raw: NO_BYTES,
  };
}

export const PACKET_OK = 0;
/** "packet is less than 20 bytes" */
export const PACKET_TOO_SHORT = 1;
/** "packet is not ipv4, type: N" (all IPv6 is dropped) */
export const PACKET_NOT_IPV4 = 2;
/** "packet had an invalid header length" (IHL × 4 < 20) */
export const PACKET_BAD_IHL = 3;
/** "packet is less than N bytes, ip header len: M" (no room for the ports) */
export const PACKET_TRUNCATED = 4;

export type PacketError =
  | typeof PACKET_TOO_SHORT
  | typeof PACKET_NOT_IPV4
  | typeof PACKET_BAD_IHL
  | typeof PACKET_TRUNCATED;

/**
 * Parses the IPv4 packet `buf[off, off+len)` into `out`. `incoming` = from the tunnel (local is the
 * destination); otherwise from tun (local is the source). Returns `PACKET_OK` or an error code;
 * on error `out` may be partly written.
 */
export function parsePacket(
  buf: Uint8Array,
  off: number,
  len: number,
  incoming: boolean,
  out: FirewallPacket,
): number {
  if (len < 20) return PACKET_TOO_SHORT;
  const b0 = buf[off]!;
  if (b0 >> 4 !== 4) return PACKET_NOT_IPV4;
  const ihl = (b0 & 0x0f) << 2;
  if (ihl < 20) return PACKET_BAD_IHL;
  const fragment = ((buf[off + 6]! & 0x1f) | buf[off + 7]!) !== 0;
  const protocol = buf[off + 9]!;
  // ICMP and non-first fragments carry no ports; everything else needs 4 bytes of them.
  const hasPorts = !fragment && protocol !== 1;
  if (len < (hasPorts ? ihl + 4 : ihl)) return PACKET_TRUNCATED;
  const src =
    ((buf[off + 12]! << 24) | (buf[off + 13]! << 16) | (buf[off + 14]! << 8) | buf[off + 15]!) >>> 0;
  const dst =
    ((buf[off + 16]! << 24) | (buf[off + 17]! << 16) | (buf[off + 18]! << 8) | buf[off + 19]!) >>> 0;
  let srcPort = 0;
  let dstPort = 0;
  if (hasPorts) {
    const p = off + ihl;
    srcPort = (buf[p]! << 8) | buf[p + 1]!;
    dstPort = (buf[p + 2]! << 8) | buf[p + 3]!;
  }
  out.protocol = protocol;
  out.fragment = fragment;
  if (protocol === 6 && hasPorts && len >= ihl + 14) {
    out.tcpOff = off + ihl;
    out.raw = buf;
  } else out.tcpOff = -1;
  if (incoming) {
    out.localIp = dst;
    out.remoteIp = src;
    out.localPort = dstPort;
    out.remotePort = srcPort;
  } else {
    out.localIp = src;
    out.remoteIp = dst;
    out.localPort = srcPort;
    out.remotePort = dstPort;
  }
  return 0;
}
