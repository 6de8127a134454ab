/** IPv4 networks as the certificate stores them: uint32 address (host bits kept) and uint32 mask. */
import { CertError } from './errors.js';

export interface IPv4Net {
  /** Big-endian uint32 (10.1.2.3 → 0x0a010203). */
  readonly addr: number;
  /** Big-endian uint32 netmask (/16 → 0xffff0000); not required to be contiguous. */
  readonly mask: number;
}

export function ipToString(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

export function prefixToMask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** Prefix length of a contiguous mask, or -1 (Go's `simpleMaskLength`). */
export function maskPrefixLength(mask: number): number {
  const inv = ~mask >>> 0;
  if ((inv & (inv + 1)) !== 0) return -1;
  return Math.clz32(inv);
}

/** Go's `(*net.IPNet).String()`: `10.1.2.3/16`, or `ip/hexmask` for a non-contiguous mask. */
export function ipNetToString(n: IPv4Net): string {
  const l = maskPrefixLength(n.mask);
  if (l >= 0) return `${ipToString(n.addr)}/${l}`;
  return `${ipToString(n.addr)}/${(n.mask >>> 0).toString(16).padStart(8, '0')}`;
}

/** Go's `net.IPNet.Contains` for IPv4 (the network's own host bits are ignored). */
export function netContains(net: IPv4Net, addr: number): boolean {
  return (net.addr & net.mask) >>> 0 === (addr & net.mask) >>> 0;
}

/** Go's `maskContains`: every byte of the CA mask is <= the same byte of the cert mask. */
export function maskBytesWithin(caMask: number, certMask: number): boolean {
  for (let shift = 24; shift >= 0; shift -= 8) {
    if (((caMask >>> shift) & 255) > ((certMask >>> shift) & 255)) return false;
  }
  return true;
}

const DEC_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

/** Parses dotted-quad IPv4 like Go's `net.ParseIP` (no leading zeros); `null` when invalid. */
export function parseIPv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0;
  for (const p of parts) {
    if (!DEC_OCTET.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v;
}

export interface ParsedCidr {
  /** The address as typed (host bits kept). */
  readonly ip: IPv4Net;
  /** The network form (host bits cleared), as Go's `ParseCIDR` second result. */
  readonly network: IPv4Net;
}

/**
 * Go's `net.ParseCIDR` restricted to IPv4. Throws `ERR_CERT_INVALID_ARGUMENT` with Go's
 * "invalid CIDR address: X"; `ipv6: true` on the error marks a valid IPv6 CIDR (callers print
 * Go's "can only be ipv4" message for it).
 */
export function parseCidr(s: string): ParsedCidr {
  const slash = s.indexOf('/');
  const bad = (): CertError => new CertError('ERR_CERT_INVALID_ARGUMENT', `invalid CIDR address: ${s}`);
  if (slash < 0) throw bad();
  const addrPart = s.slice(0, slash);
  const bitsPart = s.slice(slash + 1);
  if (!/^[0-9]+$/.test(bitsPart) || bitsPart.length > 10) throw bad();
  const bits = Number(bitsPart);
  const addr = parseIPv4(addrPart);
  if (addr === null) {
    if (isIPv6(addrPart) && bits <= 128) throw Object.assign(bad(), { ipv6: true });
    throw bad();
  }
  if (bits > 32) throw bad();
  const mask = prefixToMask(bits);
  return { ip: { addr, mask }, network: { addr: (addr & mask) >>> 0, mask } };
}

function isIPv6(s: string): boolean {
  if (!s.includes(':') || !/^[0-9A-Fa-f:.]+$/.test(s)) return false;
  try {
    return new URL(`http://[${s}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}
