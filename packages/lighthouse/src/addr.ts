/**
 * Underlay addresses as small mutable objects. The node keeps UDP addresses in `Uint32Array` slots of
 * 6 words (`[family, port, w0, w1, w2, w3]`, contracts.md); `UdpAddr` mirrors that layout so
 * copying between the two is six word moves. IPv4: `w0` is the address as a big-endian uint32.
 * IPv6: `w0..w3` are the 16 address bytes as four big-endian uint32 words (so protobuf Ip6AndPort
 * Hi = w0:w1 and Lo = w2:w3).
 */
import { LighthouseError } from './errors.js';

export const ADDR_WORDS = 6;

export class UdpAddr {
  family: 4 | 6 = 4;
  port = 0;
  w0 = 0;
  w1 = 0;
  w2 = 0;
  w3 = 0;

  static v4(ip: number, port: number): UdpAddr {
    return new UdpAddr().setV4(ip, port);
  }

  static v6(w0: number, w1: number, w2: number, w3: number, port: number): UdpAddr {
    return new UdpAddr().setV6(w0, w1, w2, w3, port);
  }

  /** Parses `ip:port` / `[ip6]:port`; throws `ERR_INVALID_ARGUMENT`. */
  static parse(text: string): UdpAddr {
    const a = new UdpAddr();
    if (!parseUdpAddr(text, a)) throw new LighthouseError('ERR_INVALID_ARGUMENT', `invalid address: ${text}`);
    return a;
  }

  setV4(ip: number, port: number): this {
    this.family = 4;
    this.port = port;
    this.w0 = ip >>> 0;
    this.w1 = 0;
    this.w2 = 0;
    this.w3 = 0;
    return this;
  }

  /** Stores an IPv6 address; a v4-mapped one (::ffff:a.b.c.d) becomes family 4, as Go's `To4()` treats it. */
  setV6(w0: number, w1: number, w2: number, w3: number, port: number): this {
    if (w0 === 0 && w1 === 0 && w2 >>> 0 === 0xffff) return this.setV4(w3, port);
    this.family = 6;
    this.port = port;
    this.w0 = w0 >>> 0;
    this.w1 = w1 >>> 0;
    this.w2 = w2 >>> 0;
    this.w3 = w3 >>> 0;
    return this;
  }

  copyFrom(o: UdpAddr): this {
    this.family = o.family;
    this.port = o.port;
    this.w0 = o.w0;
    this.w1 = o.w1;
    this.w2 = o.w2;
    this.w3 = o.w3;
    return this;
  }

  equals(o: UdpAddr): boolean {
    return (
      this.family === o.family &&
      this.port === o.port &&
      this.w0 === o.w0 &&
      this.w1 === o.w1 &&
      this.w2 === o.w2 &&
      this.w3 === o.w3
    );
  }

  /** Writes into a node address slot (`[family, port, w0..w3]`). */
  writeTo(addrs: Uint32Array, slot: number): void {
    const b = slot * ADDR_WORDS;
    addrs[b] = this.family;
    addrs[b + 1] = this.port;
    addrs[b + 2] = this.w0;
    addrs[b + 3] = this.w1;
    addrs[b + 4] = this.w2;
    addrs[b + 5] = this.w3;
  }

  /** Reads a node address slot; a family other than 6 is read as IPv4. */
  readFrom(addrs: Uint32Array, slot: number): this {
    const b = slot * ADDR_WORDS;
    if (addrs[b] === 6)
      return this.setV6(addrs[b + 2]!, addrs[b + 3]!, addrs[b + 4]!, addrs[b + 5]!, addrs[b + 1]!);
    return this.setV4(addrs[b + 2]!, addrs[b + 1]!);
  }

  clone(): UdpAddr {
    return new UdpAddr().copyFrom(this);
  }

