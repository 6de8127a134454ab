/** PEM and certificate byte surgery, and IPv4/ICMP packets, for the probe and hostile tests. */
import { concat, fieldBytes, firstField, readFields } from './pb.js';

export interface PemBlock {
  readonly type: string;
  readonly bytes: Uint8Array;
}

export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([^-]+)-----([\s\S]*?)-----END \1-----/g;
  for (const m of text.matchAll(re))
    out.push({
      type: m[1] as string,
      bytes: new Uint8Array(Buffer.from((m[2] as string).replace(/\s+/g, ''), 'base64')),
    });
  return out;
}

export function pemEncode(type: string, bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

/** The first block of `type` (throws when absent). */
export function pemBytes(text: string, type: string): Uint8Array {
  const b = pemBlocks(text).find((x) => x.type === type);
  if (!b) throw new Error(`no ${type} PEM block`);
  return b.bytes;
}

export const CERT_PEM = 'NEBULA CERTIFICATE';
export const X25519_KEY_PEM = 'NEBULA X25519 PRIVATE KEY';

/** A raw certificate → (details, signature). */
export function splitCert(cert: Uint8Array): { details: Uint8Array; signature: Uint8Array } {
  const f = readFields(cert);
  const d = firstField(f, 1);
  if (!d) throw new Error('certificate has no details');
  return { details: d.bytes, signature: firstField(f, 2)?.bytes ?? new Uint8Array(0) };
}

/** Details with the PublicKey field (7) cut out, the rest byte-identical. */
export function detailsWithoutPublicKey(details: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of readFields(details)) if (f.num !== 7) parts.push(details.subarray(f.start, f.end));
  return concat(...parts);
}

/** What goes into the handshake: the certificate without its public key (it is the Noise static). */
export function certForHandshake(cert: Uint8Array): Uint8Array {
  const { details, signature } = splitCert(cert);
  return concat(fieldBytes(1, detailsWithoutPublicKey(details), true), fieldBytes(2, signature));
}

/** The same certificate with one signature bit flipped. */
export function forgeSignature(cert: Uint8Array): Uint8Array {
  const { details, signature } = splitCert(cert);
  const sig = signature.slice();
  sig[sig.length >> 1] = (sig[sig.length >> 1] as number) ^ 0x01;
  return concat(fieldBytes(1, details, true), fieldBytes(2, sig));
}

/** The same certificate with its name replaced (signature left stale: a forged certificate). */
export function renameCert(cert: Uint8Array, name: string): Uint8Array {
  const { details, signature } = splitCert(cert);
  const parts: Uint8Array[] = [fieldBytes(1, new TextEncoder().encode(name))];
  for (const f of readFields(details)) if (f.num !== 1) parts.push(details.subarray(f.start, f.end));
  return concat(fieldBytes(1, concat(...parts), true), fieldBytes(2, signature));
}

/** First IP (vpnIp) of a certificate, as a uint32. */
export function certVpnIp(cert: Uint8Array): number {
  const ips = firstField(readFields(splitCert(cert).details), 2);
  if (!ips) throw new Error('certificate has no ips');
  // packed repeated uint32: read the first varint
  let v = 0;
  let s = 0;
  for (const c of ips.bytes) {
    v += (c & 0x7f) * 2 ** s;
    s += 7;
    if (c < 0x80) break;
  }
  return v >>> 0;
}

export function ipToU32(ip: string): number {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255))
    throw new Error(`bad IPv4 ${ip}`);
  return (
    (((p[0] as number) << 24) | ((p[1] as number) << 16) | ((p[2] as number) << 8) | (p[3] as number)) >>> 0
  );
}

export function u32ToIp(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

function checksum(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i + 1 < len; i += 2) s += ((b[off + i] as number) << 8) | (b[off + i + 1] as number);
  if (len & 1) s += (b[off + len - 1] as number) << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** An IPv4 ICMP echo request (type 8) from `src` to `dst`. */
export function icmpEcho(src: number, dst: number, id: number, seq: number, payloadLen = 32): Uint8Array {
  const total = 20 + 8 + payloadLen;
  const b = new Uint8Array(total);
  const v = new DataView(b.buffer);
  b[0] = 0x45;
  v.setUint16(2, total);
  v.setUint16(4, (id + seq) & 0xffff);
  b[8] = 64;
  b[9] = 1;
  v.setUint32(12, src >>> 0);
  v.setUint32(16, dst >>> 0);
  v.setUint16(10, checksum(b, 0, 20));
  b[20] = 8;
  v.setUint16(24, id & 0xffff);
  v.setUint16(26, seq & 0xffff);
  for (let i = 0; i < payloadLen; i++) b[28 + i] = (i * 7 + seq) & 0xff;
  v.setUint16(22, checksum(b, 20, 8 + payloadLen));
  return b;
}

/** {src, dst, id, seq} of an IPv4 ICMP echo reply (type 0), else null. */
export function parseEchoReply(p: Uint8Array): { src: number; dst: number; id: number; seq: number } | null {
  if (p.length < 28 || (p[0] as number) >> 4 !== 4 || p[9] !== 1) return null;
  const ihl = ((p[0] as number) & 15) * 4;
  if (p.length < ihl + 8 || p[ihl] !== 0) return null;
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  return { src: v.getUint32(12), dst: v.getUint32(16), id: v.getUint16(ihl + 4), seq: v.getUint16(ihl + 6) };
}
