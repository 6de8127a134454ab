/**
 * IPv4/IPv6 CIDRs for allow lists and preferred ranges. The two families never match each other,
 * as with Go's `net.IPNet.Contains` and nebula's `cidr.Tree6`. Lists here are tiny (config-sized),
 * so lookups are linear scans over entries sorted most-specific first.
 */
import { parseIp4, parseIp6, type UdpAddr } from './addr.js';

export interface Cidr {
  readonly family: 4 | 6;
  readonly bits: number;
  /** Network address words (masked); IPv4 uses w[0]. */
  readonly w: readonly [number, number, number, number];
  readonly text: string;
}

function wordMask(bits: number, word: number): number {
  const b = bits - word * 32;
  return b <= 0 ? 0 : b >= 32 ? 0xffffffff : (0xffffffff << (32 - b)) >>> 0;
}

/** Go's `net.ParseCIDR` (host bits cleared); null when invalid. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const ipText = text.slice(0, slash);
  const bitsText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText)) return null;
  const bits = Number(bitsText);
  const v4 = parseIp4(ipText);
  if (v4 >= 0) {
    if (bits > 32) return null;
    const net = (v4 & wordMask(bits, 0)) >>> 0;
    return { family: 4, bits, w: [net, 0, 0, 0], text };
  }
  const w = [0, 0, 0, 0];
  if (!parseIp6(ipText, w) || bits > 128) return null;
  return {
    family: 6,
    bits,
    w: [
      (w[0]! & wordMask(bits, 0)) >>> 0,
      (w[1]! & wordMask(bits, 1)) >>> 0,
      (w[2]! & wordMask(bits, 2)) >>> 0,
      (w[3]! & wordMask(bits, 3)) >>> 0,
    ],
    text,
  };
}

export function cidrContains4(c: Cidr, ip: number): boolean {
  return c.family === 4 && (ip & wordMask(c.bits, 0)) >>> 0 === c.w[0];
}

export function cidrContains6(c: Cidr, w0: number, w1: number, w2: number, w3: number): boolean {
  if (c.family !== 6) return false;
  const b = c.bits;
  return (
    (w0 & wordMask(b, 0)) >>> 0 === c.w[0] &&
    (w1 & wordMask(b, 1)) >>> 0 === c.w[1] &&
    (w2 & wordMask(b, 2)) >>> 0 === c.w[2] &&
    (w3 & wordMask(b, 3)) >>> 0 === c.w[3]
  );
}

export function cidrContains(c: Cidr, a: UdpAddr): boolean {
  return a.family === 4 ? cidrContains4(c, a.w0) : cidrContains6(c, a.w0, a.w1, a.w2, a.w3);
}

/** A set of CIDRs (top-level `preferred_ranges`): membership only. */
export class CidrSet {
  readonly cidrs: readonly Cidr[];
  constructor(cidrs: readonly Cidr[] = []) {
    this.cidrs = cidrs;
  }

  /** Parses a list of CIDR strings; throws with the offending entry. */
  static parse(list: readonly string[]): CidrSet {
    const out: Cidr[] = [];
    for (const s of list) {
      const c = parseCidr(s);
      if (!c) throw new Error(`invalid CIDR: ${s}`);
      out.push(c);
    }
    return new CidrSet(out);
  }

  contains(a: UdpAddr): boolean {
    for (let i = 0; i < this.cidrs.length; i++) if (cidrContains(this.cidrs[i]!, a)) return true;
    return false;
  }
}

export const EMPTY_CIDR_SET = new CidrSet();
