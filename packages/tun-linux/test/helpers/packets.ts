/** A tiny IPv4/ICMP/UDP builder and checker for the tests (RFC 791, 792, 768, 1071). */

export function ipv4(s: string): number {
  return s.split('.').reduce((a, o) => a * 256 + Number(o), 0) >>> 0;
}

/** RFC 1071 one's-complement sum over `b[off..off+len)`, folded, not inverted. */
export function sum16(b: Uint8Array, off: number, len: number, init = 0): number {
  let s = init;
  for (let i = 0; i + 1 < len; i += 2) s += (b[off + i] << 8) | b[off + i + 1];
  if (len & 1) s += b[off + len - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function ipHeader(b: Uint8Array, total: number, proto: number, src: number, dst: number, id: number): void {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  v.setUint8(0, 0x45);
  v.setUint16(2, total);
  v.setUint16(4, id);
  v.setUint16(6, 0x4000); // DF
  v.setUint8(8, 64);
  v.setUint8(9, proto);
  v.setUint32(12, src);
  v.setUint32(16, dst);
  v.setUint16(10, ~sum16(b, 0, 20) & 0xffff);
}

export function icmpEcho(
  src: string,
  dst: string,
  ident: number,
  seq: number,
  payload: Uint8Array,
): Uint8Array {
  const b = new Uint8Array(28 + payload.length);
  ipHeader(b, b.length, 1, ipv4(src), ipv4(dst), seq);
  const v = new DataView(b.buffer);
  v.setUint8(20, 8);
  v.setUint16(24, ident);
  v.setUint16(26, seq);
  b.set(payload, 28);
  v.setUint16(22, ~sum16(b, 20, b.length - 20) & 0xffff);
  return b;
}

/** UDP with checksum 0 ("none", allowed for IPv4). */
export function udp(src: string, dst: string, sport: number, dport: number, payloadLen: number): Uint8Array {
  const b = new Uint8Array(28 + payloadLen);
  ipHeader(b, b.length, 17, ipv4(src), ipv4(dst), 0);
  const v = new DataView(b.buffer);
  v.setUint16(20, sport);
  v.setUint16(22, dport);
  v.setUint16(24, 8 + payloadLen);
  return b;
}

export interface ParsedIcmp {
  src: number;
  dst: number;
  ipChecksumOk: boolean;
  icmpChecksumOk: boolean;
  type: number;
  ident: number;
  seq: number;
  payload: Uint8Array;
}

export function parseIcmp(b: Uint8Array): ParsedIcmp | null {
  if (b.length < 28 || b[0] >> 4 !== 4 || b[9] !== 1) return null;
  const ihl = (b[0] & 15) * 4;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const total = v.getUint16(2);
  return {
    src: v.getUint32(12),
    dst: v.getUint32(16),
    ipChecksumOk: sum16(b, 0, ihl) === 0xffff,
    icmpChecksumOk: sum16(b, ihl, total - ihl) === 0xffff,
    type: b[ihl],
    ident: v.getUint16(ihl + 4),
    seq: v.getUint16(ihl + 6),
    payload: b.subarray(ihl + 8, total),
  };
}
