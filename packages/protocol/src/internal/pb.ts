/**
 * Minimal protobuf wire reader/writer for the handful of small Nebula messages this package owns.
 * Decoding follows what Go's generated (gogo) code accepts: any field order, repeated scalars
 * overwrite, unknown fields skipped (groups included), varints of up to 10 bytes with the value
 * truncated to the field's width. Everything else is a typed error, never an exception from
 * out-of-range reads.
 */
import { ProtocolError } from '../errors.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

const TWO_32 = 4294967296;

export class PbReader {
  pos: number;
  readonly end: number;
  /** High 32 bits of the last varint read by `varint()`. */
  hi = 0;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Reads a varint; returns its low 32 bits (unsigned) and leaves the high 32 bits in `hi`. */
  varint(): number {
    let lo = 0;
    let hi = 0;
    const buf = this.buf;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtocolError('ERR_PROTO_TRUNCATED', 'truncated varint');
      const b = buf[this.pos++]!;
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if ((b & 0x80) === 0) {
        this.hi = hi >>> 0;
        return lo >>> 0;
      }
    }
    throw new ProtocolError('ERR_PROTO_VARINT', 'varint longer than 10 bytes');
  }

  uint32(): number {
    return this.varint();
  }

  /** int32 field (enums): low 32 bits, sign-interpreted, as Go's int32 conversion does. */
  int32(): number {
    return this.varint() | 0;
  }

  uint64(): bigint {
    const lo = this.varint();
    return (BigInt(this.hi) << 32n) | BigInt(lo);
  }

  /** A length prefix: must fit in what is left of the message. */
  length(): number {
    const lo = this.varint();
    if (this.hi !== 0 || lo > 0x7fffffff) throw new ProtocolError('ERR_PROTO_VARINT', 'length out of range');
    if (lo > this.end - this.pos) throw new ProtocolError('ERR_PROTO_TRUNCATED', 'length exceeds message');
    return lo;
  }

  /** A length-delimited field as a subarray view [start, end). */
  bytesRange(): number {
    const n = this.length();
    const start = this.pos;
    this.pos += n;
    return start;
  }

  /** A tag; returns the field number and stores the wire type in `wireType`. */
  wireType = 0;
  tag(): number {
    const lo = this.varint();
    if (this.hi !== 0) throw new ProtocolError('ERR_PROTO_WIRE_TYPE', 'tag out of range');
    const field = lo >>> 3;
    this.wireType = lo & 7;
    if (field === 0) throw new ProtocolError('ERR_PROTO_WIRE_TYPE', 'illegal tag 0');
    return field;
  }

  /** Skips the value of a field whose tag was just read. */
  skip(field: number, wireType: number, depth = 0): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_BYTES:
        this.pos += this.length();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      case WIRE_START_GROUP: {
        if (depth > 64) throw new ProtocolError('ERR_PROTO_WIRE_TYPE', 'groups nested too deep');
        for (;;) {
          if (this.done) throw new ProtocolError('ERR_PROTO_TRUNCATED', 'unterminated group');
          const f = this.tag();
          const wt = this.wireType;
          if (wt === WIRE_END_GROUP) {
            if (f !== field) throw new ProtocolError('ERR_PROTO_WIRE_TYPE', 'mismatched end group');
            return;
          }
          this.skip(f, wt, depth + 1);
        }
      }
      default:
        // A stray end-group or wire types 6/7.
        throw new ProtocolError('ERR_PROTO_WIRE_TYPE', `illegal wire type ${wireType}`);
    }
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw new ProtocolError('ERR_PROTO_TRUNCATED', 'truncated fixed field');
    this.pos += n;
  }
}

export function expectWireType(field: number, got: number, want: number): void {
  if (got !== want) {
    throw new ProtocolError('ERR_PROTO_WIRE_TYPE', `wrong wire type ${got} for field ${field}`);
  }
}

/** Size of a varint holding the unsigned 64-bit value hi:lo. */
export function varintSize(lo: number, hi = 0): number {
  if (hi === 0) {
    lo >>>= 0;
    if (lo < 0x80) return 1;
    if (lo < 0x4000) return 2;
    if (lo < 0x200000) return 3;
    if (lo < 0x10000000) return 4;
    return 5;
  }
  let n = 5;
  let h = hi >>> 3; // 35 bits consumed by 5 bytes
  while (h !== 0) {
    n++;
    h >>>= 7;
  }
  return n;
}

/** Growable-free writer: callers size the buffer with `varintSize` first. */
export class PbWriter {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
  ) {
    this.pos = start;
  }

  varint(lo: number, hi = 0): void {
    const buf = this.buf;
    lo >>>= 0;
    hi >>>= 0;
    while (hi !== 0 || lo > 0x7f) {
      buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[this.pos++] = lo;
  }

  tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

/** Splits a uint64 bigint into [lo, hi] uint32 halves (values are masked to 64 bits). */
export function splitU64(v: bigint): [number, number] {
  const m = BigInt.asUintN(64, v);
  return [Number(m & 0xffffffffn), Number(m >> 32n)];
}

/** An int32 enum value as the 64-bit varint protobuf uses (negatives sign-extended). */
export function int32Halves(v: number): [number, number] {
  const lo = v >>> 0;
  return [lo, (v | 0) < 0 ? 0xffffffff : 0];
}

export { TWO_32 };
