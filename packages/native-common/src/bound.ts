/**
 * Bound batch calls made by the nebula-ts addons (functions of the counts alone, on arrays fixed
 * when bound) that may carry a native twin for another addon's native code to run in its own
 * call: `nativeRead` (run by `bindWaitReadable`'s pre-reads) and `nativeSend` (run by
 * `@nebula-ts/aead`'s bound seal). See include/nebula_native.h.
 */
import { NativeError } from './errors.js';

/**
 * A bound batch read, `(max, slotCapacity) => count`. One made by a nebula-ts addon (tun-linux's
 * `bindRead`) carries `nativeRead`, which lets a wait run it without a trip through JS.
 */
export interface BatchRead {
  (max: number, slotCapacity: number): number;
  readonly nativeRead?: unknown;
}

/** Whether `read` can be run by a wait (it came from a nebula-ts addon's bound read). */
export const hasNativeRead = (read: BatchRead): boolean => read.nativeRead !== undefined;

/**
 * A read another native call runs after its own work, into a batch its caller takes later:
 * `bindWaitReadable`'s pre-reads, and tun-linux's bound write's follow-up read.
 */
export interface ChainedRead {
  /** A read carrying `nativeRead` (see `hasNativeRead`). */
  readonly read: BatchRead;
  readonly max: number;
  readonly slotCapacity: number;
  /**
   * result[0]: the count of the batch the call last read (>= 0), or -1. The caller takes the
   * batch and sets result[0] back to -1; until then the read is not run again, so nothing is
   * overwritten. result[1], when the array has it: 1..max-1 reads at most that many this time
   * (read on each run, so the caller can change it between calls); 0 or more reads up to max.
   */
  readonly result: Int32Array;
}

/** Throws ERR_NATIVE_INVALID_ARG, naming `who`, when `r` cannot be run natively. */
export function checkChainedRead(who: string, r: ChainedRead): void {
  if (!hasNativeRead(r.read))
    throw new NativeError('ERR_NATIVE_INVALID_ARG', `${who}: the read has no native read`);
  if (!(r.result instanceof Int32Array) || r.result.length < 1)
    throw new NativeError('ERR_NATIVE_INVALID_ARG', `${who}: result must be an Int32Array`);
  if (!Number.isInteger(r.max) || r.max < 1 || !Number.isInteger(r.slotCapacity) || r.slotCapacity < 1)
    throw new NativeError('ERR_NATIVE_INVALID_ARG', `${who}: max and slotCapacity must be >= 1`);
}

/**
 * A bound batch send, `(count) => consumed`. One made by a nebula-ts addon (udp's `bindSend`)
 * carries `nativeSend`, which lets another addon's native code run it (aead's bound seal).
 */
export interface BatchSend {
  (count: number): number;
  readonly nativeSend?: unknown;
}

/** Whether `send` can be run by another addon's native code. */
export const hasNativeSend = (send: BatchSend): boolean => send.nativeSend !== undefined;
