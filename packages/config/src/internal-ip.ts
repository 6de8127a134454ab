import { isIPv6 } from 'node:net';
import type { HostPort, Ipv4Cidr } from './types.js';

/** Strict dotted quad (no leading zeros, as Go >= 1.17) → uint32, or undefined. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v >>> 0;
}

export function formatIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

export function maskOf(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** `a.b.c.d/n` → the network (address masked, as Go's net.ParseCIDR), or undefined. */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseIpv4(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (addr === undefined || !/^(0|[1-9]\d?)$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > 32) return undefined;
  const mask = maskOf(bits);
  return { addr: (addr & mask) >>> 0, mask, bits, text };
}

/** IPv4 or IPv6 CIDR text validity (allow lists take both families). */
export function cidrFamily(text: string): 4 | 6 | undefined {
  if (parseIpv4Cidr(text)) return 4;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const bitsText = text.slice(slash + 1);
  if (!isIPv6(text.slice(0, slash)) || !/^(0|[1-9]\d{0,2})$/.test(bitsText) || Number(bitsText) > 128)
    return undefined;
  return 6;
}

/**
 * `host:port` as Go's net.SplitHostPort: `[v6]:port`, `v4:port`, `name:port`. The host is kept as
 * written (DNS names are resolved by the node). Returns a reason string on failure.
 */
export function parseHostPort(text: string): HostPort | string {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) return 'missing "]" in address';
    host = text.slice(1, end);
    if (text[end + 1] !== ':') return 'missing port in address';
    portText = text.slice(end + 2);
    if (!isIPv6(host)) return `"${host}" is not an IPv6 address`;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return 'missing port in address';
    host = text.slice(0, colon);
    if (host.includes(':')) return 'too many colons in address (IPv6 needs [brackets])';
    portText = text.slice(colon + 1);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return `invalid port "${portText}"`;
  if (host === '') return 'missing host in address';
  return { host, port: Number(portText) };
}
