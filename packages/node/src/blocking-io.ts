/**
 * The BlockingIo of a routine that owns a tun queue, a UDP socket and a wakeup eventfd on its own
 * thread: one poll() over the three, which reads tun and UDP natively as soon as it finds them
 * readable (native-common's bindWaitReadable with pre-reads). Shared by the routine worker and
 * the data-path warm-up, so both run the same wait.
 */
import { bindWaitReadable, drainEventFd, hasNativeRead } from '@nebula-ts/native-common';
import type { BlockingIo } from './routine.js';

export function blockingIoFor(udpFd: number, tunFd: number, wakeupFd: number): BlockingIo {
  const fds = [udpFd, tunFd, wakeupFd];
  return {
    wait: bindWaitReadable(fds),
    waitWithReads: (tunRead, udpRecv) => {
      const reads = [
        { index: 1, ...tunRead },
        { index: 0, ...udpRecv },
      ].filter((r) => hasNativeRead(r.read));
      return reads.length > 0 ? bindWaitReadable(fds, reads) : undefined;
    },
    udpBit: 1,
    tunBit: 2,
    wakeupBit: 4,
    drainWakeup: () => drainEventFd(wakeupFd),
  };
}
