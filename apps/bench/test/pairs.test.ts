/** `--pairs` parsing shared by the rtt and hops cases. */
import { describe, expect, it } from 'vitest';
import { implsOf, parsePairs } from '../src/pairs.js';

describe('parsePairs', () => {
  it('keeps the named pairs in order', () => {
    expect(parsePairs('ts-go,go-go', 'usage')).toEqual(['ts-go', 'go-go']);
    expect(implsOf('ts-go')).toEqual(['ts', 'go']);
  });

  it('names the unknown pairs, and refuses none', () => {
    expect(() => parsePairs('ts-go,go-rust', 'usage: x')).toThrow('--pairs: unknown go-rust\nusage: x');
    expect(() => parsePairs('', 'usage: x')).toThrow('--pairs: unknown (none)');
    expect(() => parsePairs(undefined, 'usage: x')).toThrow('--pairs: unknown (none)');
  });
});
