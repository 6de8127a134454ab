/**
 * A connected pair of message sockets (`socketpair(AF_UNIX, SOCK_SEQPACKET)`): one write is one
 * message and one read returns one, as on a tun queue. A tun queue object runs over `fds[0]`
 * while `fds[1]` plays the kernel: how a data path is exercised without a tun device.
 */
import { createRequire } from 'node:module';
import { fromNative, NativeError } from './errors.js';

interface Addon {
  packetPair(): [number, number];
  closeFd(fd: number): void;
}

const addon = createRequire(import.meta.url)('../build/Release/native_common.node') as Addon;

export class PacketPair {
  #fds: [number, number];

  constructor() {
    try {
      this.#fds = addon.packetPair();
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** Both ends, non-blocking and close-on-exec; -1 for an end closed here or handed over. */
  get fds(): readonly [number, number] {
    return this.#fds;
  }

  /**
   * Gives up end `i` to a new owner (a tun queue opened with `own`): `close()` then leaves it
   * alone. Returns the fd.
   */
  release(i: 0 | 1): number {
    const fd = this.#fds[i];
    if (fd < 0) throw new NativeError('ERR_NATIVE_CLOSED', `PacketPair.release(${i}): closed or released`);
    this.#fds[i] = -1;
    return fd;
  }

  /** Closes the ends still held here. */
  close(): void {
    for (const i of [0, 1] as const) {
      const fd = this.#fds[i];
      if (fd < 0) continue;
      this.#fds[i] = -1;
      try {
        addon.closeFd(fd);
      } catch (e) {
        throw fromNative(e);
      }
    }
  }
}
