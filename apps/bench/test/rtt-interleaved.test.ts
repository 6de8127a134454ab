/** The interleaved rtt mode's host layout, block ratios and report. */
import { describe, expect, it } from 'vitest';
import { type Block, blockRatios, hostsOf, interleavedReport } from '../src/rtt/interleaved.js';

const block = (pair: Block['pair'], round: number, medianMs: number | null, rep = 0): Block => ({
  rep,
  phase: 'fresh',
  round,
  pair,
  sent: 3,
  received: medianMs === null ? 0 : 3,
  medianMs,
  timesMs: medianMs === null ? [] : [medianMs, medianMs, medianMs],
});

describe('rtt --interleave', () => {
  it('gives each pair its own pinger and responder', () => {
    expect([0, 1, 2, 3].map(hostsOf)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'f'],
      ['g', 'h'],
    ]);
  });

  it('divides each block by the Go↔Go block of its own rep and round only', () => {
    const rows = [
      block('go-go', 0, 0.2),
      block('ts-go', 0, 0.3),
      block('go-go', 1, 0.5),
      block('ts-go', 1, 0.4),
      block('go-go', 0, 1.0, 1),
      block('ts-go', 0, 0.5, 1),
      // No reply in this block: no ratio rather than a division by null.
      block('ts-go', 2, null),
      block('go-go', 2, 0.3),
    ];
    const ratios = blockRatios(rows, 'ts-go', 'fresh');
    expect(ratios).toHaveLength(3);
    for (const [i, r] of [1.5, 0.8, 0.5].entries()) expect(ratios[i]).toBeCloseTo(r, 12);
    expect(blockRatios(rows, 'ts-go', 'fresh', 1)).toEqual([0.5]);
    expect(blockRatios(rows, 'ts-go', 'after traffic')).toEqual([]);
  });

  it('reports the median ratio, the blocks at or under 1 and the loss', () => {
    const rows = [
      block('go-go', 0, 0.2),
      block('ts-go', 0, 0.3),
      block('go-go', 1, 0.5),
      block('ts-go', 1, 0.4),
    ];
    const report = interleavedReport(
      {
        reps: 1,
        rounds: 2,
        block: 3,
        intervalSec: 0.01,
        idleSec: 3,
        trafficSec: 0,
        pairs: ['go-go', 'ts-go'],
      },
      rows,
      2,
    );
    expect(report).toContain('| ts-go | 0.400 | 0.400 | 1.150 | 0.80–1.50 | 1/2 | 1.50 | 0/6 |');
    expect(report).toContain('| go-go | 0.500 | 0.500 | — | — | — | — | 0/6 |');
    expect(report).not.toContain('after traffic');
  });
});
