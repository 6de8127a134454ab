/**
 * Underlay addresses as the udp package lays them out: 6 uint32 words `[family, port, w0..w3]`
 * (IPv4: w0 = address). `UdpAddr` is the control path's immutable copy of one such slot.
 */

export interface UdpAddr {
  readonly family: 4 | 6;
  readonly port: number;
  /** IPv4: w[0] is the address; IPv6: four big-endian words. */
  readonly w: readonly [number, number, number, number];
}

export const ADDR_WORDS = 6;

export function addrFromWords(words: Uint32Array, i: number): UdpAddr {
  const b = i * ADDR_WORDS;
  return {
    family: words[b] === 6 ? 6 : 4,
    port: words[b + 1]!,
    w: [words[b + 2]! >>> 0, words[b + 3]! >>> 0, words[b + 4]! >>> 0, words[b + 5]! >>> 0],
  };
}

export function addrToWords(a: UdpAddr, words: Uint32Array | Int32Array, i: number): void {
  const b = i * ADDR_WORDS;
  words[b] = a.family;
  words[b + 1] = a.port;
  words[b + 2] = a.w[0];
  words[b + 3] = a.w[1];
  words[b + 4] = a.w[2];
  words[b + 5] = a.w[3];
}

export function sameAddr(a: UdpAddr | null | undefined, b: UdpAddr | null | undefined): boolean {
  if (!a || !b) return false;
  return (
    a.family === b.family &&
    a.port === b.port &&
    a.w[0] === b.w[0] &&
    (a.family === 4 || (a.w[1] === b.w[1] && a.w[2] === b.w[2] && a.w[3] === b.w[3]))
  );
}

/** True when slot i of `words` holds the same address as `a`. */
export function wordsEqualAddr(words: Uint32Array, i: number, a: UdpAddr): boolean {
  const b = i * ADDR_WORDS;
  return (
    words[b] === a.family &&
    words[b + 1] === a.port &&
    words[b + 2] === a.w[0] &&
    (a.family === 4 || (words[b + 3] === a.w[1] && words[b + 4] === a.w[2] && words[b + 5] === a.w[3]))
  );
}

export function ipv4ToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

export function parseIpv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) return null;
  const p = m.slice(1).map(Number);
  if (p.some((x) => x > 255)) return null;
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function v6ToString(w: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < 4; i++) parts.push((w[i]! >>> 16).toString(16), (w[i]! & 0xffff).toString(16));
  // Compress the longest zero run (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return parts.join(':');
  return `${parts.slice(0, best).join(':')}::${parts.slice(best + bestLen).join(':')}`;
}

export function addrToString(a: UdpAddr): string {
  return a.family === 4 ? `${ipv4ToString(a.w[0])}:${a.port}` : `[${v6ToString(a.w)}]:${a.port}`;
}

export function ipv4Addr(ip: number, port: number): UdpAddr {
  return { family: 4, port, w: [ip >>> 0, 0, 0, 0] };
}

/** Parses `1.2.3.4:4242` or `[v6]:4242` (no DNS). */
export function parseHostPort(host: string, port: number): UdpAddr | null {
  const v4 = parseIpv4(host);
  if (v4 !== null) return ipv4Addr(v4, port);
  const h = host.replace(/^\[|\]$/g, '');
  if (!h.includes(':')) return null;
  const [head, tail] = h.includes('::') ? h.split('::') : [h, undefined];
  const hp = head ? head.split(':') : [];
  const tp = tail !== undefined && tail !== '' ? tail.split(':') : [];
  if (tail === undefined && hp.length !== 8) return null;
  const groups = [...hp, ...new Array(8 - hp.length - tp.length).fill('0'), ...tp].map((g) =>
    Number.parseInt(g, 16),
  );
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) return null;
  const w: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) w[i] = ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
  // v4-mapped IPv6 is reported as IPv4, as the udp package does.
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return ipv4Addr(w[3], port);
  return { family: 6, port, w };
}

/** RFC1918 / fc00::/7: `listen.send_recv_error: private` (handshake.md §11). */
export function isPrivateAddr(a: UdpAddr): boolean {
  if (a.family === 4) {
    const ip = a.w[0];
    return ip >>> 24 === 10 || ip >>> 20 === 0xac1 || ip >>> 16 === 0xc0a8;
  }
  return a.w[0] >>> 25 === 0x7e;
}
