/**
 * The blocking fd wait and the eventfd, on real fds: masks by position, timeouts, closed fds,
 * argument errors, and a worker thread blocked in the wait woken from another thread.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bindWaitReadable,
  drainEventFd,
  isNativeError,
  MAX_WAIT_FDS,
  NativeError,
  Wakeup,
} from '../src/index.js';

const open: Wakeup[] = [];
const wakeup = (): Wakeup => {
  const w = new Wakeup();
  open.push(w);
  return w;
};
afterEach(() => {
  for (const w of open.splice(0)) w.close();
});

describe('bindWaitReadable', () => {
  it('returns 0 on timeout and the bit of each readable fd by position', () => {
    const a = wakeup();
    const b = wakeup();
    const c = wakeup();
    const wait = bindWaitReadable([a.fd, b.fd, c.fd]);
    expect(wait(0)).toBe(0);
    expect(wait(5)).toBe(0);
    b.signal();
    expect(wait(-1)).toBe(0b010);
    c.signal();
    expect(wait(0)).toBe(0b110);
    expect(b.drain()).toBe(1);
    expect(wait(0)).toBe(0b100);
    a.signal();
    a.signal();
    expect(wait(0)).toBe(0b101);
    expect(a.drain()).toBe(2);
    expect(drainEventFd(c.fd)).toBe(1);
    expect(wait(0)).toBe(0);
  });

  it('reports a closed fd as ready rather than blocking on it', () => {
    const a = wakeup();
    const b = new Wakeup();
    const wait = bindWaitReadable([a.fd, b.fd]);
    b.close();
    // POLLNVAL (or, if the number was reused meanwhile, that fd's own state): never a silent hang.
    expect(wait(1000) & 0b10).toBe(0b10);
  });

  it('handles the full 30 fds, the top bit included', () => {
    const ws = Array.from({ length: MAX_WAIT_FDS }, () => wakeup());
    const wait = bindWaitReadable(ws.map((w) => w.fd));
    ws[MAX_WAIT_FDS - 1]!.signal();
    ws[0]!.signal();
    expect(wait(0)).toBe((1 << (MAX_WAIT_FDS - 1)) | 1);
  });

  it('refuses bad fd lists and timeouts with ERR_NATIVE_INVALID_ARG', () => {
    const cases: unknown[][] = [
      [],
      Array.from({ length: MAX_WAIT_FDS + 1 }, () => 0),
      [-1],
      [1.5],
      [2 ** 31],
    ];
    for (const fds of cases) {
      const e = (() => {
        try {
          bindWaitReadable(fds as number[]);
        } catch (err) {
          return err;
        }
        return null;
      })();
      expect(e, JSON.stringify(fds)).toBeInstanceOf(NativeError);
      expect((e as NativeError).code).toBe('ERR_NATIVE_INVALID_ARG');
      expect(isNativeError(e)).toBe(true);
    }
    const wait = bindWaitReadable([wakeup().fd]);
    expect(() => (wait as unknown as (x: unknown) => number)('soon')).toThrow(TypeError);
  });

  it('refuses a preRead it could not run natively, with ERR_NATIVE_INVALID_ARG', () => {
    const fd = wakeup().fd;
    const jsRead = Object.assign((_max: number, _cap: number) => 0, {});
    // A forged nativeRead is not the tagged External an addon attaches: the native side refuses it.
    const forged = Object.assign((_max: number, _cap: number) => 0, { nativeRead: {} });
    const ok = { index: 0, read: forged, max: 4, slotCapacity: 64, result: new Int32Array(1) };
    const cases: unknown[] = [
      { ...ok, read: jsRead },
      { ...ok, index: 1 },
      { ...ok, index: -1 },
      { ...ok, max: 0 },
      { ...ok, slotCapacity: 1.5 },
      { ...ok, result: new Uint32Array(1) },
      { ...ok, result: new Int32Array(0) },
      ok,
    ];
    // Two reads for one fd, and more reads than the wait runs.
    expect(() => bindWaitReadable([fd], [{ ...ok, read: jsRead }, ok] as never)).toThrow(NativeError);
    expect(() => bindWaitReadable([fd, fd], [ok, { ...ok, index: 0 }])).toThrow(/two reads/);
    expect(() =>
      bindWaitReadable(
        [fd],
        Array.from({ length: 5 }, () => ok),
      ),
    ).toThrow(/at most 4/);
    for (const preRead of cases) {
      const e = (() => {
        try {
          bindWaitReadable([fd], [preRead] as never);
        } catch (err) {
          return err;
        }
        return null;
      })();
      expect(isNativeError(e), JSON.stringify(preRead)).toBe(true);
      expect((e as NativeError).code).toBe('ERR_NATIVE_INVALID_ARG');
    }
  });
});

describe('Wakeup', () => {
  it('counts signals, drains to 0, and refuses use after close with ERR_NATIVE_CLOSED', () => {
    const w = new Wakeup();
    expect(w.drain()).toBe(0);
    w.signal();
    w.signal();
    w.signal();
    expect(w.drain()).toBe(3);
    expect(w.drain()).toBe(0);
    w.close();
    expect(w.closed).toBe(true);
    w.close();
    expect(() => w.signal()).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_CLOSED' }));
    expect(() => w.drain()).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_CLOSED' }));
  });

  it('wakes a worker thread blocked in waitReadable with no timeout', async () => {
    const w = wakeup();
    const url = new URL('../dist/index.js', import.meta.url).href;
    const worker = new Worker(
      `import { bindWaitReadable, drainEventFd } from ${JSON.stringify(url)};
       import { parentPort, workerData } from 'node:worker_threads';
       const wait = bindWaitReadable([workerData.fd]);
       parentPort.postMessage('waiting');
       const mask = wait(-1);
       parentPort.postMessage({ mask, drained: drainEventFd(workerData.fd) });`,
      { eval: true, workerData: { fd: w.fd }, type: 'module' } as ConstructorParameters<typeof Worker>[1],
    );
    try {
      const got = await new Promise<unknown>((resolve, reject) => {
        worker.on('error', reject);
        worker.on('message', (m) => {
          if (m === 'waiting') setTimeout(() => w.signal(), 50);
          else resolve(m);
        });
      });
      expect(got).toEqual({ mask: 1, drained: 1 });
    } finally {
      await worker.terminate();
    }
  });
});
