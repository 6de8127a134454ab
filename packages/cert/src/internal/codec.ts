/**
 * `RawNebulaCertificate` / `RawNebulaCertificateDetails` (cert.proto of Nebula 1.6.1) on the wire.
 * Decoding follows protobuf-go: fields in any order, packed or unpacked repeated uint32, unknown
 * fields dropped, repeated embedded messages merged, proto3 strings validated as UTF-8.
 * Encoding is the canonical form Go produces (ascending fields, packed Ips/Subnets, zeros omitted).
 */
import { CertError } from '../errors.js';
import { ProtoReader, ProtoWriter, uvarintSize, WireType, wireError } from './proto.js';

export interface RawDetails {
  name: string;
  /** Flattened address, mask pairs. */
  ips: number[];
  subnets: number[];
  groups: string[];
  notBefore: number;
  notAfter: number;
  publicKey: Uint8Array;
  isCA: boolean;
  issuer: Uint8Array;
}

export interface RawCertificate {
  details: RawDetails | null;
  signature: Uint8Array;
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

export function emptyRawDetails(): RawDetails {
  return {
    name: '',
    ips: [],
    subnets: [],
    groups: [],
    notBefore: 0,
    notAfter: 0,
    publicKey: EMPTY,
    isCA: false,
    issuer: EMPTY,
  };
}

export function decodeRawCertificate(buf: Uint8Array): RawCertificate {
  const r = new ProtoReader(buf);
  const out: RawCertificate = { details: null, signature: EMPTY };
  while (!r.done) {
    const num = r.tag();
    const wt = r.lastWireType;
    if (num === 1 && wt === WireType.Bytes) {
      const start = r.bytesBounds();
      out.details ??= emptyRawDetails();
      decodeDetailsInto(buf, start, r.pos, out.details);
    } else if (num === 2 && wt === WireType.Bytes) {
      const start = r.bytesBounds();
      out.signature = buf.slice(start, r.pos);
    } else {
      r.skip(num, wt);
    }
  }
  return out;
}

function readString(buf: Uint8Array, start: number, end: number): string {
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    throw new CertError('ERR_CERT_MALFORMED', 'string field contains invalid UTF-8');
  }
}

function readUint32s(r: ProtoReader, wt: number, into: number[]): boolean {
  if (wt === WireType.Varint) {
    into.push(r.varint());
    return true;
  }
  if (wt !== WireType.Bytes) return false;
  const start = r.bytesBounds();
  const end = r.pos;
  const inner = new ProtoReader(r.buf, start, end);
  // protobuf-go truncates each packed varint to its low 32 bits.
  while (!inner.done) into.push(inner.varint());
  return true;
}

function decodeDetailsInto(buf: Uint8Array, start: number, end: number, d: RawDetails): void {
  const r = new ProtoReader(buf, start, end);
  while (!r.done) {
    const num = r.tag();
    const wt = r.lastWireType;
    let known = false;
    switch (num) {
      case 1:
        if (wt === WireType.Bytes) {
          const s = r.bytesBounds();
          d.name = readString(buf, s, r.pos);
          known = true;
        }
        break;
      case 2:
        known = readUint32s(r, wt, d.ips);
        break;
      case 3:
        known = readUint32s(r, wt, d.subnets);
        break;
      case 4:
        if (wt === WireType.Bytes) {
          const s = r.bytesBounds();
          d.groups.push(readString(buf, s, r.pos));
          known = true;
        }
        break;
      case 5:
        if (wt === WireType.Varint) {
          d.notBefore = r.int64();
          known = true;
        }
        break;
      case 6:
        if (wt === WireType.Varint) {
          d.notAfter = r.int64();
          known = true;
        }
        break;
      case 7:
        if (wt === WireType.Bytes) {
          const s = r.bytesBounds();
          d.publicKey = buf.slice(s, r.pos);
          known = true;
        }
        break;
      case 8:
        if (wt === WireType.Varint) {
          d.isCA = (r.varint() | r.hi) !== 0;
          known = true;
        }
        break;
      case 9:
        if (wt === WireType.Bytes) {
          const s = r.bytesBounds();
          d.issuer = buf.slice(s, r.pos);
          known = true;
        }
        break;
    }
    // A known field with an unexpected wire type is an unknown field to protobuf-go.
    if (!known) r.skip(num, wt);
  }
  if (r.pos !== end) throw wireError();
}

interface EncodedStrings {
  name: Uint8Array;
  groups: Uint8Array[];
}

function packedSize(values: readonly number[]): number {
  let n = 0;
  for (const v of values) n += uvarintSize(v);
  return n;
}

function int64Size(v: number): number {
  return v < 0 ? 10 : uvarintSize(v);
}

function detailsSize(d: RawDetails, s: EncodedStrings): number {
  let n = 0;
  if (s.name.length > 0) n += 1 + uvarintSize(s.name.length) + s.name.length;
  for (const arr of [d.ips, d.subnets]) {
    if (arr.length > 0) {
      const p = packedSize(arr);
      n += 1 + uvarintSize(p) + p;
    }
  }
  for (const g of s.groups) n += 1 + uvarintSize(g.length) + g.length;
  if (d.notBefore !== 0) n += 1 + int64Size(d.notBefore);
  if (d.notAfter !== 0) n += 1 + int64Size(d.notAfter);
  if (d.publicKey.length > 0) n += 1 + uvarintSize(d.publicKey.length) + d.publicKey.length;
  if (d.isCA) n += 2;
  if (d.issuer.length > 0) n += 1 + uvarintSize(d.issuer.length) + d.issuer.length;
  return n;
}

function writeDetails(w: ProtoWriter, d: RawDetails, s: EncodedStrings): void {
  if (s.name.length > 0) {
    w.byte(0x0a);
    w.bytes(s.name);
  }
  for (const [tag, arr] of [
    [0x12, d.ips],
    [0x1a, d.subnets],
  ] as const) {
    if (arr.length === 0) continue;
    w.byte(tag);
    w.uvarint(packedSize(arr));
    for (const v of arr) w.uvarint(v);
  }
  for (const g of s.groups) {
    w.byte(0x22);
    w.bytes(g);
  }
  if (d.notBefore !== 0) {
    w.byte(0x28);
    w.int64(d.notBefore);
  }
  if (d.notAfter !== 0) {
    w.byte(0x30);
    w.int64(d.notAfter);
  }
  if (d.publicKey.length > 0) {
    w.byte(0x3a);
    w.bytes(d.publicKey);
  }
  if (d.isCA) {
    w.byte(0x40);
    w.byte(0x01);
  }
  if (d.issuer.length > 0) {
    w.byte(0x4a);
    w.bytes(d.issuer);
  }
}

function encodeStrings(d: RawDetails): EncodedStrings {
  return { name: utf8Encoder.encode(d.name), groups: d.groups.map((g) => utf8Encoder.encode(g)) };
}

/**
 * Canonical `RawNebulaCertificate` bytes: hashed for the fingerprint; the payload of field 1 is the
 * canonical details, i.e. the signed message.
 */
export function encodeRawCertificate(d: RawDetails, signature: Uint8Array): Uint8Array {
  const s = encodeStrings(d);
  const dlen = detailsSize(d, s);
  const w = new ProtoWriter(
    1 + uvarintSize(dlen) + dlen + 1 + uvarintSize(signature.length) + signature.length,
  );
  // Go always emits Details, even when empty.
  w.byte(0x0a);
  w.uvarint(dlen);
  writeDetails(w, d, s);
  if (signature.length > 0) {
    w.byte(0x12);
    w.bytes(signature);
  }
  return w.finish();
}
