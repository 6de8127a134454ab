/**
 * UDP sockets for Nebula routines: AF_INET6 bound the way Go Nebula 1.6.1 binds
 * (`udp/udp_linux.go`), read with recvmmsg and written with sendmmsg over caller-owned arenas,
 * with UDP GSO/GRO where the kernel has them. One socket per routine; a group shares one port
 * with SO_REUSEPORT so the kernel spreads flows across routines.
 */
import { release } from 'node:os';
import type { BatchRead, BatchSend } from '@nebula-ts/native-common';
import { ADDR_WORDS, hostToBytes16 } from './addr.js';
import { fromNative, UdpError, UdpRangeError } from './errors.js';
import { addon, type NativePoller, type NativeUdpSocket } from './internal/native.js';

export interface UdpSocketOptions {
  /** `listen.host`: IPv4 (v4-mapped bind, IPv4 only) or IPv6 (`::` = dual stack). Default `0.0.0.0`. */
  readonly host?: string;
  /** `listen.port`; 0 = kernel-chosen. Default 0. */
  readonly port?: number;
  /** SO_REUSEPORT, needed for several sockets on one port. Default false. */
  readonly reusePort?: boolean;
  /** `listen.batch`: most messages per recvmmsg. Default 64. */
  readonly batch?: number;
  /** `listen.read_buffer` in bytes (SO_RCVBUFFORCE, SO_RCVBUF without CAP_NET_ADMIN). */
  readonly readBuffer?: number;
  /** `listen.write_buffer` in bytes (SO_SNDBUFFORCE, SO_SNDBUF without CAP_NET_ADMIN). */
  readonly writeBuffer?: number;
  /** Use UDP GSO on send when the kernel has it. Default true; false forces it off. */
  readonly gso?: boolean;
  /** Use UDP GRO on receive when the kernel has it. Default true; false forces it off. */
  readonly gro?: boolean;
  /** IPV6_V6ONLY for an IPv6 host. Default false (`::` is dual stack whatever the sysctl says). */
  readonly ipv6Only?: boolean;
  /**
   * Sends wait for send-buffer room (as Go's do). Default true. With false, `sendBatch` may return
   * a short count and `sendTo` may throw EAGAIN.
   */
  readonly blockingSend?: boolean;
}

/** Offload support the kernel showed for this socket, and what is in use now. */
export interface UdpCapabilities {
  readonly udpGso: boolean;
  readonly udpGro: boolean;
}

export interface UdpSocketStats {
  /** GSO in use now (false after an EIO / EINVAL streak turned it off). */
  readonly gso: boolean;
  readonly gro: boolean;
  /** Packets dropped by sendBatch because their destination failed (unreachable, bad family...). */
  readonly sendErrors: number;
  /** errno of the last such failure, 0 if none. */
  readonly lastSendErrno: number;
  /** errno that made GSO turn itself off, 0 if it did not. */
  readonly gsoDisabledByErrno: number;
  /** Received datagrams that arrived GRO-coalesced (split into several packets). */
  readonly groCoalesced: number;
  /** sendmmsg entries that went out as one GSO send of several packets. */
  readonly gsoSends: number;
  /**
   * Largest packet still coalesced, after the kernel refused a segment as larger than the path
   * MTU (EMSGSIZE); null while there is no such limit.
   */
  readonly gsoSegmentLimit: number | null;
}

/** Effective socket buffer sizes, as the kernel reports them (it doubles the request). */
export interface UdpBufferSizes {
  readonly readBuffer: number;
  readonly writeBuffer: number;
}

/** SO_MEMINFO, keyed as Nebula's `udp.<i>.*` gauges. */
export interface UdpMeminfo {
  readonly rmem_alloc: number;
  readonly rcvbuf: number;
  readonly wmem_alloc: number;
  readonly sndbuf: number;
  readonly fwd_alloc: number;
  readonly wmem_queued: number;
  readonly optmem: number;
  readonly backlog: number;
  readonly drops: number;
}

/** Receive arena: `max` slots, packet i at `buf[offsets[i] .. offsets[i] + lengths[i])`. */
export interface RecvSlots {
  readonly buf: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly addrs: Uint32Array;
  readonly max: number;
  readonly slotCapacity: number;
}

/** Headroom before and least tailroom after each payload (Nebula header / AEAD tag), per contracts. */
export const SLOT_HEADROOM = 16;
/** Default slot stride: 9001 + 32 rounded up to 64. */
export const SLOT_SIZE = 9088;

