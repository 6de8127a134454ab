/**
 * A blocking readiness wait for a thread that owns its fds and has nothing else to do, and the
 * eventfd another thread uses to interrupt it. See src/native/wait.cc for why a data-path thread
 * waits here rather than on the libuv loop.
 */
import { createRequire } from 'node:module';
import { type BatchRead, type ChainedRead, checkChainedRead } from './bound.js';
import { fromNative, NativeError } from './errors.js';

interface Addon {
  bindWaitReadable(
    fds: Int32Array,
    reads?: [index: number, read: BatchRead, max: number, slotCapacity: number, result: Int32Array][],
  ): (timeoutMs: number) => number;
  eventFdOpen(): number;
  eventFdSignal(fd: number): void;
  eventFdDrain(fd: number): number;
  closeFd(fd: number): void;
}

const addon = createRequire(import.meta.url)('../build/Release/native_common.node') as Addon;

/** Most fds one wait watches: bit i of its result stands for `fds[i]`. */
export const MAX_WAIT_FDS = 30;

/** Most reads one wait runs (one per fd). */
export const MAX_WAIT_PRE_READS = 4;

/** A read for `bindWaitReadable` to run as soon as `fds[index]` is readable. */
export interface WaitPreRead extends ChainedRead {
  readonly index: number;
}

/**
 * Returns `waitReadable(timeoutMs)`: blocks until one of `fds` is readable (or in error, hung up
 * or closed: the read that follows says which) and returns the bit mask of those, or 0 after
 * `timeoutMs` (< 0: no timeout) or a signal. The function is the native one, so a call costs no
 * more than the syscall. The fds must stay open while it is in use.
 *
 * With `preReads`, a wait that finds `fds[p.index]` readable (and not in error) also runs `p.read`
 * on it before returning: an idle thread's wake then goes from poll() straight into the read, as
 * a thread blocked in read() would, instead of returning to JS to call back in.
 */
export function bindWaitReadable(
  fds: readonly number[],
  preReads: readonly WaitPreRead[] = [],
): (timeoutMs: number) => number {
  if (fds.length < 1 || fds.length > MAX_WAIT_FDS)
    throw new NativeError(
      'ERR_NATIVE_INVALID_ARG',
      `bindWaitReadable: 1 to ${MAX_WAIT_FDS} fds, got ${fds.length}`,
    );
  for (const fd of fds) {
    if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff)
      throw new NativeError('ERR_NATIVE_INVALID_ARG', `bindWaitReadable: ${fd} is not an fd`);
  }
  if (preReads.length > MAX_WAIT_PRE_READS)
    throw new NativeError(
      'ERR_NATIVE_INVALID_ARG',
      `bindWaitReadable: at most ${MAX_WAIT_PRE_READS} preReads`,
    );
  const seen = new Set<number>();
  for (const p of preReads) {
    const { index } = p;
    if (!Number.isInteger(index) || index < 0 || index >= fds.length || seen.has(index))
      throw new NativeError(
        'ERR_NATIVE_INVALID_ARG',
        `bindWaitReadable: preRead index ${index} is not one of the fds, or has two reads`,
      );
    seen.add(index);
    checkChainedRead('bindWaitReadable: preRead', p);
  }
  try {
    if (preReads.length === 0) return addon.bindWaitReadable(Int32Array.from(fds));
    return addon.bindWaitReadable(
      Int32Array.from(fds),
      preReads.map((p) => [p.index, p.read, p.max, p.slotCapacity, p.result]),
    );
  } catch (e) {
    throw fromNative(e);
  }
}

/**
 * An eventfd: `signal()` from any thread makes it readable until `drain()`. A thread blocked in a
 * `waitReadable` that includes `fd` wakes up. The fd number is process-wide, so it can be handed
 * to a worker; the creator closes it.
 */
export class Wakeup {
  private fdOrClosed: number;

  constructor() {
    try {
      this.fdOrClosed = addon.eventFdOpen();
    } catch (e) {
      throw fromNative(e);
    }
  }

  get fd(): number {
    return this.fdOrClosed;
  }

  get closed(): boolean {
    return this.fdOrClosed < 0;
  }

  signal(): void {
    this.call(addon.eventFdSignal, 'signal');
  }

  /** Makes it unreadable again; returns the number of signals since the last drain. */
  drain(): number {
    return this.call(addon.eventFdDrain, 'drain');
  }

  close(): void {
    if (this.fdOrClosed < 0) return;
    const fd = this.fdOrClosed;
    this.fdOrClosed = -1;
    try {
      addon.closeFd(fd);
    } catch (e) {
      throw fromNative(e);
    }
  }

  private call<T>(fn: (fd: number) => T, what: string): T {
    if (this.fdOrClosed < 0) throw new NativeError('ERR_NATIVE_CLOSED', `Wakeup.${what}: closed`);
    try {
      return fn(this.fdOrClosed);
    } catch (e) {
      throw fromNative(e);
    }
  }
}

/** Drains an eventfd by number (a worker holding only the fd of its creator's `Wakeup`). */
export function drainEventFd(fd: number): number {
  try {
    return addon.eventFdDrain(fd);
  } catch (e) {
    throw fromNative(e);
  }
}
