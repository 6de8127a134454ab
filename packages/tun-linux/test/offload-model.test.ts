/**
 * The merge decisions of a `tso` queue's write (src/native/offload.cc), checked without a device:
 * `plan` returns the run lengths `write` would use, compared with a model of the rules on runs of
 * real TCP segments with mutations, and on arbitrary bytes (bytes from the network end up here).
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TunNative } from '../src/internal/native.js';
import { ACK, modelRuns, PSH, segment, segmentBatch, toArena } from './helpers/tcp-segments.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const native = createRequire(import.meta.url)('../build/Release/tun_linux.node') as TunNative;

function plan(batch: readonly Uint8Array[]): number[] {
  const { buf, offsets, lengths } = toArena(batch);
  const runs = new Uint32Array(Math.max(1, batch.length));
  const m = new native.TunOffload().plan(-1, buf, offsets, lengths, batch.length, runs);
  return [...runs.subarray(0, m)];
}

function flow(count: number, gso: number, last = gso, flagsLast = ACK): Uint8Array[] {
  const out: Uint8Array[] = [];
  let seq = 1000;
  for (let i = 0; i < count; i++) {
    const len = i === count - 1 ? last : gso;
    out.push(
      segment({
        src: 0xcb007101,
        dst: 0xcb007102,
        sport: 40000,
        dport: 5201,
        seq,
        ack: 7,
        flags: i === count - 1 ? flagsLast : ACK,
        window: 500,
        options: new Uint8Array(0),
        payload: new Uint8Array(len).fill(i),
        id: i,
        ttl: 64,
      }),
    );
    seq += len;
  }
  return out;
}

describe('tso write: which segments merge', () => {
  it('merges an in-order run and ends it at a short segment or a PSH', () => {
    expect(plan(flow(10, 1260))).toEqual([10]);
    expect(plan(flow(10, 1260, 700))).toEqual([10]);
    expect(plan([...flow(3, 1260, 700), ...flow(2, 1260)])).toEqual([3, 2]);
    expect(plan(flow(4, 1260, 1260, ACK | PSH))).toEqual([4]);
    // An IPv4 packet (≤ 65535 bytes) holds at most 51 segments of 1260 bytes behind 40 of headers.
    expect(plan(flow(60, 1260))).toEqual([51, 9]);
  });

  it('never merges across a gap, a bad checksum or a SYN/FIN', () => {
    const gap = flow(4, 1000);
    gap.splice(2, 1);
    expect(plan(gap)).toEqual([2, 1]);
    const bad = flow(4, 1000);
    bad[1]![60]! ^= 1;
    expect(plan(bad)).toEqual([1, 1, 2]);
    expect(plan(flow(3, 1000, 1000, ACK | 0x01))).toEqual([2, 1]);
  });

  it('agrees with the model on runs of mutated segments (fuzz)', () => {
    let merged = 0;
    fc.assert(
      fc.property(segmentBatch(), (batch) => {
        const runs = plan(batch);
        expect(runs).toEqual(modelRuns(batch));
        if (runs.some((k) => k > 1)) merged++;
      }),
      { numRuns: FUZZ_RUNS },
    );
    // The generator must reach the merging code, not only the refusals.
    expect(merged).toBeGreaterThan(FUZZ_RUNS / 10);
  });

  it('takes arbitrary bytes without crashing and never merges them (fuzz)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 120 }), { maxLength: 20 }), (batch) => {
        const runs = plan(batch);
        expect(runs.reduce((a, b) => a + b, 0)).toBe(batch.length);
        expect(runs).toEqual(modelRuns(batch));
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
