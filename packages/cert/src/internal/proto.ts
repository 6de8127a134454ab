/**
 * Minimal protobuf wire reader/writer for the two v1 certificate messages. Hand-written because
 * the signature and fingerprint are computed over Go's exact re-encoding (cert.md §1), and the
 * reader must turn every malformed input into a typed error (Go: "proto: cannot parse invalid
 * wire-format data").
 */
import { CertError } from '../errors.js';

// protobuf-go picks ' ' or U+00A0 after "proto:" per build (internal/detrand, to discourage
// matching on error text); Debian's nebula 1.6.1 binary prints U+00A0.
const WIRE_ERROR = 'proto:\u00a0cannot parse invalid wire-format data';
// protobuf-go's decoder refuses field numbers above protowire.MaxValidNumber (2^29 - 1), known or
// not; below that, unknown fields are skipped. (Checked with Debian's nebula-cert print.)
const MAX_FIELD_NUMBER = 536_870_911;
const TWO_32 = 4_294_967_296;

export const WireType = { Varint: 0, Fixed64: 1, Bytes: 2, StartGroup: 3, EndGroup: 4, Fixed32: 5 } as const;

export function wireError(): CertError {
  return new CertError('ERR_CERT_MALFORMED', WIRE_ERROR);
}

export class ProtoReader {
  pos: number;
  /** High 32 bits of the last varint read by `varint()`. */
  hi = 0;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /**
   * Reads a varint of up to 10 bytes (as protowire: a 10th byte above 1 overflows 64 bits);
   * returns the low 32 bits as uint32 and leaves the high 32 bits in `this.hi`.
   */
  varint(): number {
    const { buf, end } = this;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw wireError();
      const b = buf[this.pos++] as number;
      const v = b & 0x7f;
      if (i < 4) lo |= v << (7 * i);
      else if (i === 4) {
        lo |= (v & 0x0f) << 28;
        hi = v >>> 4;
      } else if (i < 9) hi |= v << (7 * i - 32);
      else {
        if (b > 1) throw wireError();
        hi |= v << 31;
      }
      if (b < 0x80) {
        this.hi = hi >>> 0;
        return lo >>> 0;
      }
    }
    throw wireError();
  }

  /** int64 varint as a JS number; values beyond ±2^53 are refused rather than silently rounded. */
  int64(): number {
    const lo = this.varint();
    const hi = this.hi;
    const v = hi >= 0x80000000 ? (hi - TWO_32) * TWO_32 + lo : hi * TWO_32 + lo;
    if (!Number.isSafeInteger(v)) {
      throw new CertError('ERR_CERT_MALFORMED', 'int64 value outside the range this implementation supports');
    }
    return v;
  }

  /** Reads a tag; returns the field number and leaves the wire type in `lastWireType`. */
  lastWireType = 0;
  tag(): number {
    const lo = this.varint();
    if (this.hi >= 4) throw wireError();
    const num = this.hi * 0x20000000 + (lo >>> 3);
    const wt = lo & 7;
    if (num < 1 || num > MAX_FIELD_NUMBER || wt > 5) throw wireError();
    this.lastWireType = wt;
    return num;
  }

  /** Length-delimited payload bounds; returns the start offset and advances past it. */
  bytesBounds(): number {
    const len = this.varint();
    if (this.hi !== 0 || len > this.end - this.pos) throw wireError();
    const start = this.pos;
    this.pos += len;
    return start;
  }

  /** Skips the value of a field of the given wire type (unknown fields are dropped, as Go does). */
  skip(num: number, wt: number, depth = 0): void {
    switch (wt) {
      case WireType.Varint:
        this.varint();
        return;
      case WireType.Fixed64:
        this.advance(8);
        return;
      case WireType.Fixed32:
        this.advance(4);
        return;
      case WireType.Bytes:
        this.bytesBounds();
        return;
      case WireType.StartGroup: {
        if (depth > 64) throw wireError();
        for (;;) {
          if (this.done) throw wireError();
          const n = this.tag();
          const w = this.lastWireType;
          if (w === WireType.EndGroup) {
            if (n !== num) throw wireError();
            return;
          }
          this.skip(n, w, depth + 1);
        }
      }
      default:
        throw wireError();
    }
  }

  private advance(n: number): void {
    if (this.end - this.pos < n) throw wireError();
    this.pos += n;
  }
}

/** Growable output buffer. */
export class ProtoWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** Unsigned varint of a non-negative safe integer. */
  uvarint(v: number): void {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** int64 varint: negatives take 10 bytes (two's complement), as proto3 int64 does. */
  int64(v: number): void {
    if (v >= 0) {
      this.uvarint(v);
      return;
    }
    let u = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }

  bytes(b: Uint8Array): void {
    this.uvarint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export function uvarintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}
