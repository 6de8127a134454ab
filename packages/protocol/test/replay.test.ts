import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { type ReplayCounters, ReplayWindow } from '../src/index.js';

const numRuns = Number(process.env.FUZZ_RUNS ?? 2000);
const L = 1024;

/** handshake.md §8 transcribed literally (boolean ring), as the model for the fuzz test. */
class SpecWindow {
  current = 0;
  bits = new Array<boolean>(L).fill(false);
  firstSeen = false;
  lost = 0;
  dup = 0;
  oow = 0;
  check(i: number): boolean {
    if (i > this.current) return true;
    if (i === 0 && !this.firstSeen && this.current < L) return true;
    if (this.current >= L && i > this.current - L) return !this.bits[i % L];
    if (i < L) return !this.bits[i % L];
    return false;
  }
  update(i: number): boolean {
    const c = this.current;
    if (i === c + 1) {
      if (i > L && !this.bits[i % L]) this.lost++;
      this.bits[i % L] = true;
      this.current = i;
      return true;
    }
    if (c < i && i < c + L) {
      for (let n = c + 1; n < i; n++) this.bits[n % L] = false;
      this.bits[i % L] = true;
      this.current = i;
      return true;
    }
    if (i >= c + L) {
      this.lost += Math.max(0, i - c - L) + (c === 0 ? 1 : 0);
      this.bits.fill(false);
      this.bits[i % L] = true;
      this.current = i;
      return true;
    }
    if (i === 0 && !this.firstSeen && c < L) {
      this.firstSeen = true;
      this.bits[0] = true;
      return true;
    }
    if ((c >= L && i > c - L) || (c < L && i < L)) {
      if (i === c || this.bits[i % L]) {
        this.dup++;
        return false;
      }
      this.bits[i % L] = true;
      return true;
    }
    this.oow++;
    return false;
  }
}

const zero = (): ReplayCounters => ({ lost: 0, duplicate: 0, outOfWindow: 0 });

