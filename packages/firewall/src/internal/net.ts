/**
 * Address text helpers with Go 1.19 `net` semantics (ParseCIDR, IP.String, IPNet.String), used at
 * config time only.
 */

export interface IpNet {
  /** uint32 network address. */
  readonly addr: number;
  /** uint32 mask. */
  readonly mask: number;
}

export function maskOf(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

export function formatIPv4(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** Go's parseIPv4: four decimal fields 0..255, no leading zeros (Go ≥ 1.17). */
export function parseIPv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let ip = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return null;
    const n = Number(p);
    if (n > 255) return null;
    ip = ip * 256 + n;
  }
  return ip >>> 0;
}

/** Go's parseIPv6 (no zone): 16 bytes or null. */
export function parseIPv6(s: string): Uint8Array | null {
  const out = new Uint8Array(16);
  let ellipsis = -1;
  let i = 0;
  let pos = 0;
  if (s.startsWith('::')) {
    ellipsis = 0;
    pos = 2;
    if (pos === s.length) return out;
  }
  while (i < 16) {
    let j = pos;
    while (j < s.length && /[0-9a-fA-F]/.test(s[j]!) && j - pos < 5) j++;
    if (j === pos || j - pos > 4) {
      // maybe an embedded IPv4 tail
      return null;
    }
    if (j < s.length && s[j] === '.') {
      if (ellipsis < 0 && i !== 12) return null;
      if (i + 4 > 16) return null;
      const v4 = parseIPv4(s.slice(pos));
      if (v4 === null) return null;
      out[i] = v4 >>> 24;
      out[i + 1] = (v4 >>> 16) & 255;
      out[i + 2] = (v4 >>> 8) & 255;
      out[i + 3] = v4 & 255;
      i += 4;
      pos = s.length;
      break;
    }
    const n = Number.parseInt(s.slice(pos, j), 16);
    out[i] = n >> 8;
    out[i + 1] = n & 255;
    i += 2;
    pos = j;
    if (pos === s.length) break;
    if (s[pos] !== ':' || pos + 1 === s.length) return null;
    pos++;
    if (s[pos] === ':') {
      if (ellipsis >= 0) return null;
      ellipsis = i;
      pos++;
      if (pos === s.length) break;
    }
  }
  if (pos !== s.length) return null;
  if (i < 16) {
    if (ellipsis < 0) return null;
    const n = 16 - i;
    for (let j = i - 1; j >= ellipsis; j--) out[j + n] = out[j]!;
    for (let j = ellipsis + n - 1; j >= ellipsis; j--) out[j] = 0;
  } else if (ellipsis >= 0) {
    return null;
  }
  return out;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Go's IP.String for a 16-byte address. */
export function formatIPv6(b: Uint8Array): string {
  if (isV4Mapped(b)) return formatIPv4(((b[12]! << 24) | (b[13]! << 16) | (b[14]! << 8) | b[15]!) >>> 0);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 16; i += 2) {
    let j = i;
    while (j < 16 && b[j] === 0 && b[j + 1] === 0) j += 2;
    if (j - i > bestLen && j - i >= 4) {
      bestStart = i;
      bestLen = j - i;
    }
    if (j > i) i = j - 2;
  }
  let s = '';
  for (let i = 0; i < 16; i += 2) {
    if (i === bestStart) {
      s += '::';
      i += bestLen - 2;
      continue;
    }
    if (i > 0 && !s.endsWith(':')) s += ':';
    s += ((b[i]! << 8) | b[i + 1]!).toString(16);
  }
  return s;
}

/**
 * A rule `cidr` as 1.6.1 uses it. IPv4: itself. IPv6: 1.6.1's IPv4 CIDR tree keeps only the low 32
 * bits of address and mask, so it matches remote IPv4 addresses under prefix `max(0, bits - 96)`.
 */
export interface RuleCidr {
  readonly addr: number;
  readonly mask: number;
  /** `IPNet.String()` as Go renders it (for the rule hash). */
  readonly text: string;
  /** Go's `ip.Contains(0.0.0.0)`: makes the rule "any". */
  readonly containsZero: boolean;
}

/** Go's net.ParseCIDR; null on error (Go's message: `invalid CIDR address: <s>`). */
export function parseCidr(s: string): RuleCidr | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const addrText = s.slice(0, slash);
  const maskText = s.slice(slash + 1);
  if (!/^\d+$/.test(maskText)) return null;
  const bits = Number(maskText);
  const v4 = parseIPv4(addrText);
  if (v4 !== null) {
    if (bits > 32) return null;
    const mask = maskOf(bits);
    const addr = (v4 & mask) >>> 0;
    return { addr, mask, text: `${formatIPv4(addr)}/${bits}`, containsZero: addr === 0 };
  }
  const v6 = parseIPv6(addrText);
  if (v6 === null || bits > 128) return null;
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    v6[i] = v6[i]! & ((0xff00 >> keep) & 0xff);
  }
  const low = ((v6[12]! << 24) | (v6[13]! << 16) | (v6[14]! << 8) | v6[15]!) >>> 0;
  const v4Bits = Math.max(0, bits - 96);
  const mask = maskOf(v4Bits);
  const mapped = isV4Mapped(v6);
  return {
    addr: (low & mask) >>> 0,
    mask,
    text: mapped ? `${formatIPv4(low)}/${v4Bits}` : `${formatIPv6(v6)}/${bits}`,
    containsZero: mapped && (low & mask) === 0,
  };
}
