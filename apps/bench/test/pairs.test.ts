/** `--pairs` parsing shared by the rtt and hops cases. */
import { describe, expect, it } from 'vitest';
import { checkTsB, implsOf, nodeImpl, parsePairs } from '../src/pairs.js';

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

  it("takes tsb (a second checkout of ours) only with --ts-b, and runs that checkout's bin", () => {
    expect(parsePairs('go-go,tsb-go,go-tsb', 'usage')).toEqual(['go-go', 'tsb-go', 'go-tsb']);
    expect(() => parsePairs('tsb-', 'usage')).toThrow('--pairs: unknown tsb-');
    expect(() => checkTsB(['go-go', 'tsb-go'], undefined, 'usage: x')).toThrow('tsb needs --ts-b DIR');
    expect(() => checkTsB(['go-go', 'ts-go'], undefined, 'usage: x')).not.toThrow();
    expect(nodeImpl('tsb', '/src/before')).toEqual({
      cmd: [process.execPath, '/src/before/apps/nebula-cli/dist/bin/nebula.js', '-config', '{config}'],
    });
    expect(nodeImpl('go')).toBe('go');
    expect(nodeImpl('go', undefined, 1)).toEqual({
      cmd: ['taskset', '-c', '1', 'nebula', '-config', '{config}'],
    });
  });
});
