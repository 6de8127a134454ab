/**
 * Hand-written codec for Nebula's `NebulaMeta` protobuf (nebula.proto, lighthouse.md §1).
 *
 * Decoding follows gogo-protobuf 1.3.2's generated `Unmarshal` (what Go Nebula 1.6.1 runs): unknown
 * fields are skipped (groups included), a wrong wire type on a known field fails, a repeated uint32
 * is accepted packed or not, and a second Details merges into the first. Encoding matches
 * `Marshal`: ascending field numbers, zero scalars omitted, embedded messages always written.
 *
 * Both directions work on caller-owned, reused objects: the address arrays are pools whose objects
 * survive `reset()` (count = 0), so a steady-state decode or encode allocates nothing.
 */
import { LighthouseError } from './errors.js';

/** `NebulaMeta.MessageType` values. */
export const MetaType = {
  None: 0,
  HostQuery: 1,
  HostQueryReply: 2,
  HostUpdateNotification: 3,
  HostMovedNotification: 4,
  HostPunchNotification: 5,
  HostWhoami: 6,
  HostWhoamiReply: 7,
  PathCheck: 8,
  PathCheckReply: 9,
} as const;
export type MetaTypeValue = (typeof MetaType)[keyof typeof MetaType];

const TYPE_NAMES = [
  'None',
  'HostQuery',
  'HostQueryReply',
  'HostUpdateNotification',
  'HostMovedNotification',
  'HostPunchNotification',
  'HostWhoami',
  'HostWhoamiReply',
  'PathCheck',
  'PathCheckReply',
] as const;

/** The protobuf enum name (Go's `String()`: unknown values print as the number). */
export function metaTypeName(t: number): string {
  return TYPE_NAMES[t] ?? String(t);
}

export class Ip4AndPort {
  ip = 0;
  port = 0;
}

/** Hi = `w0:w1`, Lo = `w2:w3` (each a big-endian uint32 word); no BigInt anywhere. */
export class Ip6AndPort {
  w0 = 0;
  w1 = 0;
  w2 = 0;
  w3 = 0;
  port = 0;
}

export class NebulaMetaDetails {
  vpnIp = 0;
  counter = 0;
  /** Pool: only the first `ip4Count` entries are live; the rest are kept for reuse. */
  readonly ip4: Ip4AndPort[] = [];
  ip4Count = 0;
  readonly ip6: Ip6AndPort[] = [];
  ip6Count = 0;
  /** Only the first `relayCount` words are live. */
  relays: Uint32Array = new Uint32Array(4);
  relayCount = 0;

  reset(): void {
    this.vpnIp = 0;
    this.counter = 0;
    this.ip4Count = 0;
    this.ip6Count = 0;
    this.relayCount = 0;
  }

  addIp4(ip: number, port: number): Ip4AndPort {
    let a = this.ip4[this.ip4Count];
    if (a === undefined) {
      a = new Ip4AndPort();
      this.ip4.push(a);
    }
    this.ip4Count++;
    a.ip = ip >>> 0;
    a.port = port >>> 0;
    return a;
  }

  addIp6(w0: number, w1: number, w2: number, w3: number, port: number): Ip6AndPort {
    let a = this.ip6[this.ip6Count];
    if (a === undefined) {
      a = new Ip6AndPort();
      this.ip6.push(a);
    }
    this.ip6Count++;
    a.w0 = w0 >>> 0;
    a.w1 = w1 >>> 0;
    a.w2 = w2 >>> 0;
    a.w3 = w3 >>> 0;
    a.port = port >>> 0;
    return a;
  }

  addRelay(vpnIp: number): void {
    if (this.relayCount === this.relays.length) {
      const grown = new Uint32Array(this.relays.length * 2);
      grown.set(this.relays);
      this.relays = grown;
    }
    this.relays[this.relayCount++] = vpnIp;
  }
}

export class NebulaMeta {
  /** int32 enum as Go stores it (an out-of-range varint may decode negative). */
  type = 0;
  /** Whether field 2 was present when decoded. The encoder always writes Details. */
  hasDetails = false;
  readonly details = new NebulaMetaDetails();

  /** Go's `resetMeta`: clears the message, keeps the Details object and the pools. */
  reset(): void {
    this.type = 0;
    this.hasDetails = false;
    this.details.reset();
  }
}