/** Allocates an arena of `count` slots (`slotSize` bytes each, payload at +16, capacity slotSize-32). */
export function createSlots(count: number, slotSize: number = SLOT_SIZE): RecvSlots {
  if (!Number.isInteger(count) || count < 1) throw new UdpRangeError(`slot count must be >= 1, got ${count}`);
  if (!Number.isInteger(slotSize) || slotSize < 2 * SLOT_HEADROOM + 1)
    throw new UdpRangeError(`slot size too small: ${slotSize}`);
  const offsets = new Uint32Array(count);
  for (let i = 0; i < count; i++) offsets[i] = i * slotSize + SLOT_HEADROOM;
  return {
    buf: new Uint8Array(count * slotSize),
    offsets,
    lengths: new Uint32Array(count),
    addrs: new Uint32Array(count * ADDR_WORDS),
    max: count,
    slotCapacity: slotSize - 2 * SLOT_HEADROOM,
  };
}

// GRO on UDP sockets is only trusted from 5.12 on (earlier kernels could hand us mis-segmented
// forwarded skbs; wireguard-go draws the same line).
function kernelAtLeast(major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release());
  if (m === null) return false;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a > major || (a === major && b >= minor);
}
const groTrusted = kernelAtLeast(5, 12);

const meminfoScratch = new Uint32Array(16);

function checkBytes(name: string, v: number | undefined): number {
  if (v === undefined) return 0;
  if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new UdpRangeError(`${name} out of range: ${v}`);
  return v;
}

/** One bound UDP socket. Create with `openUdpSocket` or `openUdpGroup`. */
export class UdpSocket {
  /** The socket's file descriptor (-1 after close). */
  get fd(): number {
    return this.#native.fd;
  }
  /** The bound port (the kernel's choice when 0 was asked for). */
  readonly port: number;
  /** `listen.host` as given. */
  readonly host: string;
  readonly batch: number;
  /** What the kernel supports for this socket, probed at open. */
  readonly capabilities: UdpCapabilities;

  readonly #native: NativeUdpSocket;
  readonly #label: string;
  #poller: NativePoller | null = null;
  #closed = false;
  #paused = false;

  /** @internal use openUdpSocket */
  constructor(native: NativeUdpSocket, host: string, port: number, batch: number, label: string) {
    this.#native = native;
    this.host = host;
    this.port = port;
    this.batch = batch;
    this.#label = label;
    const s = native.state();
    this.capabilities = { udpGso: s[0], udpGro: s[2] };
  }

  get closed(): boolean {
    return this.#closed;
  }

  #check(): void {
    if (this.#closed) throw new UdpError('ERR_UDP_CLOSED', `socket is closed (udp ${this.#label})`);
  }

  #wrap(e: unknown): unknown {
    return fromNative(e, this.#label);
  }

  /**
   * Reads up to `max` datagrams into the slots (recvmmsg, MSG_DONTWAIT): lengths and source
   * addresses are filled for each. Returns 0 when nothing is waiting. GRO-coalesced datagrams are
   * split into consecutive slots; what does not fit is kept for the next call, so keep calling
   * while it returns `max`.
   */
  recvBatch(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    addrs: Uint32Array,
    max: number,
    slotCapacity: number,
  ): number {
    this.#check();
    try {
      return this.#native.recvBatch(buf, offsets, lengths, addrs, max, slotCapacity);
    } catch (e) {
      throw this.#wrap(e);
    }
  }

  /**
   * Sends packets 0..count-1 (sendmmsg). With GSO, runs of packets to one address with one size
   * (the last may be shorter) go as one segmented send. Returns packets consumed: sent, or dropped
   * because their destination failed (see `stats()`); fewer than `count` only for a non-blocking
   * socket whose buffer is full.
   */
  sendBatch(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    addrs: Uint32Array,
    count: number,
  ): number {
    this.#check();
    try {
      return this.#native.sendBatch(buf, offsets, lengths, addrs, count);
    } catch (e) {
      throw this.#wrap(e);
    }
  }

  /**
   * `recvBatch` on arrays fixed now, as a function of `max` and `slotCapacity` alone: a data path
   * that always receives into the same arena skips the per-call argument work (most of a lone
   * packet's cost in an idle process). The arrays stay pinned while the function lives; do not
   * transfer them.
   */
  bindRecv(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, addrs: Uint32Array): BatchRead {
    this.#check();
    const bound = this.#native.bindRecv(buf, offsets, lengths, addrs);
    const recv = (max: number, slotCapacity: number): number => {
      this.#check();
      try {
        return bound(max, slotCapacity);
      } catch (e) {
        throw this.#wrap(e);
      }
    };
    // For a blocking wait to run in its own call (native-common's bindWaitReadable); pinning
    // `recv` keeps it alive, and it refuses to run once the socket is closed.
    return Object.defineProperty(recv, 'nativeRead', { value: bound.nativeRead });
  }

