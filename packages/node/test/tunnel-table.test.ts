/**
 * Shared tunnel state: send counters taken by several worker threads at once never repeat, the
 * remote address is read consistently while the main thread roams it, and windows reset to the
 * post-handshake state.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { allocateTunnelTable, TunnelTable } from '../src/index.js';

const TABLE_JS = new URL('../dist/tunnel-table.js', import.meta.url).href;

describe('TunnelTable in shared memory', () => {
  it('counters taken concurrently by 3 threads are all distinct and contiguous', async () => {
    const buffers = allocateTunnelTable(4, 3);
    const table = new TunnelTable(buffers);
    table.init(1, 1, 2, 3, 0, 2);
    const per = 50_000;
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.url).then(({ TunnelTable }) => {
        const t = new TunnelTable(workerData.buffers);
        const out = new Float64Array(workerData.per);
        for (let i = 0; i < out.length; i++) out[i] = t.nextCounter(1);
        parentPort.postMessage(out);
      });`;
    const results = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<Float64Array>((resolve, reject) => {
            const w = new Worker(code, { eval: true, workerData: { url: TABLE_JS, buffers, per } });
            w.once('message', (m: Float64Array) => {
              resolve(m);
              void w.terminate();
            });
            w.once('error', reject);
          }),
      ),
    );
    const all = new Set<number>();
    for (const r of results) for (const c of r) all.add(c);
    expect(all.size).toBe(3 * per);
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    for (const c of all) {
      if (c < min) min = c;
      if (c > max) max = c;
    }
    expect(min).toBe(3);
    expect(max).toBe(2 + 3 * per);
  });

  it('reads the remote address consistently and resets windows to "0, 1, 2 seen"', () => {
    const t = new TunnelTable(allocateTunnelTable(2, 1));
    t.init(0, 1, 2, 3, 0, 2);
    t.writeAddr(0, { family: 4, port: 4242, w: [0xc6336401, 0, 0, 0] });
    const out = new Uint32Array(6);
    expect(t.readAddr(0, out, 0)).toBe(true);
    expect([...out]).toEqual([4, 4242, 0xc6336401, 0, 0, 0]);
    t.writeAddr(0, null);
    expect(t.readAddr(0, out, 0)).toBe(false);
    const w = t.resetWindow(0);
    expect(w.check(1)).toBe(false);
    expect(w.check(2)).toBe(false);
    expect(w.check(3)).toBe(true);
    expect(t.nextCounter(0)).toBe(3);
  });
});
