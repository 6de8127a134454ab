/**
 * Just enough protobuf for a Nebula probe: varints, tagged fields, a flat field reader. Independent
 * of @nebula-ts/protocol on purpose (the probe must not share bugs with the node under test).
 */

export const WIRE_VARINT = 0;
export const WIRE_BYTES = 2;

export interface PbField {
  readonly num: number;
  readonly wire: number;
  /** Varint value (as bigint: times and cookies are 64-bit). */
  readonly int: bigint;
  /** Bytes value (wire type 2). */
  readonly bytes: Uint8Array;
  /** The whole encoded field (tag through value) in the input. */
  readonly start: number;
  readonly end: number;
}

const EMPTY = new Uint8Array(0);

export function encodeVarint(v: bigint | number): Uint8Array {
  let x = BigInt(v);
  if (x < 0n) x &= (1n << 64n) - 1n;
  const out: number[] = [];
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x !== 0n) b |= 0x80;
    out.push(b);
  } while (x !== 0n);
  return Uint8Array.from(out);
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A varint field; zero is omitted as proto3 does. */
export function fieldVarint(num: number, v: bigint | number): Uint8Array {
  if (BigInt(v) === 0n) return EMPTY;
  return concat(encodeVarint((num << 3) | WIRE_VARINT), encodeVarint(v));
}

/** A length-delimited field; empty is omitted. `keepEmpty` writes it anyway (a present message). */
export function fieldBytes(num: number, b: Uint8Array, keepEmpty = false): Uint8Array {
  if (b.length === 0 && !keepEmpty) return EMPTY;
  return concat(encodeVarint((num << 3) | WIRE_BYTES), encodeVarint(b.length), b);
}

function readVarint(b: Uint8Array, i: number): [bigint, number] {
  let r = 0n;
  let s = 0n;
  for (let k = 0; k < 10; k++) {
    if (i >= b.length) throw new Error('protobuf: truncated varint');
    const c = b[i++] as number;
    r |= BigInt(c & 0x7f) << s;
    s += 7n;
    if (c < 0x80) return [r, i];
  }
  throw new Error('protobuf: varint too long');
}

/** All top-level fields of a message (wire types 0 and 2 only, as Nebula uses). */
export function readFields(b: Uint8Array): PbField[] {
  const out: PbField[] = [];
  let i = 0;
  while (i < b.length) {
    const start = i;
    const [key, j] = readVarint(b, i);
    i = j;
    const wire = Number(key & 7n);
    const num = Number(key >> 3n);
    if (wire === WIRE_VARINT) {
      const [v, k] = readVarint(b, i);
      i = k;
      out.push({ num, wire, int: v, bytes: EMPTY, start, end: i });
    } else if (wire === WIRE_BYTES) {
      const [n, k] = readVarint(b, i);
      const len = Number(n);
      if (k + len > b.length) throw new Error('protobuf: truncated bytes field');
      out.push({ num, wire, int: 0n, bytes: b.subarray(k, k + len), start, end: k + len });
      i = k + len;
    } else throw new Error(`protobuf: unsupported wire type ${wire}`);
  }
  return out;
}

export function firstField(fields: readonly PbField[], num: number): PbField | undefined {
  return fields.find((f) => f.num === num);
}
