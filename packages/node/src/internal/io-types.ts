/**
 * The shapes of the batch I/O and AEAD objects the data path drives (docs/contracts.md). Declared
 * structurally here so the routine compiles against the contract, whichever implementation
 * (native package, fallback, test double) is plugged in.
 */
import type { BatchSend, ChainedRead, WaitPreRead } from '@nebula-ts/native-common';

export type { BatchSend, ChainedRead, WaitPreRead };

export type Cipher = 'aes' | 'chachapoly';

export interface BatchAead {
  setKey(slot: number, cipher: Cipher, key: Uint8Array): void;
  clearKey(slot: number): void;
  sealBatch(buf: Uint8Array, meta: Uint32Array, count: number): void;
  openBatch(buf: Uint8Array, meta: Uint32Array, count: number, results: Uint8Array): number;
  /** The same on arrays fixed at bind time (native: saves the per-call argument work). */
  /** With `send` (a bound send carrying `nativeSend`), the seal also sends, in one native call. */
  bindSeal?(buf: Uint8Array, meta: Uint32Array, send?: BatchSend): (count: number) => number | undefined;
  bindOpen?(buf: Uint8Array, meta: Uint32Array, results: Uint8Array): (count: number) => number;
}

export interface TunQueueLike {
  read(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    max: number,
    slotCapacity: number,
  ): number;
  write(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number;
  bindRead?(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
  ): (max: number, slotCapacity: number) => number;
  /** With `thenRead`, each write also runs that read of this queue (see tun-linux's bindWrite). */
  bindWrite?(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    thenRead?: ChainedRead,
  ): (count: number) => number;
  onReadable(cb: () => void): void;
  pause?(): void;
  /** A TSO queue's counters (null without TSO): what the kernel refused, read once a second. */
  offloadStats?(): { readonly readDropped: number; readonly mergeRefused: number } | null;
  close(): void;
}

export interface UdpSocketLike {
  recvBatch(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    addrs: Uint32Array,
    max: number,
    slotCapacity: number,
  ): number;
  sendBatch(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    addrs: Uint32Array,
    count: number,
  ): number;
  sendTo(buf: Uint8Array, off: number, len: number, addrs: Uint32Array, i: number): void;
  bindRecv?(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    addrs: Uint32Array,
  ): (max: number, slotCapacity: number) => number;
  bindSend?(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    addrs: Uint32Array,
  ): (count: number) => number;
  onReadable(cb: () => void): void;
  /** The socket's own counters: failed sends and GSO turned off, read once a second. */
  stats?(): {
    readonly sendErrors: number;
    readonly lastSendErrno: number;
    readonly gsoDisabledByErrno: number;
    readonly gsoSegmentLimit: number | null;
  };
  close(): void;
}
