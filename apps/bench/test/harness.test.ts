/** `parseFlags`, the `--flag value` reader of the netns cases, and the table helpers. */
import { describe, expect, it } from 'vitest';
import { fixed, parseFlags, quantile } from '../src/harness.js';

const numeric = { '--reps': ['reps', 1], '--idle': ['idle', 0] } as const;

describe('parseFlags', () => {
  it('sets numeric options and hands other flags to the caller', () => {
    const o = { reps: 5, idle: 3, name: '' };
    parseFlags(['--idle', '0.5', '--name', 'x', '--reps', '2'], 'usage', o, numeric, (flag, v) => {
      if (flag !== '--name') return false;
      o.name = v ?? '';
      return true;
    });
    expect(o).toEqual({ reps: 2, idle: 0.5, name: 'x' });
  });

  it('takes a switch without a value and reads the flag after it as a flag', () => {
    const o = { reps: 5, idle: 3, pin: false };
    parseFlags(['--pin', '--reps', '2'], 'usage', o, numeric, (flag) => {
      if (flag !== '--pin') return false;
      o.pin = true;
      return 'no value';
    });
    expect(o).toEqual({ reps: 2, idle: 3, pin: true });
  });

  it('refuses numbers below the least value, non-numbers, a missing value and unknown flags', () => {
    const o = () => ({ reps: 5, idle: 3 });
    expect(() => parseFlags(['--reps', '0'], 'usage: u', o(), numeric)).toThrow(
      '--reps: expected a number >= 1\nusage: u',
    );
    expect(() => parseFlags(['--idle', 'abc'], 'u', o(), numeric)).toThrow('--idle: expected a number >= 0');
    expect(() => parseFlags(['--idle'], 'u', o(), numeric)).toThrow('--idle: expected a number >= 0');
    expect(() => parseFlags(['--what', '1'], 'usage: u', o(), numeric)).toThrow(
      'unknown argument --what\nusage: u',
    );
  });
});

describe('fixed and quantile', () => {
  it('format a cell, or n/a for nothing to show', () => {
    expect(fixed(0.5)).toBe('0.500');
    expect(fixed(1.234, 1)).toBe('1.2');
    expect([null, undefined, Number.NaN, Number.POSITIVE_INFINITY].map((x) => fixed(x))).toEqual([
      'n/a',
      'n/a',
      'n/a',
      'n/a',
    ]);
  });

  it('take the element at rank floor(q · n), unsorted input left as it is', () => {
    const xs = [5, 1, 4, 2, 3];
    expect(quantile(xs, 0.5)).toBe(3);
    expect(quantile(xs, 0.9)).toBe(5);
    expect(quantile(xs, 0)).toBe(1);
    expect(quantile(xs, 1)).toBe(5);
    expect(xs).toEqual([5, 1, 4, 2, 3]);
    expect(quantile([], 0.5)).toBeNaN();
  });
});
