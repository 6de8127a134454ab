/** IPv4 helpers: addresses are uint32 numbers (big-endian reading of the 4 bytes), as contracts.md says. */

export type Ipv4 = number | string;

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIpv4(a: Ipv4, what = 'address'): number {
  if (typeof a === 'number') {
    if (!Number.isInteger(a) || a < 0 || a > 0xffffffff)
      throw new RangeError(`${what}: ${a} is not a uint32 IPv4 address`);
    return a >>> 0;
  }
  if (typeof a !== 'string') throw new TypeError(`${what} must be a dotted-quad string or a uint32`);
  const m = DOTTED.exec(a);
  if (m === null) throw new RangeError(`${what}: ${JSON.stringify(a)} is not an IPv4 address`);
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) throw new RangeError(`${what}: ${JSON.stringify(a)} is not an IPv4 address`);
    v = v * 256 + o;
  }
  return v >>> 0;
}

export function formatIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

export function checkPrefix(p: unknown, what = 'prefixLen'): number {
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 32) {
    throw new RangeError(`${what} must be an integer 0..32, got ${String(p)}`);
  }
  return p;
}

export function maskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/** "a.b.c.d/n" → { dst (network, host bits cleared), prefixLen }. */
export function parseCidr(cidr: string, what = 'route'): { dst: number; prefixLen: number } {
  if (typeof cidr !== 'string') throw new TypeError(`${what} must be a CIDR string`);
  const slash = cidr.indexOf('/');
  if (slash < 0) throw new RangeError(`${what}: ${JSON.stringify(cidr)} is not a CIDR (a.b.c.d/n)`);
  const addr = parseIpv4(cidr.slice(0, slash), what);
  const bits = cidr.slice(slash + 1);
  if (!/^\d{1,2}$/.test(bits)) throw new RangeError(`${what}: bad prefix in ${JSON.stringify(cidr)}`);
  const prefixLen = checkPrefix(Number(bits), `${what} prefix`);
  return { dst: (addr & maskOf(prefixLen)) >>> 0, prefixLen };
}

export function checkInt(v: unknown, min: number, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${what} must be an integer ${min}..${max}, got ${String(v)}`);
  }
  return v;
}