  /** Go's `udp.Addr.String()`: `1.2.3.4:5`, `[2001:db8::1]:5`. */
  toString(): string {
    return this.family === 4
      ? `${formatIp4(this.w0)}:${this.port}`
      : `[${formatIp6(this.w0, this.w1, this.w2, this.w3)}]:${this.port}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

export function formatIp4(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** RFC 5952 text form (longest zero run compressed, lowercase). */
export function formatIp6(w0: number, w1: number, w2: number, w3: number): string {
  const g = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return g.map((x) => x.toString(16)).join(':');
  const head = g
    .slice(0, bestStart)
    .map((x) => x.toString(16))
    .join(':');
  const tail = g
    .slice(bestStart + bestLen)
    .map((x) => x.toString(16))
    .join(':');
  return `${head}::${tail}`;
}

/** Dotted-quad IPv4 to uint32, or -1. */
export function parseIp4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) return -1;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return -1;
    const n = Number(p);
    if (n > 255) return -1;
    v = v * 256 + n;
  }
  return v >>> 0;
}

/** IPv6 text (with `::` and an optional trailing dotted quad) into 4 words; false if invalid. */
export function parseIp6(text: string, out: Uint32Array | number[]): boolean {
  if (text.length === 0 || text.includes('%')) return false;
  let head: string[];
  let tail: string[];
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    if (text.indexOf('::', dbl + 1) >= 0) return false;
    head = dbl === 0 ? [] : text.slice(0, dbl).split(':');
    tail = dbl + 2 === text.length ? [] : text.slice(dbl + 2).split(':');
  } else {
    head = text.split(':');
    tail = [];
  }
  const groups: number[] = [];
  const pushGroups = (list: string[], dst: number[]): boolean => {
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (i === list.length - 1 && s.includes('.')) {
        const v4 = parseIp4(s);
        if (v4 < 0) return false;
        dst.push(v4 >>> 16, v4 & 0xffff);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(s)) return false;
      dst.push(Number.parseInt(s, 16));
    }
    return true;
  };
  const h: number[] = [];
  const t: number[] = [];
  // a dotted quad may only end the address
  if (!pushGroups(head, h) || (tail.length > 0 && head.some((s) => s.includes('.')))) return false;
  if (!pushGroups(tail, t)) return false;
  if (dbl >= 0) {
    if (h.length + t.length > 7) return false;
    groups.push(...h);
    for (let i = h.length + t.length; i < 8; i++) groups.push(0);
    groups.push(...t);
  } else {
    if (h.length !== 8) return false;
    groups.push(...h);
  }
  for (let i = 0; i < 4; i++) out[i] = ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
  return true;
}

const scratch6 = new Uint32Array(4);

/** Parses an IP literal into `out` (port untouched, set to 0). */
export function parseIpInto(text: string, out: UdpAddr): boolean {
  const v4 = parseIp4(text);
  if (v4 >= 0) {
    out.setV4(v4, 0);
    return true;
  }
  if (!parseIp6(text, scratch6)) return false;
  out.setV6(scratch6[0]!, scratch6[1]!, scratch6[2]!, scratch6[3]!, 0);
  return true;
}

/** Splits Go-style `host:port` / `[host]:port`; null if malformed. */
export function splitHostPort(text: string): { host: string; port: number } | null {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return null;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0 || text.indexOf(':') !== colon) return null;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port > 65535) return null;
  return { host, port };
}

/** Parses an `ip:port` literal into `out`. */
export function parseUdpAddr(text: string, out: UdpAddr): boolean {
  const hp = splitHostPort(text);
  if (!hp || !parseIpInto(hp.host, out)) return false;
  out.port = hp.port;
  return true;
}

/** RFC 1918 (Go's `isPrivateIP`: 10/8, 172.16/12, 192.168/16). */
export function isPrivateV4(ip: number): boolean {
  return ip >>> 24 === 10 || ip >>> 20 === 0xac1 || ip >>> 16 === 0xc0a8;
}

/** Mask of a prefix length for IPv4 as uint32. */
export function maskOf(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}
