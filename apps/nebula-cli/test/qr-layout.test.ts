/**
 * `-out-qr` segmentation: go-qrcode's documented cases (its TestOptimiseEncoding, version range
 * 1–9), which fix the QR version and so the PNG size Go's nebula-cert produces.
 */
import { describe, expect, it } from 'vitest';
import { goQrLayout } from '../src/nebula-cert/qr.js';

/** "B5 A3" → 5 byte chars then 3 alphanumeric ones, with go-qrcode's test characters. */
function text(spec: string): string {
  const ch = { N: '1', A: 'A', B: '#' } as Record<string, string>;
  return spec
    .split(' ')
    .map((p) => ch[p[0]!]!.repeat(Number(p.slice(1))))
    .join('');
}

const short = (segments: { mode: string; data: string }[]): string =>
  segments.map((s) => `${s.mode[0]!.toUpperCase()}${s.data.length}`).join(' ');

describe('go-qrcode segmentation', () => {
  it.each([
    ['A1 N1 A1 N1 A1', 'A5'],
    ['A1 N20', 'A1 N20'],
    ['A100 B1 N1', 'A100 B2'],
    ['A1 B1 N1', 'B3'],
    ['B5 A3 B3 A1 B6 A1 A4 N30', 'B23 N30'],
    ['B5 A3 B3 A1 B6 A1 A4 N3', 'B26'],
    ['A23 N3', 'A26'],
    ['A17 N3 A4 N7 A3 N4 A8 N2', 'A48'],
    ['N10', 'N10'],
  ])('%s → %s', (input, expected) => {
    const layout = goQrLayout(text(input));
    expect(layout).not.toBeNull();
    expect(short(layout!.segments)).toBe(expected);
  });

  it('gives up on a version range whose count width a segment overflows', () => {
    // 300 byte characters do not fit 1–9's 8-bit byte count: version 10 or more, as go-qrcode.
    expect(goQrLayout('#'.repeat(300))!.version).toBeGreaterThanOrEqual(10);
    expect(goQrLayout('')).toBeNull();
    expect(goQrLayout('#'.repeat(4000))).toBeNull();
  });
});
