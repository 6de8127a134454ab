/**
 * Address slots: a `Uint32Array` holding 6 words per packet, `[family 4|6, port, w0, w1, w2, w3]`.
 * For IPv4, w0 is the address as a big-endian uint32 (the repo's vpnIp convention) and w1..w3 are
 * 0; for IPv6, w0..w3 are the 16 bytes read as four big-endian uint32. IPv4-mapped IPv6 addresses
 * (`::ffff:a.b.c.d`) are always stored as family 4, which is how the kernel's v4-mapped sources
 * on our AF_INET6 sockets reach the caller. No allocation on the per-packet helpers.
 */
import { UdpAddressError, UdpRangeError } from './errors.js';

/** Words per address slot. */
export const ADDR_WORDS = 6;

/** Allocates room for `count` address slots. */
export function createAddrs(count: number): Uint32Array {
  return new Uint32Array(count * ADDR_WORDS);
}

function parseIPv4(s: string, out: Uint32Array, at: number): boolean {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let k = 0; k <= s.length; k++) {
    const c = k < s.length ? s.charCodeAt(k) : 46;
    if (c === 46) {
      if (digits === 0 || parts === 4) return false;
      value = ((value << 8) | part) >>> 0;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      // Leading zeros are refused, as Go's net.ParseIP does (they read as octal elsewhere).
      if (digits > 0 && part === 0) return false;
      part = part * 10 + (c - 48);
      digits++;
      if (part > 255) return false;
    } else {
      return false;
    }
  }
  if (parts !== 4) return false;
  out[at] = value;
  return true;
}

const v4tmp = new Uint32Array(1);

