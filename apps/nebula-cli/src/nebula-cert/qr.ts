/**
 * `-out-qr`: a PNG QR code of the PEM text, as go-qrcode (da1b656, what Debian's nebula 1.6.1 is
 * built with) draws it with `Encode(pem, Medium, -5)`: error correction M, 5 px per module,
 * 4-module quiet zone, and the same QR version, hence the same image size.
 *
 * The version follows from how the text is split into numeric / alphanumeric / byte segments, and
 * the `qrcode` package's own splitter is smarter than go-qrcode's: for some PEMs it needs one
 * version less. So the split here follows go-qrcode's rules (its behaviour, written from its
 * documentation and tests): per version range 1–9, 10–26, 27–40 (each with its own character
 * count widths), runs of one class are merged left to right into a preceding run of a wider mode
 * while that is shorter, then one segment in the widest class present replaces the lot if that is
 * no longer; the first range with a version that holds the bits wins.
 */
import { createRequire } from 'node:module';
import QRCode, { type QRCodeSegment } from 'qrcode';

type SegmentMode = 'numeric' | 'alphanumeric' | 'byte';
interface Segment {
  mode: SegmentMode;
  data: string;
}

const RANK: Record<SegmentMode, number> = { numeric: 1, alphanumeric: 2, byte: 3 };
const RANGES = [
  { min: 1, max: 9, count: { numeric: 10, alphanumeric: 9, byte: 8 } },
  { min: 10, max: 26, count: { numeric: 12, alphanumeric: 11, byte: 16 } },
  { min: 27, max: 40, count: { numeric: 14, alphanumeric: 13, byte: 16 } },
] as const;
const ALPHANUMERIC_EXTRA = new Set([0x20, 0x24, 0x25, 0x2a, 0x2b, 0x2d, 0x2e, 0x2f, 0x3a]);

// The data capacity of a version at level M, from the pinned `qrcode` package (its own tables).
const require = createRequire(import.meta.url);
const qrVersion = require('qrcode/lib/core/version.js') as {
  getCapacity(version: number, level: unknown, mode: unknown): number;
};
const qrLevel = require('qrcode/lib/core/error-correction-level.js') as { M: unknown };
const qrMode = require('qrcode/lib/core/mode.js') as { MIXED: unknown };

function classOf(c: number): SegmentMode {
  if (c >= 0x30 && c <= 0x39) return 'numeric';
  if ((c >= 0x41 && c <= 0x5a) || ALPHANUMERIC_EXTRA.has(c)) return 'alphanumeric';
  return 'byte';
}

/** Bits for `n` characters in `mode` (4-bit mode indicator included), or NaN past the count width. */
function bitLength(mode: SegmentMode, n: number, countBits: number): number {
  if (n > 2 ** countBits - 1) return Number.NaN;
  const head = 4 + countBits;
  if (mode === 'numeric') return head + 10 * Math.floor(n / 3) + (n % 3 === 0 ? 0 : 1 + 3 * (n % 3));
  if (mode === 'alphanumeric') return head + 11 * Math.floor(n / 2) + 6 * (n % 2);
  return head + 8 * n;
}

/**
 * go-qrcode's segments for `text` in one version range, and their total bits. NaN when any length
 * it computes on the way overflows a count width: go-qrcode then gives up on the whole range,
 * even when the segments it would keep fit (the single-byte check alone fails past 255 bytes).
 */
function segmentsFor(
  text: string,
  count: Record<SegmentMode, number>,
): { segments: Segment[]; bits: number } {
  const runs: Segment[] = [];
  let widest: SegmentMode = 'numeric';
  for (let i = 0; i < text.length; i++) {
    const mode = classOf(text.charCodeAt(i));
    if (RANK[mode] > RANK[widest]) widest = mode;
    const last = runs[runs.length - 1];
    if (last !== undefined && last.mode === mode) last.data += text[i];
    else runs.push({ mode, data: text[i]! });
  }
  const merged: Segment[] = [];
  for (let i = 0; i < runs.length; ) {
    const mode = runs[i]!.mode;
    let data = runs[i]!.data;
    let j = i + 1;
    for (; j < runs.length; j++) {
      const next = runs[j]!;
      if (RANK[next.mode] > RANK[mode]) break;
      const together = bitLength(mode, data.length + next.data.length, count[mode]);
      const apart =
        bitLength(mode, data.length, count[mode]) + bitLength(next.mode, next.data.length, count[next.mode]);
      if (Number.isNaN(together) || Number.isNaN(apart)) return { segments: [], bits: Number.NaN };
      if (!(together < apart)) break;
      data += next.data;
    }
    merged.push({ mode, data });
    i = j;
  }
  let bits = 0;
  for (const s of merged) bits += bitLength(s.mode, s.data.length, count[s.mode]);
  const single = bitLength(widest, text.length, count[widest]);
  if (Number.isNaN(bits) || Number.isNaN(single)) return { segments: [], bits: Number.NaN };
  if (single <= bits) return { segments: [{ mode: widest, data: text }], bits: single };
  return { segments: merged, bits };
}

/** The version and segments go-qrcode uses for `text` at level M, or null when it is too long. */
export function goQrLayout(text: string): { version: number; segments: Segment[] } | null {
  if (text.length === 0) return null;
  for (const range of RANGES) {
    const { segments, bits } = segmentsFor(text, range.count);
    if (Number.isNaN(bits)) continue;
    for (let v = range.min; v <= range.max; v++) {
      if (qrVersion.getCapacity(v, qrLevel.M, qrMode.MIXED) >= bits) return { version: v, segments };
    }
  }
  return null;
}

export async function qrPng(text: string): Promise<Uint8Array> {
  const layout = goQrLayout(text);
  // go-qrcode says "content too long to encode" (output.ts maps "too big" to that wording).
  if (layout === null) throw new Error('The amount of data is too big to be stored in a QR Code');
  // Our segments are the package's numeric/alphanumeric/byte string segments.
  const buf = await QRCode.toBuffer(layout.segments as QRCodeSegment[], {
    type: 'png',
    version: layout.version,
    errorCorrectionLevel: 'M',
    scale: 5,
    margin: 4,
  });
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