describe('ReplayWindow (handshake.md §8)', () => {
  it('after a handshake: counters 0,1,2 are replays, 3 is next', () => {
    const w = ReplayWindow.initAfterHandshake();
    expect(w.current).toBe(2);
    for (const i of [0, 1, 2]) expect(w.check(i)).toBe(false);
    expect(w.update(1)).toBe(false);
    expect(w.update(2)).toBe(false);
    expect(w.duplicate).toBe(2);
    expect(w.check(3)).toBe(true);
    expect(w.update(3)).toBe(true);
    expect(w.current).toBe(3);
  });

  it('a fresh window accepts 0 once', () => {
    const w = new ReplayWindow();
    expect(w.check(0)).toBe(true);
    expect(w.update(0)).toBe(true);
    expect(w.check(0)).toBe(false);
    expect(w.update(0)).toBe(false);
    expect(w.duplicate).toBe(1);
  });

  it('jump +5, then the older in-window counters are accepted once each', () => {
    const w = ReplayWindow.initAfterHandshake();
    expect(w.update(3)).toBe(true);
    expect(w.update(8)).toBe(true);
    for (const i of [5, 4, 7, 6]) {
      expect(w.check(i)).toBe(true);
      expect(w.update(i)).toBe(true);
    }
    for (const i of [3, 4, 5, 6, 7, 8]) {
      expect(w.check(i)).toBe(false);
      expect(w.update(i)).toBe(false);
    }
    expect(w.current).toBe(8);
    expect(w.takeCounters(zero())).toEqual({ lost: 0, duplicate: 6, outOfWindow: 0 });
    expect(w.duplicate).toBe(0);
  });

  it('out of window once current >= 1024', () => {
    const w = ReplayWindow.initAfterHandshake();
    expect(w.update(3000)).toBe(true);
    expect(w.lost).toBe(3000 - 2 - L);
    expect(w.check(3000 - L)).toBe(false);
    expect(w.update(3000 - L)).toBe(false);
    expect(w.check(3001 - L)).toBe(true);
    expect(w.update(3001 - L)).toBe(true);
    expect(w.update(5)).toBe(false);
    expect(w.outOfWindow).toBe(2);
    // Below L the "first window" rule of check() still looks at the slot; update() refuses.
    expect(w.check(2)).toBe(true);
    expect(w.update(2)).toBe(false);
  });

  it('jumps of >= 1024 clear the window and count lost packets', () => {
    const w = new ReplayWindow();
    expect(w.update(5000)).toBe(true);
    expect(w.lost).toBe(5000 - L + 1); // +1 because current was 0
    const v = ReplayWindow.initAfterHandshake();
    expect(v.update(2 + L)).toBe(true);
    expect(v.lost).toBe(0);
    expect(v.check(3)).toBe(true); // cleared slot, still inside the window
    expect(v.update(3)).toBe(true);
  });

  it('a slot never filled counts as lost when the window passes it', () => {
    const w = ReplayWindow.initAfterHandshake();
    for (let i = 3; i <= 1033; i++) if (i !== 10) expect(w.update(i)).toBe(true);
    expect(w.lost).toBe(0);
    expect(w.update(1034)).toBe(true); // slot of 10 is still empty
    expect(w.lost).toBe(1);
  });

  it('counters near 2^53 work', () => {
    const w = ReplayWindow.initAfterHandshake();
    const big = 2 ** 53 - 10;
    expect(w.update(big)).toBe(true);
    expect(w.current).toBe(big);
    expect(w.check(big - 1)).toBe(true);
    expect(w.update(big - 1)).toBe(true);
    expect(w.update(big - 1)).toBe(false);
    expect(w.update(big + 1)).toBe(true);
  });

  it('reset() equals the handshake marking and clears tallies', () => {
    const a = ReplayWindow.initAfterHandshake();
    const b = new ReplayWindow();
    b.markHandshake();
    for (const i of [0, 1, 2, 3, 1023, 1024, 1025]) expect(a.check(i)).toBe(b.check(i));
    a.update(5000);
    a.update(5000);
    a.reset();
    expect([a.current, a.lost, a.duplicate, a.outOfWindow]).toEqual([2, 0, 0, 0]);
    expect(a.update(2)).toBe(false);
    expect(a.update(3)).toBe(true);
    a.reset(false);
    expect(a.current).toBe(0);
    expect(a.update(0)).toBe(true);
  });

  it('lives at an offset of a shared region without touching its neighbours', () => {
    const words = new Int32Array(new SharedArrayBuffer(4 * (ReplayWindow.WORDS * 2 + 2)));
    words.fill(-1);
    // Garbage memory: a fresh window zeroes its region (lock word included) first.
    const w = new ReplayWindow(words, 1 + ReplayWindow.WORDS);
    w.reset();
    w.update(777);
    expect(words[0]).toBe(-1);
    expect(words[ReplayWindow.WORDS]).toBe(-1);
    expect(words[words.length - 1]).toBe(-1);
    const attached = new ReplayWindow(words, 1 + ReplayWindow.WORDS, false);
    expect(attached.current).toBe(777);
    expect(() => new ReplayWindow(words, words.length - 3)).toThrow(RangeError);
  });

  it('fuzz: matches the literal spec model on random counter sequences', () => {
    const counter = fc.oneof(
      fc.nat(40),
      fc.integer({ min: 900, max: 1200 }),
      fc.integer({ min: 2000, max: 5000 }),
      fc.nat(1 << 20),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.tuple(fc.boolean(), counter), { maxLength: 200 }), (hs, ops) => {
        const w = hs ? ReplayWindow.initAfterHandshake() : new ReplayWindow();
        const m = new SpecWindow();
        if (hs) for (const i of [0, 1, 2]) m.update(i);
        for (const [isCheck, i] of ops) {
          if (isCheck) expect(w.check(i)).toBe(m.check(i));
          else expect(w.update(i)).toBe(m.update(i));
        }
        expect(w.current).toBe(m.current);
        expect([w.lost, w.duplicate, w.outOfWindow]).toEqual([m.lost, m.dup, m.oow]);
      }),
      { numRuns },
    );
  });

  it('two worker threads updating one shared window accept each counter exactly once', async () => {
    // Run src/replay.ts itself in the workers: it has no runtime imports, so a CommonJS transpile
    // evaluated in the worker is the same code the tests above exercise.
    const src = readFileSync(new URL('../src/replay.ts', import.meta.url), 'utf8');
    const js = ts.transpileModule(src, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const N = 200_000;
    const words = new Int32Array(new SharedArrayBuffer(4 * ReplayWindow.WORDS));
    const accepted = new Int32Array(new SharedArrayBuffer(4 * (N + 3)));
    const win = ReplayWindow.initAfterHandshake(words, 0);
    const body = `
      const exports = {};
      ${js}
      const { workerData, parentPort } = require('node:worker_threads');
      const { words, accepted, N, seed } = workerData;
      const w = new exports.ReplayWindow(words, 0, false);
      const block = new Array(64);
      let rnd = seed;
      // Counters 3..N+2 in increasing blocks of 64, shuffled inside each block (reordering < L).
      for (let start = 3; start < N + 3; start += 64) {
        const n = Math.min(64, N + 3 - start);
        for (let j = 0; j < n; j++) block[j] = start + j;
        for (let j = n - 1; j > 0; j--) {
          rnd = (rnd * 1103515245 + 12345) >>> 0;
          const k = rnd % (j + 1);
          const t = block[j]; block[j] = block[k]; block[k] = t;
        }
        for (let j = 0; j < n; j++) {
          const c = block[j];
          if (w.check(c) && w.update(c)) Atomics.add(accepted, c, 1);
        }
      }
      parentPort.postMessage('done');
    `;
    const run = (seed: number) =>
      new Promise<void>((resolve, reject) => {
        const wk = new Worker(body, { eval: true, workerData: { words, accepted, N, seed } });
        wk.once('message', () => resolve());
        wk.once('error', reject);
      });
    await Promise.all([run(1), run(2)]);
    const bad: string[] = [];
    for (let c = 3; c < N + 3; c++) if (accepted[c] !== 1) bad.push(`${c} accepted ${accepted[c]}x`);
    expect(bad.slice(0, 20)).toEqual([]);
    expect(win.current).toBe(N + 2);
    const counts = win.takeCounters(zero());
    // Every rejection by one worker is a counter the other accepted.
    expect(counts.outOfWindow + counts.duplicate).toBeLessThanOrEqual(N);
  });
});
