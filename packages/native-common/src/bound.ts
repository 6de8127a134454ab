/**
 * Bound batch calls made by the nebula-ts addons (functions of the counts alone, on arrays fixed
 * when bound) that may carry a native twin for another addon's native code to run in its own
 * call: `nativeRead` (run by `bindWaitReadable`'s pre-reads) and `nativeSend` (run by
 * `@nebula-ts/aead`'s bound seal). See include/nebula_native.h.
 */

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
 * A bound batch send, `(count) => consumed`. One made by a nebula-ts addon (udp's `bindSend`)
 * carries `nativeSend`, which lets another addon's native code run it (aead's bound seal).
 */
export interface BatchSend {
  (count: number): number;
  readonly nativeSend?: unknown;
}

/** Whether `send` can be run by another addon's native code. */
export const hasNativeSend = (send: BatchSend): boolean => send.nativeSend !== undefined;
