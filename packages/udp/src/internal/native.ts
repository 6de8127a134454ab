// Loads the addon once per thread (each worker gets its own instance: N-API modules are
// context-aware) and types its surface.
import { createRequire } from 'node:module';
import type { BatchRead, BatchSend } from '@nebula-ts/native-common';

export interface NativeUdpSocket {
  readonly fd: number;
  localPort(): number;
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
  sendTo(buf: Uint8Array, off: number, len: number, addrs: Uint32Array, i: number): number;
  /** The bound recv; `nativeRead` is the same recv for native callers (native-common's NativeRead). */
  bindRecv(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, addrs: Uint32Array): BatchRead;
  /** The bound send; `nativeSend` is the same send for native callers (native-common's NativeSend). */
  bindSend(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, addrs: Uint32Array): BatchSend;
  setBuffers(read: number, write: number): [number, number];
  getBuffers(): [number, number];
  meminfo(out: Uint32Array): number;
  setGso(on: boolean): boolean;
  setGro(on: boolean): boolean;
  state(): [boolean, boolean, boolean, boolean, number, number, number, number, number, number, number];
  close(): void;
}

export interface NativePoller {
  start(events: number): void;
  stop(): void;
  close(): void;
}

export interface UdpAddon {
  UdpSocket: new (
    addr16: Uint8Array,
    port: number,
    reusePort: boolean,
    v6only: boolean,
    batch: number,
    blockingSend: boolean,
  ) => NativeUdpSocket;
  Poller: new (fd: number, cb: (status: number, events: number) => void) => NativePoller;
}

export const addon = createRequire(import.meta.url)('../../build/Release/udp.node') as UdpAddon;
