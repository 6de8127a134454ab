import { createRequire } from 'node:module';
import type { BatchRead } from '@nebula-ts/native-common';

/** The addon's surface: syscalls only. See src/native/tun_linux.cc. */
export interface NativePoller {
  start(events: number): void;
  stop(): void;
  close(): void;
}

/**
 * The batch calls, on plain queues (module functions) and on TSO queues (offload.cc, with
 * segmentation and merging): read packets until EAGAIN or `max`, write until EAGAIN; or the same
 * on arrays pinned once, as functions of the counts.
 */
export interface BatchIo {
  read(
    fd: number,
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    max: number,
    slotCapacity: number,
  ): number;
  write(fd: number, buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number;
  bindRead(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array): BoundRead;
  bindWrite(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    thenRead?: [read: BatchRead, max: number, slotCapacity: number, result: Int32Array],
  ): BoundWrite;
}

/** Per-queue TSO state (src/native/offload.cc). */
export interface NativeOffload extends BatchIo {
  /** The run lengths `write` would merge the batch into (tests). */
  plan(
    fd: number,
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    count: number,
    runs: Uint32Array,
  ): number;
  /** [superReads, segmentsOut, csumCompleted, readDropped, mergedWrites, mergedPackets, mergeRefused] */
  stats(): number[];
}

/** read/write on arrays fixed at bind time (see nebula::Pinned in native-common). */
export interface BoundRead {
  (fd: number, max: number, slotCapacity: number): number;
  /** The same read for native callers (see native-common's NativeRead): an opaque External. */
  readonly nativeRead?: unknown;
}
export type BoundWrite = (fd: number, count: number) => number;

export interface TunNative extends BatchIo {
  Poller: new (fd: number, cb: (status: number, events: number) => void) => NativePoller;
  TunOffload: new () => NativeOffload;
  openQueue(name: string, flags: number): [fd: number, name: string];
  getFeatures(): number;
  getQueueInfo(fd: number): [name: string, flags: number];
  /** which: 0 = TUNSETOFFLOAD, 1 = TUNSETVNETHDRSZ */
  tunIoctlInt(fd: number, which: 0 | 1, value: number): void;
  close(fd: number): void;
  ifIndex(name: string): number;
  /** op: 0 = SIOCSIFMTU, 1 = SIOCSIFTXQLEN, 2 = flags (value = set, clear = clear) */
  ifIoctl(name: string, op: 0 | 1 | 2, value: number, clear?: number): void;
  netlink(op: string, message: Uint8Array): void;
}

export const native = createRequire(import.meta.url)('../../build/Release/tun_linux.node') as TunNative;

// <linux/if_tun.h>, <net/if.h>
export const IFF_TUN = 0x0001;
export const IFF_NO_PI = 0x1000;
export const IFF_MULTI_QUEUE = 0x0100;
export const IFF_VNET_HDR = 0x4000;
export const IFF_UP = 0x1;
export const IFF_RUNNING = 0x40;
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_USO4 = 0x20;
export const TUN_F_USO6 = 0x40;
/** Kernel limit on queues per tun (MAX_TAP_QUEUES). */
export const MAX_QUEUES = 256;
/** sizeof(struct virtio_net_hdr) without the num_buffers field. */
export const VNET_HDR_LEN = 10;
