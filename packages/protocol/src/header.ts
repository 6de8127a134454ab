/**
 * The 16-byte Nebula v1 packet header (spec header.md; Go: header/header.go).
 *
 * ```
 * byte 0: version<<4 | type   byte 1: subtype   bytes 2-3: reserved
 * bytes 4-7: remote index (BE u32)               bytes 8-15: message counter (BE u64)
 * ```
 */

export const HEADER_LEN = 16;
export const HEADER_VERSION = 1;

export const MessageType = {
  Handshake: 0,
  Message: 1,
  RecvError: 2,
  LightHouse: 3,
  Test: 4,
  CloseTunnel: 5,
  Control: 6,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Subtypes, per message type (values overlap across types, as in Go). */
export const HandshakeSubType = { IXPSK0: 0, XXPSK0: 1 } as const;
export const MessageSubType = { None: 0, Relay: 1 } as const;
export const TestSubType = { Request: 0, Reply: 1 } as const;
/** recvError, lightHouse, closeTunnel and control only use 0. */
export const SUBTYPE_NONE = 0;

const TYPE_NAMES: readonly string[] = [
  'handshake',
  'message',
  'recvError',
  'lightHouse',
  'test',
  'closeTunnel',
  'control',
];

/** Type name as Nebula logs it; "unknown" outside the table. */
export function messageTypeName(type: number): string {
  return TYPE_NAMES[type] ?? 'unknown';
}

/** Subtype name as Nebula logs it; "unknown" for a pair it has no name for. */
export function messageSubTypeName(type: number, subtype: number): string {
  switch (type) {
    case MessageType.Handshake:
      return subtype === HandshakeSubType.IXPSK0 ? 'ix_psk0' : 'unknown';
    case MessageType.Message:
      return subtype === MessageSubType.None
        ? 'none'
        : subtype === MessageSubType.Relay
          ? 'relay'
          : 'unknown';
    case MessageType.Test:
      return subtype === TestSubType.Request
        ? 'testRequest'
        : subtype === TestSubType.Reply
          ? 'testReply'
          : 'unknown';
    case MessageType.RecvError:
    case MessageType.LightHouse:
    case MessageType.CloseTunnel:
    case MessageType.Control:
      return subtype === SUBTYPE_NONE ? 'none' : 'unknown';
    default:
      return 'unknown';
  }
}

/** A parsed header. Reuse one per receive loop: `parseHeader` overwrites every field. */
export class Header {
  version = 0;
  type = 0;
  subtype = 0;
  reserved = 0;
  remoteIndex = 0;
  /** hi * 2^32 + lo; exact below 2^53 (a tunnel never gets near that). */
  counter = 0;
  /** The counter's two halves, exact for any value. */
  counterHi = 0;
  counterLo = 0;
}

const TWO_32 = 4294967296;

/**
 * Reads the header at `buf[off..]` of a packet of `len` bytes into `out`. Returns false when the
 * packet is shorter than 16 bytes (Go drops those; 1-byte punches land here). The version nibble
 * is reported, not checked, as in Go 1.6.1.
 */
export function parseHeader(buf: Uint8Array, off: number, len: number, out: Header): boolean {
  if (len < HEADER_LEN || off < 0 || off + HEADER_LEN > buf.length) return false;
  const b0 = buf[off]!;
  out.version = b0 >>> 4;
  out.type = b0 & 0x0f;
  out.subtype = buf[off + 1]!;
  out.reserved = (buf[off + 2]! << 8) | buf[off + 3]!;
  out.remoteIndex = readU32(buf, off + 4);
  const hi = readU32(buf, off + 8);
  const lo = readU32(buf, off + 12);
  out.counterHi = hi;
  out.counterLo = lo;
  out.counter = hi * TWO_32 + lo;
  return true;
}

/**
 * Writes a version-1 header at `buf[off..off+16)`. `counter` must be an integer in [0, 2^53).
 * Returns the offset just past the header.
 */
export function writeHeader(
  buf: Uint8Array,
  off: number,
  type: number,
  subtype: number,
  remoteIndex: number,
  counter: number,
): number {
  buf[off] = (HEADER_VERSION << 4) | (type & 0x0f);
  buf[off + 1] = subtype;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  writeU32(buf, off + 4, remoteIndex);
  writeU32(buf, off + 8, Math.floor(counter / TWO_32));
  writeU32(buf, off + 12, counter >>> 0);
  return off + HEADER_LEN;
}

/** A recv_error for `remoteIndex` (exactly 16 bytes, counter 0). Returns the end offset. */
export function writeRecvError(buf: Uint8Array, off: number, remoteIndex: number): number {
  return writeHeader(buf, off, MessageType.RecvError, SUBTYPE_NONE, remoteIndex, 0);
}

/** Header bytes 8..15 as a number, without a Header object (for loops that only need it). */
export function readCounter(buf: Uint8Array, off: number): number {
  return readU32(buf, off + 8) * TWO_32 + readU32(buf, off + 12);
}

function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}
