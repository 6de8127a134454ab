/**
 * SCHED_IDLE for helper threads, checked in a child process against the kernel's own view
 * (/proc/<pid>/task/<tid>/stat field 41, the policy): the helpers become SCHED_IDLE (5), the main
 * thread and a worker started afterwards stay SCHED_OTHER (0).
 */
import { execFileSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { isNativeError, setThreadIdle } from '../src/index.js';

const SCHED_OTHER = 0;
const SCHED_IDLE = 5;
const distUrl = new URL('../dist/index.js', import.meta.url).href;

interface ChildReport {
  pid: number;
  idled: number[];
  failed: string[];
  policies: Record<string, number>;
}

function childReport(): ChildReport {
  const script = `
    import { readdirSync, readFileSync } from 'node:fs';
    import { Worker } from 'node:worker_threads';
    import { once } from 'node:events';
    import { idleHelperThreads } from ${JSON.stringify(distUrl)};
    const r = idleHelperThreads();
    const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
    await once(w, 'online');
    const policies = {};
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8');
      policies[tid] = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
    }
    console.log(JSON.stringify({ pid: process.pid, idled: r.idled, failed: r.failed.map((f) => f.error.message), policies }));
    await w.terminate();`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return JSON.parse(out) as ChildReport;
}

describe('idleHelperThreads', () => {
  it('puts the helper threads on SCHED_IDLE and leaves the main thread and later workers alone', () => {
    const r = childReport();
    expect(r.failed).toEqual([]);
    // V8's platform has 4 workers by default; libuv's threadpool may add more.
    expect(r.idled.length).toBeGreaterThanOrEqual(4);
    expect(r.idled).not.toContain(r.pid);
    for (const tid of r.idled) expect(r.policies[tid], `tid ${tid}`).toBe(SCHED_IDLE);
    expect(r.policies[r.pid]).toBe(SCHED_OTHER);
    const later = Object.keys(r.policies)
      .map(Number)
      .filter((tid) => tid !== r.pid && !r.idled.includes(tid));
    expect(later.length).toBeGreaterThanOrEqual(1); // the worker thread
    for (const tid of later) expect(r.policies[tid], `tid ${tid}`).toBe(SCHED_OTHER);
  });

  it('refuses to run on a worker thread', async () => {
    const worker = new Worker(
      `import { idleHelperThreads } from ${JSON.stringify(distUrl)};
       import { parentPort } from 'node:worker_threads';
       try { idleHelperThreads(); parentPort.postMessage('no error'); }
       catch (e) { parentPort.postMessage(e.code); }`,
      { eval: true, type: 'module' } as ConstructorParameters<typeof Worker>[1],
    );
    try {
      const code = await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(code).toBe('ERR_NATIVE_WRONG_THREAD');
    } finally {
      await worker.terminate();
    }
  });
});

describe('setThreadIdle', () => {
  it('rejects a non-thread id before the syscall', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      let err: unknown;
      try {
        setThreadIdle(bad);
      } catch (e) {
        err = e;
      }
      expect(isNativeError(err) && err.code).toBe('ERR_NATIVE_INVALID_ARG');
    }
  });

  it('reports the errno and syscall of a refused change', () => {
    let err: unknown;
    try {
      setThreadIdle(0x3ffffff0); // above pid_max's ceiling: no such thread
    } catch (e) {
      err = e;
    }
    expect(isNativeError(err)).toBe(true);
    expect(err).toMatchObject({
      code: 'ERR_NATIVE_SYSCALL',
      syscall: 'sched_setscheduler',
      sysCode: 'ESRCH',
    });
  });
});
