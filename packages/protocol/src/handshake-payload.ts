/**
 * `NebulaHandshake` / `NebulaHandshakeDetails` (handshake.md §3; Go: nebula.proto). Encoding
 * matches Go's generated marshaller byte for byte: field-number order, zero values omitted,
 * Details always present. Decoding accepts any valid protobuf encoding.
 */
import { ProtocolError } from './errors.js';
import { copyBytes } from './internal/bytes.js';
import {
  expectWireType,
  PbReader,
  PbWriter,
  splitU64,
  varintSize,
  WIRE_BYTES,
  WIRE_VARINT,
} from './internal/pb.js';

export interface NebulaHandshakeDetails {
  /** Sender's certificate, canonical bytes with the PublicKey field removed. */
  cert: Uint8Array;
  initiatorIndex: number;
  responderIndex: number;
  /** Unused by Nebula 1.6.1. */
  cookie: bigint;
  /** Sender's wall clock, Unix nanoseconds. */
  time: bigint;
}

export interface NebulaHandshake {
  details: NebulaHandshakeDetails;
  /** Unused by Nebula 1.6.1 (never set). */
  hmac: Uint8Array;
}

/** What `encodeHandshake` takes: any omitted field is its zero value. */
export interface NebulaHandshakeInit {
  details: {
    cert?: Uint8Array;
    initiatorIndex?: number;
    responderIndex?: number;
    cookie?: bigint;
    time?: bigint;
  };
  hmac?: Uint8Array;
}

const EMPTY: Uint8Array = new Uint8Array(0);

/** Wall clock in Unix nanoseconds, as Go's `time.Now().UnixNano()` (millisecond resolution here). */
export function nowNanos(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export function encodeHandshake(hs: NebulaHandshakeInit): Uint8Array {
  const d = hs.details;
  const cert = d.cert ?? EMPTY;
  const ii = (d.initiatorIndex ?? 0) >>> 0;
  const ri = (d.responderIndex ?? 0) >>> 0;
  const [cookieLo, cookieHi] = splitU64(d.cookie ?? 0n);
  const [timeLo, timeHi] = splitU64(d.time ?? 0n);
  const hmac = hs.hmac ?? EMPTY;

  let detailsLen = 0;
  if (cert.length > 0) detailsLen += 1 + varintSize(cert.length) + cert.length;
  if (ii !== 0) detailsLen += 1 + varintSize(ii);
  if (ri !== 0) detailsLen += 1 + varintSize(ri);
  if (cookieLo !== 0 || cookieHi !== 0) detailsLen += 1 + varintSize(cookieLo, cookieHi);
  if (timeLo !== 0 || timeHi !== 0) detailsLen += 1 + varintSize(timeLo, timeHi);
  let total = 1 + varintSize(detailsLen) + detailsLen;
  if (hmac.length > 0) total += 1 + varintSize(hmac.length) + hmac.length;

  const w = new PbWriter(new Uint8Array(total));
  w.tag(1, WIRE_BYTES);
  w.varint(detailsLen);
  if (cert.length > 0) {
    w.tag(1, WIRE_BYTES);
    w.bytes(cert);
  }
  if (ii !== 0) {
    w.tag(2, WIRE_VARINT);
    w.varint(ii);
  }
  if (ri !== 0) {
    w.tag(3, WIRE_VARINT);
    w.varint(ri);
  }
  if (cookieLo !== 0 || cookieHi !== 0) {
    w.tag(4, WIRE_VARINT);
    w.varint(cookieLo, cookieHi);
  }
  if (timeLo !== 0 || timeHi !== 0) {
    w.tag(5, WIRE_VARINT);
    w.varint(timeLo, timeHi);
  }
  if (hmac.length > 0) {
    w.tag(2, WIRE_BYTES);
    w.bytes(hmac);
  }
  return w.buf;
}

/**
 * Decodes a handshake payload. Byte fields are copies (the input buffer may be reused).
 * Throws `ProtocolError` (`ERR_PROTO_*`, or `ERR_HANDSHAKE_NO_DETAILS` when Details is absent).
 */
export function decodeHandshake(bytes: Uint8Array): NebulaHandshake {
  const r = new PbReader(bytes);
  let details: NebulaHandshakeDetails | null = null;
  let hmac: Uint8Array = EMPTY;
  while (!r.done) {
    const field = r.tag();
    const wt = r.wireType;
    if (field === 1) {
      expectWireType(field, wt, WIRE_BYTES);
      const start = r.bytesRange();
      // A repeated embedded message merges into the first, as in Go.
      details ??= { cert: EMPTY, initiatorIndex: 0, responderIndex: 0, cookie: 0n, time: 0n };
      decodeDetailsInto(new PbReader(bytes, start, r.pos), details);
    } else if (field === 2) {
      expectWireType(field, wt, WIRE_BYTES);
      const start = r.bytesRange();
      hmac = copyBytes(bytes, start, r.pos);
    } else {
      r.skip(field, wt);
    }
  }
  if (details === null)
    throw new ProtocolError('ERR_HANDSHAKE_NO_DETAILS', 'handshake payload has no Details');
  return { details, hmac };
}

function decodeDetailsInto(r: PbReader, d: NebulaHandshakeDetails): void {
  while (!r.done) {
    const field = r.tag();
    const wt = r.wireType;
    switch (field) {
      case 1: {
        expectWireType(field, wt, WIRE_BYTES);
        const start = r.bytesRange();
        d.cert = copyBytes(r.buf, start, r.pos);
        break;
      }
      case 2:
        expectWireType(field, wt, WIRE_VARINT);
        d.initiatorIndex = r.uint32();
        break;
      case 3:
        expectWireType(field, wt, WIRE_VARINT);
        d.responderIndex = r.uint32();
        break;
      case 4:
        expectWireType(field, wt, WIRE_VARINT);
        d.cookie = r.uint64();
        break;
      case 5:
        expectWireType(field, wt, WIRE_VARINT);
        d.time = r.uint64();
        break;
      default:
        r.skip(field, wt);
    }
  }
}