/** Plain snapshot for logs, events and tests (allocates; not for the hot path). */
export interface MetaJSON {
  type: number;
  typeName: string;
  hasDetails: boolean;
  vpnIp: number;
  counter: number;
  ip4: { ip: number; port: number }[];
  ip6: { w: [number, number, number, number]; port: number }[];
  relays: number[];
}

export function metaToJSON(m: NebulaMeta): MetaJSON {
  const d = m.details;
  return {
    type: m.type,
    typeName: metaTypeName(m.type),
    hasDetails: m.hasDetails,
    vpnIp: d.vpnIp,
    counter: d.counter,
    ip4: d.ip4.slice(0, d.ip4Count).map((a) => ({ ip: a.ip, port: a.port })),
    ip6: d.ip6.slice(0, d.ip6Count).map((a) => ({ w: [a.w0, a.w1, a.w2, a.w3], port: a.port })),
    relays: Array.from(d.relays.subarray(0, d.relayCount)),
  };
}

// ---------------------------------------------------------------------------------------------
// Decoding. Module-level cursor and varint result: one decode at a time per thread, no closures,
// no result objects.

let pos = 0;
// varint result words live in a typed array: a module-level `let` holding a uint32 ≥ 2^31 would
// box a fresh heap number on every store
const V = new Uint32Array(2);

/** Reads a varint (≤ 10 bytes, like gogo: the 11th byte is an overflow) into V[0] (low word) / V[1] (high word). */
function readVarint(b: Uint8Array, end: number): boolean {
  let lo = 0;
  let hi = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    if (pos >= end) return false;
    const x = b[pos++]!;
    if (shift < 28) lo |= (x & 0x7f) << shift;
    else if (shift === 28) {
      lo |= (x & 0x0f) << 28;
      hi |= (x & 0x7f) >>> 4;
    } else hi |= (x & 0x7f) << (shift - 32);
    if (x < 0x80) {
      V[0] = lo;
      V[1] = hi;
      return true;
    }
  }
  return false;
}

/** Reads a length prefix; sets V[0] to the end offset of the field. */
function readLen(b: Uint8Array, end: number): boolean {
  if (!readVarint(b, end)) return false;
  if (V[1] !== 0 || V[0]! > end - pos) return false;
  V[0] = pos + V[0]!;
  return true;
}

/** gogo's `skipNebula`, starting at a tag. */
function skipField(b: Uint8Array, end: number): boolean {
  let depth = 0;
  while (pos < end) {
    if (!readVarint(b, end)) return false;
    switch (V[0]! & 7) {
      case 0:
        if (!readVarint(b, end)) return false;
        break;
      case 1:
        pos += 8;
        break;
      case 2:
        if (!readVarint(b, end)) return false;
        if (V[1]! !== 0 || V[0]! > 0x7fffffff) return false;
        pos += V[0]!;
        break;
      case 3:
        depth++;
        break;
      case 4:
        if (depth === 0) return false;
        depth--;
        break;
      case 5:
        pos += 4;
        break;
      default:
        return false;
    }
    if (depth === 0) return pos <= end;
  }
  return false;
}

/** Reads a tag; returns the field number (≤ 0 or a group end → invalid) and leaves the wire type in V[0] & 7. */
function readTag(b: Uint8Array, end: number): number {
  if (!readVarint(b, end)) return -1;
  if ((V[0]! & 7) === 4) return -1;
  return (V[1]! << 29) | (V[0]! >>> 3) | 0;
}

function decodeIp4(b: Uint8Array, end: number, a: Ip4AndPort): boolean {
  while (pos < end) {
    const start = pos;
    const field = readTag(b, end);
    if (field <= 0) return false;
    const wt = V[0]! & 7;
    if (field === 1 || field === 2) {
      if (wt !== 0 || !readVarint(b, end)) return false;
      if (field === 1) a.ip = V[0]!;
      else a.port = V[0]!;
    } else {
      pos = start;
      if (!skipField(b, end)) return false;
    }
  }
  return pos === end;
}