/** Parses an IPv6 literal into 8 16-bit groups; false when malformed. Zones are refused. */
function parseIPv6(s: string, groups: Uint16Array): boolean {
  groups.fill(0);
  if (s.length < 2) return false;
  const dbl = s.indexOf('::');
  if (dbl !== -1 && s.indexOf('::', dbl + 1) !== -1) return false;
  // An embedded IPv4 may only end the address.
  if (dbl !== -1 && s.includes('.') && s.lastIndexOf('.') < dbl) return false;
  const head = dbl === -1 ? s : s.slice(0, dbl);
  const tail = dbl === -1 ? '' : s.slice(dbl + 2);
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === '' ? [] : tail.split(':');
  const all = [...headParts, ...tailParts];
  const words: number[] = [];
  for (let k = 0; k < all.length; k++) {
    const p = all[k]!;
    if (k === all.length - 1 && p.includes('.')) {
      if (!parseIPv4(p, v4tmp, 0)) return false;
      words.push(v4tmp[0]! >>> 16, v4tmp[0]! & 0xffff);
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return false;
    words.push(parseInt(p, 16));
  }
  if (dbl === -1 ? words.length !== 8 : words.length > 7) return false;
  const tailWords = words.length - headParts.length;
  // headParts may contain the embedded IPv4 only when there is no `::`; recount by position.
  const headCount = dbl === -1 ? 8 : headParts.length;
  for (let k = 0; k < headCount && k < words.length; k++) groups[k] = words[k]!;
  if (dbl !== -1) for (let k = 0; k < tailWords; k++) groups[8 - tailWords + k] = words[headCount + k]!;
  return true;
}

const g16 = new Uint16Array(8);

/**
 * Writes IP `host` (IPv4, IPv6, or bracketed IPv6) and `port` into slot `i`. Throws
 * `UdpAddressError` (a TypeError) for a malformed host, `UdpRangeError` for a bad port.
 */
export function setAddr(addrs: Uint32Array, i: number, host: string, port: number): void {
  if (typeof host !== 'string') throw new UdpAddressError(`host must be a string, got ${typeof host}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UdpRangeError(`port out of range: ${port}`);
  const base = i * ADDR_WORDS;
  if (!Number.isInteger(i) || i < 0 || base + ADDR_WORDS > addrs.length)
    throw new UdpRangeError(`address slot ${i} out of range`);
  let h = host;
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (parseIPv4(h, addrs, base + 2)) {
    addrs[base] = 4;
    addrs[base + 1] = port;
    addrs[base + 3] = addrs[base + 4] = addrs[base + 5] = 0;
    return;
  }
  if (!parseIPv6(h, g16)) throw new UdpAddressError(`invalid IP address: ${JSON.stringify(host)}`);
  addrs[base + 1] = port;
  if (g16[0] === 0 && g16[1] === 0 && g16[2] === 0 && g16[3] === 0 && g16[4] === 0 && g16[5] === 0xffff) {
    addrs[base] = 4;
    addrs[base + 2] = ((g16[6]! << 16) | g16[7]!) >>> 0;
    addrs[base + 3] = addrs[base + 4] = addrs[base + 5] = 0;
    return;
  }
  addrs[base] = 6;
  for (let w = 0; w < 4; w++) addrs[base + 2 + w] = ((g16[2 * w]! << 16) | g16[2 * w + 1]!) >>> 0;
}

/**
 * Parses `ip:port` or `[ipv6]:port` into slot `i` (a string from `formatAddr` round-trips).
 * Throws `UdpAddressError` / `UdpRangeError`.
 */
export function parseAddr(text: string, addrs: Uint32Array, i: number): void {
  if (typeof text !== 'string') throw new UdpAddressError(`address must be a string, got ${typeof text}`);
  const colon = text.lastIndexOf(':');
  if (colon <= 0) throw new UdpAddressError(`address needs host:port: ${JSON.stringify(text)}`);
  const host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (host.includes(':') && !(host.startsWith('[') && host.endsWith(']')))
    throw new UdpAddressError(`IPv6 address needs brackets: ${JSON.stringify(text)}`);
  if (!/^[0-9]{1,5}$/.test(portText)) throw new UdpRangeError(`invalid port in ${JSON.stringify(text)}`);
  setAddr(addrs, i, host, Number(portText));
}

/** The IP of slot `i` as text (no port): `1.2.3.4` or `2001:db8::1` (RFC 5952 form). */
export function formatIp(addrs: Uint32Array, i: number): string {
  const base = i * ADDR_WORDS;
  const fam = addrs[base];
  if (fam === 4) {
    const a = addrs[base + 2]!;
    return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
  }
  if (fam !== 6) throw new UdpRangeError(`address slot ${i} has family ${fam}, not 4 or 6`);
  for (let w = 0; w < 4; w++) {
    const v = addrs[base + 2 + w]!;
    g16[2 * w] = v >>> 16;
    g16[2 * w + 1] = v & 0xffff;
  }
  // Longest run of at least two zero groups becomes `::` (first one on ties).
  let bestAt = -1;
  let bestLen = 1;
  for (let k = 0; k < 8; ) {
    if (g16[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && g16[e] === 0) e++;
    if (e - k > bestLen) {
      bestAt = k;
      bestLen = e - k;
    }
    k = e;
  }
  let out = '';
  for (let k = 0; k < 8; k++) {
    if (k === bestAt) {
      out += '::';
      k += bestLen - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += g16[k]!.toString(16);
  }
  return out;
}

/** Slot `i` as `ip:port`, IPv6 bracketed (`[::1]:4242`), as Go prints a UDP address. */
export function formatAddr(addrs: Uint32Array, i: number): string {
  const ip = formatIp(addrs, i);
  const port = addrs[i * ADDR_WORDS + 1];
  return addrs[i * ADDR_WORDS] === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Whether slot `i` of `a` and slot `j` of `b` hold the same family, address and port. */
export function sameAddr(a: Uint32Array, i: number, b: Uint32Array, j: number): boolean {
  const x = i * ADDR_WORDS;
  const y = j * ADDR_WORDS;
  return (
    a[x] === b[y] &&
    a[x + 1] === b[y + 1] &&
    a[x + 2] === b[y + 2] &&
    a[x + 3] === b[y + 3] &&
    a[x + 4] === b[y + 4] &&
    a[x + 5] === b[y + 5]
  );
}

/** Copies slot `j` of `src` into slot `i` of `dst` (e.g. reply to the sender). */
export function copyAddr(dst: Uint32Array, i: number, src: Uint32Array, j: number): void {
  for (let w = 0; w < ADDR_WORDS; w++) dst[i * ADDR_WORDS + w] = src[j * ADDR_WORDS + w]!;
}

/**
 * `listen.host` as the 16 bytes 1.6.1 binds: IPv4 becomes v4-mapped (`0.0.0.0` →
 * `::ffff:0.0.0.0`, IPv4 only), IPv6 stays (`::` = dual stack). An empty host is all zeros,
 * i.e. `::`, as Go's nil IP converts. Hostnames are not resolved here (resolve first).
 */
export function hostToBytes16(host: string): Uint8Array {
  if (typeof host !== 'string') throw new UdpAddressError(`listen.host must be a string, got ${typeof host}`);
  const out = new Uint8Array(16);
  if (host === '') return out;
  let h = host;
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (parseIPv4(h, v4tmp, 0)) {
    out[10] = out[11] = 0xff;
    new DataView(out.buffer).setUint32(12, v4tmp[0]!);
    return out;
  }
  if (!parseIPv6(h, g16))
    throw new UdpAddressError(`listen.host is not an IP address: ${JSON.stringify(host)}`);
  const dv = new DataView(out.buffer);
  for (let k = 0; k < 8; k++) dv.setUint16(2 * k, g16[k]!);
  return out;
}