  /** `sendBatch` on arrays fixed now, as `bindRecv`. */
  bindSend(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, addrs: Uint32Array): BatchSend {
    this.#check();
    const bound = this.#native.bindSend(buf, offsets, lengths, addrs);
    const send = (count: number): number => {
      this.#check();
      try {
        return bound(count);
      } catch (e) {
        throw this.#wrap(e);
      }
    };
    // For another addon to run right after its own work (@nebula-ts/aead's bound seal); it
    // refuses to run once the socket is closed.
    return Object.defineProperty(send, 'nativeSend', { value: bound.nativeSend });
  }

  /** One datagram to slot `i` of `addrs` (control traffic). Throws on failure. */
  sendTo(buf: Uint8Array, off: number, len: number, addrs: Uint32Array, i: number): void {
    this.#check();
    try {
      this.#native.sendTo(buf, off, len, addrs, i);
    } catch (e) {
      throw this.#wrap(e);
    }
  }

  /** Calls `cb` once per readiness of the socket (libuv poll on this thread's loop). */
  onReadable(cb: () => void, onError?: (err: Error) => void): void {
    this.#check();
    this.#poller?.close();
    this.#paused = false;
    const label = this.#label;
    this.#poller = new addon.Poller(this.fd, (status) => {
      if (status < 0) {
        const err = new UdpError('ERR_UDP_SYSCALL', `poll failed: ${status} (udp ${label})`, {
          errno: -status,
          syscall: 'uv_poll',
          address: label,
        });
        if (onError !== undefined) onError(err);
        else throw err;
        return;
      }
      cb();
    });
    this.#poller.start(1);
  }

  /**
   * Drains the socket into `slots` on every readiness and calls `cb(count)` once per batch.
   * At most `maxBatches` batches per wake-up so one busy socket cannot starve the loop (the poll
   * is level-triggered: the rest comes on the next turn).
   */
  onBatch(
    slots: RecvSlots,
    cb: (count: number) => void,
    onError?: (err: Error) => void,
    maxBatches = 64,
  ): void {
    const { buf, offsets, lengths, addrs, max, slotCapacity } = slots;
    const drain = (): void => {
      for (let b = 0; b < maxBatches; b++) {
        if (this.#closed || this.#paused) return;
        let n: number;
        try {
          n = this.recvBatch(buf, offsets, lengths, addrs, max, slotCapacity);
        } catch (e) {
          if (onError !== undefined) onError(e as Error);
          else throw e;
          return;
        }
        if (n > 0) cb(n);
        if (n < max) return;
      }
      // Budget spent with data possibly left: GRO segments held natively would not make the fd
      // readable again, so come back on the next loop turn instead of waiting for a new packet.
      setImmediate(drain);
    };
    this.onReadable(drain, onError);
  }

  /** Stops watching for readability (resume with `onReadable` / `onBatch`). */
  pause(): void {
    this.#paused = true;
    this.#poller?.stop();
  }

  /** Applies `listen.read_buffer` / `write_buffer` (again on SIGHUP). 0 or absent leaves a side. */
  setBuffers(sizes: { readBuffer?: number; writeBuffer?: number }): UdpBufferSizes {
    this.#check();
    const r = checkBytes('readBuffer', sizes.readBuffer);
    const w = checkBytes('writeBuffer', sizes.writeBuffer);
    try {
      const [readBuffer, writeBuffer] = this.#native.setBuffers(r, w);
      return { readBuffer, writeBuffer };
    } catch (e) {
      throw this.#wrap(e);
    }
  }

  /** Effective SO_RCVBUF / SO_SNDBUF. */
  get buffers(): UdpBufferSizes {
    this.#check();
    const [readBuffer, writeBuffer] = this.#native.getBuffers();
    return { readBuffer, writeBuffer };
  }

  /** SO_MEMINFO as a plain object (for the `udp.<i>.*` gauges). */
  meminfo(): UdpMeminfo {
    this.#check();
    const m = meminfoScratch;
    m.fill(0);
    try {
      this.#native.meminfo(m);
    } catch (e) {
      throw this.#wrap(e);
    }
    return {
      rmem_alloc: m[0]!,
      rcvbuf: m[1]!,
      wmem_alloc: m[2]!,
      sndbuf: m[3]!,
      fwd_alloc: m[4]!,
      wmem_queued: m[5]!,
      optmem: m[6]!,
      backlog: m[7]!,
      drops: m[8]!,
    };
  }

  /** Turns GSO on (if the kernel has it) or off; returns whether it is now on. */
  setGso(on: boolean): boolean {
    this.#check();
    return this.#native.setGso(on);
  }

  /** Turns GRO on (if the kernel has it and is >= 5.12) or off; returns whether it is now on. */
  setGro(on: boolean): boolean {
    this.#check();
    try {
      return this.#native.setGro(on && groTrusted);
    } catch (e) {
      throw this.#wrap(e);
    }
  }

  stats(): UdpSocketStats {
    const s = this.#native.state();
    return {
      gso: s[1],
      gro: s[3],
      sendErrors: s[4],
      lastSendErrno: s[5],
      gsoDisabledByErrno: s[6],
      groCoalesced: s[7],
      gsoSends: s[9],
      gsoSegmentLimit: s[10] < 0 ? null : s[10],
    };
  }

  /** Stops polling and closes the fd. Safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // The poll handle goes first: libuv must not watch an fd number that may be reused.
    this.#poller?.close();
    this.#poller = null;
    this.#native.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UdpRangeError(`port out of range: ${port}`);
}

function label(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Opens one socket bound to `host:port`. From a worker thread, pass the group's port and
 * `reusePort: true` to join a group opened elsewhere.
 */
export function openUdpSocket(opts: UdpSocketOptions = {}): UdpSocket {
  const host = opts.host ?? '0.0.0.0';
  const port = opts.port ?? 0;
  const batch = opts.batch ?? 64;
  checkPort(port);
  if (!Number.isInteger(batch) || batch < 1 || batch > 1024)
    throw new UdpRangeError(`batch must be an integer in 1..1024, got ${batch}`);
  const readBuffer = checkBytes('readBuffer', opts.readBuffer);
  const writeBuffer = checkBytes('writeBuffer', opts.writeBuffer);
  const addr16 = hostToBytes16(host);
  let native: NativeUdpSocket;
  try {
    native = new addon.UdpSocket(
      addr16,
      port,
      opts.reusePort ?? false,
      opts.ipv6Only ?? false,
      batch,
      opts.blockingSend ?? true,
    );
  } catch (e) {
    throw fromNative(e, label(host, port));
  }
  let sock: UdpSocket | undefined;
  try {
    const bound = native.localPort();
    sock = new UdpSocket(native, host, bound, batch, label(host, bound));
    if (readBuffer > 0 || writeBuffer > 0) sock.setBuffers({ readBuffer, writeBuffer });
    sock.setGso(opts.gso ?? true);
    sock.setGro(opts.gro ?? true);
    return sock;
  } catch (e) {
    if (sock !== undefined) sock.close();
    else native.close();
    throw fromNative(e, label(host, port));
  }
}

export interface UdpGroupOptions extends UdpSocketOptions {
  /** Sockets in the group (`routines`). */
  readonly count: number;
}

export interface UdpGroup {
  /** The port every socket is bound to. */
  readonly port: number;
  readonly sockets: readonly UdpSocket[];
  close(): void;
}

/**
 * Opens `count` sockets on one port. SO_REUSEPORT is on when count > 1 (as 1.6.1). With port 0,
 * socket 0 takes the kernel's port and the others join it (1.6.1 gave each its own port).
 */
export function openUdpGroup(opts: UdpGroupOptions): UdpGroup {
  const count = opts.count;
  if (!Number.isInteger(count) || count < 1 || count > 1024)
    throw new UdpRangeError(`count must be an integer in 1..1024, got ${count}`);
  const reusePort = opts.reusePort ?? count > 1;
  if (count > 1 && !reusePort) throw new UdpRangeError('several sockets on one port need reusePort');
  const sockets: UdpSocket[] = [];
  try {
    const first = openUdpSocket({ ...opts, reusePort });
    sockets.push(first);
    for (let i = 1; i < count; i++) sockets.push(openUdpSocket({ ...opts, reusePort, port: first.port }));
  } catch (e) {
    for (const s of sockets) s.close();
    throw e;
  }
  return {
    port: sockets[0]!.port,
    sockets,
    close() {
      for (const s of sockets) s.close();
    },
  };
}