function decodeIp6(b: Uint8Array, end: number, a: Ip6AndPort): boolean {
  while (pos < end) {
    const start = pos;
    const field = readTag(b, end);
    if (field <= 0) return false;
    const wt = V[0]! & 7;
    if (field >= 1 && field <= 3) {
      if (wt !== 0 || !readVarint(b, end)) return false;
      if (field === 1) {
        a.w0 = V[1]!;
        a.w1 = V[0]!;
      } else if (field === 2) {
        a.w2 = V[1]!;
        a.w3 = V[0]!;
      } else a.port = V[0]!;
    } else {
      pos = start;
      if (!skipField(b, end)) return false;
    }
  }
  return pos === end;
}

function decodeDetails(b: Uint8Array, end: number, d: NebulaMetaDetails): boolean {
  while (pos < end) {
    const start = pos;
    const field = readTag(b, end);
    if (field <= 0) return false;
    const wt = V[0]! & 7;
    switch (field) {
      case 1:
      case 3:
        if (wt !== 0 || !readVarint(b, end)) return false;
        if (field === 1) d.vpnIp = V[0]!;
        else d.counter = V[0]!;
        break;
      case 2: {
        if (wt !== 2 || !readLen(b, end)) return false;
        const msgEnd = V[0]!;
        if (!decodeIp4(b, msgEnd, d.addIp4(0, 0))) return false;
        break;
      }
      case 4: {
        if (wt !== 2 || !readLen(b, end)) return false;
        const msgEnd = V[0]!;
        if (!decodeIp6(b, msgEnd, d.addIp6(0, 0, 0, 0, 0))) return false;
        break;
      }
      case 5:
        if (wt === 0) {
          if (!readVarint(b, end)) return false;
          d.addRelay(V[0]! | 0);
        } else if (wt === 2) {
          if (!readLen(b, end)) return false;
          // gogo bounds each element's varint by the enclosing message, not the packed run
          const runEnd = V[0]!;
          while (pos < runEnd) {
            if (!readVarint(b, end)) return false;
            d.addRelay(V[0]! | 0);
          }
        } else return false;
        break;
      default:
        pos = start;
        if (!skipField(b, end)) return false;
    }
  }
  return pos === end;
}

/**
 * Decodes `bytes[off, off+len)` into `meta` (reset first). Returns false on malformed input (the
 * contents of `meta` are then unspecified). Allocates only when a pool has to grow.
 */
export function decodeMetaInto(bytes: Uint8Array, off: number, len: number, meta: NebulaMeta): boolean {
  meta.reset();
  const end = off + len;
  if (off < 0 || len < 0 || end > bytes.length) return false;
  pos = off;
  while (pos < end) {
    const start = pos;
    const field = readTag(bytes, end);
    if (field <= 0) return false;
    const wt = V[0]! & 7;
    if (field === 1) {
      if (wt !== 0 || !readVarint(bytes, end)) return false;
      meta.type = V[0]! | 0;
    } else if (field === 2) {
      if (wt !== 2 || !readLen(bytes, end)) return false;
      const msgEnd = V[0]!;
      meta.hasDetails = true;
      if (!decodeDetails(bytes, msgEnd, meta.details)) return false;
    } else {
      pos = start;
      if (!skipField(bytes, end)) return false;
    }
  }
  return pos === end;
}

