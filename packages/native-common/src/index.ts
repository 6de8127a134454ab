/**
 * `@nebula-ts/native-common`: the C++ helpers compiled into every nebula-ts addon (errno errors,
 * the libuv fd poller, bound batch calls; see include/nebula_native.h, paths in index.cjs for
 * binding.gyp), and from JS, the blocking fd wait and eventfd of a data-path thread, SCHED_IDLE for
 * the helper threads that must never delay it, and packet socket pairs that stand in for a tun queue.
 */

export {
  type BatchRead,
  type BatchSend,
  type ChainedRead,
  checkChainedRead,
  hasNativeRead,
  hasNativeSend,
} from './bound.js';
export { isNativeError, NativeError, type NativeErrorCode } from './errors.js';
export { PacketPair } from './packet-pair.js';
export { type IdleHelperThreads, idleHelperThreads, setThreadIdle } from './threads.js';
export {
  bindWaitReadable,
  drainEventFd,
  MAX_WAIT_FDS,
  MAX_WAIT_PRE_READS,
  type WaitPreRead,
  Wakeup,
} from './wait.js';
