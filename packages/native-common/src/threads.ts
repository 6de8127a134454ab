/**
 * Scheduling of the helper threads Node starts next to the main thread: V8's platform workers
 * (TurboFan compile jobs, concurrent marking, parallel scavenge) and libuv's threadpool. On a
 * machine with few CPUs a compile job holds a CPU for a whole scheduler slice while the thread
 * that carries a packet waits to run: a fresh node's first ten pings took 14–24 ms in all instead
 * of 8–11 ms. SCHED_IDLE threads give way the moment a normal thread wakes, and still use every
 * idle cycle, so the compile and GC work gets done.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import { fromNative, NativeError } from './errors.js';

interface Addon {
  setThreadIdle(tid: number): void;
}

const addon = createRequire(import.meta.url)('../build/Release/native_common.node') as Addon;

/** Puts one thread of this process (a tid from `/proc/self/task`) on SCHED_IDLE. */
export function setThreadIdle(tid: number): void {
  if (!Number.isInteger(tid) || tid <= 0)
    throw new NativeError('ERR_NATIVE_INVALID_ARG', `setThreadIdle: ${tid} is not a thread id`);
  try {
    addon.setThreadIdle(tid);
  } catch (e) {
    throw fromNative(e);
  }
}

export interface IdleHelperThreads {
  /** Threads now on SCHED_IDLE. */
  readonly idled: readonly number[];
  /** Threads the kernel refused (EPERM under a restrictive seccomp policy, for instance). */
  readonly failed: ReadonlyArray<{ readonly tid: number; readonly error: NativeError }>;
}

/**
 * SCHED_IDLE for every thread of the process except the main thread. Call it from the main thread
 * before starting any worker thread that carries packets: those are created later, by the main
 * thread, and keep its normal policy; so do libuv threadpool threads created later.
 */
export function idleHelperThreads(): IdleHelperThreads {
  if (!isMainThread)
    throw new NativeError('ERR_NATIVE_WRONG_THREAD', 'idleHelperThreads: call it from the main thread');
  const idled: number[] = [];
  const failed: { tid: number; error: NativeError }[] = [];
  for (const entry of readdirSync('/proc/self/task')) {
    const tid = Number(entry);
    if (tid === process.pid) continue; // the main thread's tid is the pid
    try {
      setThreadIdle(tid);
      idled.push(tid);
    } catch (e) {
      const error = e as NativeError;
      if (error.sysCode === 'ESRCH') continue; // exited since the listing
      failed.push({ tid, error });
    }
  }
  return { idled, failed };
}