/** Allocating convenience: decodes into a new `NebulaMeta` or throws `ERR_META_DECODE`. */
export function decodeMeta(bytes: Uint8Array, off = 0, len = bytes.length - off): NebulaMeta {
  const m = new NebulaMeta();
  if (!decodeMetaInto(bytes, off, len, m)) {
    throw new LighthouseError('ERR_META_DECODE', 'failed to unmarshal NebulaMeta');
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// Encoding.

// Scalars cross function boundaries as int32 (`x | 0`, always a small integer) and are turned back
// into uint32 inside: passing a uint32 ≥ 2^31 to a call V8 did not inline would box a heap number.

function size32(x: number): number {
  const v = x >>> 0;
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function size64(hi: number, lo: number): number {
  if (hi === 0) return size32(lo);
  return Math.ceil((64 - Math.clz32(hi)) / 7);
}

function ip4Size(a: Ip4AndPort): number {
  return (a.ip !== 0 ? 1 + size32(a.ip | 0) : 0) + (a.port !== 0 ? 1 + size32(a.port | 0) : 0);
}

function ip6Size(a: Ip6AndPort): number {
  return (
    (a.w0 !== 0 || a.w1 !== 0 ? 1 + size64(a.w0 | 0, a.w1 | 0) : 0) +
    (a.w2 !== 0 || a.w3 !== 0 ? 1 + size64(a.w2 | 0, a.w3 | 0) : 0) +
    (a.port !== 0 ? 1 + size32(a.port | 0) : 0)
  );
}

function relaysSize(d: NebulaMetaDetails): number {
  let n = 0;
  for (let i = 0; i < d.relayCount; i++) n += size32(d.relays[i]! | 0);
  return n;
}

function detailsSize(d: NebulaMetaDetails): number {
  let n = d.vpnIp !== 0 ? 1 + size32(d.vpnIp | 0) : 0;
  for (let i = 0; i < d.ip4Count; i++) {
    const s = ip4Size(d.ip4[i]!);
    n += 1 + size32(s) + s;
  }
  if (d.counter !== 0) n += 1 + size32(d.counter | 0);
  for (let i = 0; i < d.ip6Count; i++) {
    const s = ip6Size(d.ip6[i]!);
    n += 1 + size32(s) + s;
  }
  if (d.relayCount > 0) {
    const s = relaysSize(d);
    n += 1 + size32(s) + s;
  }
  return n;
}

/** Encoded size of `meta` in bytes. */
export function metaSize(meta: NebulaMeta): number {
  const t = meta.type | 0;
  const ds = detailsSize(meta.details);
  return (t === 0 ? 0 : 1 + (t < 0 ? 10 : size32(t))) + 1 + size32(ds) + ds;
}

function put32(b: Uint8Array, p: number, x: number): number {
  let v = x >>> 0;
  while (v > 0x7f) {
    b[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  b[p++] = v;
  return p;
}

function put64(b: Uint8Array, p: number, h: number, l: number): number {
  let hi = h >>> 0;
  let lo = l >>> 0;
  while (hi !== 0 || lo > 0x7f) {
    b[p++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  b[p++] = lo;
  return p;
}

/**
 * Encodes `meta` at `buf[off]` and returns the number of bytes written. Details is always written
 * (receivers reject a meta without it). Throws `ERR_META_ENCODE_OVERFLOW` if it does not fit.
 */
export function encodeMeta(meta: NebulaMeta, buf: Uint8Array, off: number): number {
  const total = metaSize(meta);
  if (off < 0 || off + total > buf.length) {
    throw new LighthouseError('ERR_META_ENCODE_OVERFLOW', `NebulaMeta needs ${total} bytes at offset ${off}`);
  }
  const d = meta.details;
  const t = meta.type | 0;
  let p = off;
  if (t !== 0) {
    buf[p++] = 0x08;
    p = t < 0 ? put64(buf, p, -1, t) : put32(buf, p, t);
  }
  buf[p++] = 0x12;
  p = put32(buf, p, detailsSize(d));
  if (d.vpnIp !== 0) {
    buf[p++] = 0x08;
    p = put32(buf, p, d.vpnIp | 0);
  }
  for (let i = 0; i < d.ip4Count; i++) {
    const a = d.ip4[i]!;
    buf[p++] = 0x12;
    p = put32(buf, p, ip4Size(a));
    if (a.ip !== 0) {
      buf[p++] = 0x08;
      p = put32(buf, p, a.ip | 0);
    }
    if (a.port !== 0) {
      buf[p++] = 0x10;
      p = put32(buf, p, a.port | 0);
    }
  }
  if (d.counter !== 0) {
    buf[p++] = 0x18;
    p = put32(buf, p, d.counter | 0);
  }
  for (let i = 0; i < d.ip6Count; i++) {
    const a = d.ip6[i]!;
    buf[p++] = 0x22;
    p = put32(buf, p, ip6Size(a));
    if (a.w0 !== 0 || a.w1 !== 0) {
      buf[p++] = 0x08;
      p = put64(buf, p, a.w0 | 0, a.w1 | 0);
    }
    if (a.w2 !== 0 || a.w3 !== 0) {
      buf[p++] = 0x10;
      p = put64(buf, p, a.w2 | 0, a.w3 | 0);
    }
    if (a.port !== 0) {
      buf[p++] = 0x18;
      p = put32(buf, p, a.port | 0);
    }
  }
  if (d.relayCount > 0) {
    buf[p++] = 0x2a;
    p = put32(buf, p, relaysSize(d));
    for (let i = 0; i < d.relayCount; i++) p = put32(buf, p, d.relays[i]! | 0);
  }
  return p - off;
}
