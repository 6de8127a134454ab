/**
 * Linux tun devices: open (multi-queue), configure over ioctl + rtnetlink, batched read/write on
 * caller-owned packet arenas, readiness through the shared libuv Poller (never blocks the loop).
 * Mirrors slackhq/nebula v1.6.1 overlay/tun_linux.go (device flags, queue attach, route programming).
 */
import { type BatchRead, type ChainedRead, checkChainedRead } from '@nebula-ts/native-common';
import { fromNative, TunError } from './errors.js';
import { checkInt, checkPrefix, formatIpv4, type Ipv4, parseIpv4 } from './internal/ip.js';
import {
  type BatchIo,
  IFF_MULTI_QUEUE,
  IFF_NO_PI,
  IFF_RUNNING,
  IFF_TUN,
  IFF_UP,
  IFF_VNET_HDR,
  MAX_QUEUES,
  type NativeOffload,
  type NativePoller,
  native,
  TUN_F_CSUM,
  TUN_F_TSO4,
  TUN_F_TSO6,
  TUN_F_USO4,
  TUN_F_USO6,
  VNET_HDR_LEN,
} from './internal/native.js';
import {
  buildAddress,
  buildRoute,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RTPROT_BOOT,
  RTPROT_KERNEL,
  RTPROT_STATIC,
} from './internal/netlink.js';

/** Offloads for TUNSETOFFLOAD. TSO/USO need `csum`; USO needs Linux ≥ 6.2. */
export interface TunOffloads {
  csum?: boolean;
  tso4?: boolean;
  tso6?: boolean;
  uso4?: boolean;
  uso6?: boolean;
}

export interface OpenTunOptions {
  /** Device name (≤ 15 bytes). Absent/empty: the kernel picks `tunN`. */
  name?: string;
  /** Number of queues (fds); > 1 implies IFF_MULTI_QUEUE. Default 1. */
  queues?: number;
  /** Force IFF_MULTI_QUEUE with one queue, so more queues can be attached later (workers). */
  multiQueue?: boolean;
  /**
   * IFF_VNET_HDR: every packet read or written is preceded by a 10-byte `struct virtio_net_hdr`
   * (TUNSETVNETHDRSZ 10). The caller reads/writes it; this package does not interpret it.
   */
  vnetHdr?: boolean;
  /** TUNSETOFFLOAD flags, only with `vnetHdr`. */
  offloads?: TunOffloads;
  /**
   * TCP segmentation offload, handled by this package: sets IFF_VNET_HDR and the csum + tso4
   * offloads, and keeps the headers out of the caller's way. `read` splits the kernel's TCP
   * super-segments (up to 64 KiB) into MTU-sized packets and completes partial checksums; `write`
   * merges runs of in-order segments of one TCP flow into one GSO write. Packets in the arena
   * stay plain IPv4 packets. Excludes `vnetHdr` and `offloads`.
   */
  tso?: boolean;
}

export interface OpenTunQueueOptions {
  /** Must match the device (the kernel rewrites the device's flags on attach). */
  vnetHdr?: boolean;
  offloads?: TunOffloads;
  /** For an fd handed over as a number: close it on `close()` (default false: the opener owns it). */
  own?: boolean;
  /** The device was opened with `tso` (see OpenTunOptions.tso); must match it. */
  tso?: boolean;
}

/** Counters of a `tso` queue since it was opened. */
export interface TunOffloadStats {
  /** TCP super-segments read from the kernel. */
  superReads: number;
  /** Packets those were split into. */
  segments: number;
  /** Packets whose checksum the kernel left to us (CHECKSUM_PARTIAL), completed. */
  checksumsCompleted: number;
  /** Reads dropped: malformed vnet header or a GSO type other than TCPv4. */
  readDropped: number;
  /** GSO writes of merged segments, and the packets they carried. */
  mergedWrites: number;
  mergedPackets: number;
  /** 1 when the kernel refused a GSO write (EINVAL) and merging was turned off. */
  mergeRefused: number;
}

export interface RouteOptions {
  /** Destination network: dotted quad or uint32 (host bits are cleared). */
  dst: Ipv4;
  prefixLen: number;
  /** RTAX_MTU; 0/absent: none. */
  mtu?: number;
  /** RTAX_ADVMSS; 0/absent: none. */
  advmss?: number;
  /** RTA_PRIORITY when > 0. */
  metric?: number;
  /** RTA_PREFSRC. */
  src?: Ipv4;
  /** Default 'link'. */
  scope?: 'link' | 'universe';
  /** Default 'boot' (what `ip route add` and Go's netlink library use). */
  protocol?: 'kernel' | 'boot' | 'static';
  /** NLM_F_REPLACE instead of NLM_F_EXCL (fail if it exists). */
  replace?: boolean;
  /** Routing table id, default main (254). */
  table?: number;
}

export type ReadableCallback = (err: Error | null) => void;

const IFNAMSIZ = 16;

function checkName(name: unknown): string {
  if (name === undefined) return '';
  if (typeof name !== 'string') throw new TypeError('name must be a string');
  if (Buffer.byteLength(name) > IFNAMSIZ - 1) {
    throw new RangeError(`tun name ${JSON.stringify(name)} is longer than ${IFNAMSIZ - 1} bytes`);
  }
  if (/[\s/:]/.test(name) || name === '.' || name === '..') {
    throw new RangeError(`tun name ${JSON.stringify(name)} contains a character Linux rejects`);
  }
  return name;
}

function offloadFlags(o: TunOffloads | undefined): number {
  if (o === undefined) return 0;
  let f = 0;
  if (o.csum) f |= TUN_F_CSUM;
  if (o.tso4) f |= TUN_F_TSO4;
  if (o.tso6) f |= TUN_F_TSO6;
  if (o.uso4) f |= TUN_F_USO4;
  if (o.uso6) f |= TUN_F_USO6;
  if (f !== 0 && (f & TUN_F_CSUM) === 0) throw new RangeError('offloads: tso4/tso6/uso4/uso6 need csum');
  // The kernel takes USO only as the pair (see probeCapabilities).
  if ((f & (TUN_F_USO4 | TUN_F_USO6)) !== 0) f |= TUN_F_USO4 | TUN_F_USO6;
  return f;
}

/** The offloads a `tso` device asks for. */
const TSO_OFFLOADS = TUN_F_CSUM | TUN_F_TSO4;

function setupVnet(fd: number, vnetHdr: boolean, offloads: number, what: string): void {
  if (!vnetHdr) return;
  try {
    native.tunIoctlInt(fd, 1, VNET_HDR_LEN);
    if (offloads !== 0) native.tunIoctlInt(fd, 0, offloads);
  } catch (e) {
    throw fromNative(e, what);
  }
}

/**
 * One tun queue (one fd). Read/write move whole batches in one native call; `onReadable` calls
 * back once per readiness event on the thread that called it, and the callback drains with `read`.
 */
export class TunQueue {
  #fd: number;
  #poller: NativePoller | null = null;
  #callback: ReadableCallback | null = null;
  #polling = false;
  readonly #owned: boolean;
  /** Device name (as the kernel reports it). */
  readonly name: string;
  /** Index inside its TunDevice, or -1 for a queue attached with `openTunQueue`. */
  readonly index: number;
  /** True when every packet carries a 10-byte virtio_net_hdr in front (raw `vnetHdr` mode). */
  readonly vnetHdr: boolean;
  /** True when this package handles TCP segmentation offload (see OpenTunOptions.tso). */
  readonly tso: boolean;
  readonly #offload: NativeOffload | null;
  /** The batch calls: the TSO queue's when it has one, else the plain ones. */
  readonly #io: BatchIo;

  /** @internal use openTun / openTunQueue */
  constructor(fd: number, name: string, index: number, vnetHdr: boolean, owned: boolean, tso = false) {
    this.#fd = fd;
    this.name = name;
    this.index = index;
    this.tso = tso;
    this.vnetHdr = vnetHdr && !tso;
    this.#owned = owned;
    this.#offload = tso ? new native.TunOffload() : null;
    this.#io = this.#offload ?? native;
  }

  /** TSO counters, or null on a queue without `tso`. */
  offloadStats(): TunOffloadStats | null {
    if (this.#offload === null) return null;
    const s = this.#offload.stats();
    return {
      superReads: s[0]!,
      segments: s[1]!,
      checksumsCompleted: s[2]!,
      readDropped: s[3]!,
      mergedWrites: s[4]!,
      mergedPackets: s[5]!,
      mergeRefused: s[6]!,
    };
  }

  /** The queue's fd; -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /**
   * Reads packets until EAGAIN or `max`: packet i lands at `buf[offsets[i]]` (at most `slotCapacity`
   * bytes), its size in `lengths[i]`. Returns the count (0: nothing ready). Leave 16 bytes of headroom
   * before each offset and ≥ 16 of tailroom after `slotCapacity` (contracts.md "Packet buffers").
   */
  read(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    max: number,
    slotCapacity: number,
  ): number {
    if (this.#fd < 0) throw new TunError('ERR_TUN_CLOSED', `tun queue ${this.name}: read after close`);
    try {
      return this.#io.read(this.#fd, buf, offsets, lengths, max, slotCapacity);
    } catch (e) {
      throw fromNative(e, `read tun ${this.name}`);
    }
  }

  /**
   * Writes packets `0..count-1` (`buf[offsets[i]]`, `lengths[i]` bytes). Returns how many were written:
   * a short count means the queue was full (EAGAIN) or packet `n` failed (the error surfaces when
   * retried from it). Throws only when packet 0 fails with something other than EAGAIN.
   */
  write(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number {
    if (this.#fd < 0) throw new TunError('ERR_TUN_CLOSED', `tun queue ${this.name}: write after close`);
    try {
      return this.#io.write(this.#fd, buf, offsets, lengths, count);
    } catch (e) {
      throw fromNative(e, `write tun ${this.name}`);
    }
  }

  /**
   * `read` on arrays fixed now, as a function of `max` and `slotCapacity` alone: a data path that
   * always reads into the same arena skips the per-call argument work (most of a lone packet's
   * cost in an idle process). The arrays stay pinned while the function lives; do not transfer them.
   */
  bindRead(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array): BatchRead {
    const bound = this.#io.bindRead(buf, offsets, lengths);
    const read = (max: number, slotCapacity: number): number => {
      if (this.#fd < 0) throw new TunError('ERR_TUN_CLOSED', `tun queue ${this.name}: read after close`);
      try {
        return bound(this.#fd, max, slotCapacity);
      } catch (e) {
        throw fromNative(e, `read tun ${this.name}`);
      }
    };
    // The native read, for a blocking wait to run in its own call (native-common's
    // bindWaitReadable); pinning `read` keeps it alive. A wait only holds the fd while the queue
    // is open: whoever closes the queue stops the wait first.
    return Object.defineProperty(read, 'nativeRead', { value: bound.nativeRead });
  }

  /**
   * `write` on arrays fixed now, as `bindRead`. With `thenRead` (a read of this queue from
   * `bindRead`), each write is followed in the same native call by that read, when its last batch
   * has been taken (`thenRead.result[0]` < 0): what the kernel answered inside the write (an ICMP
   * echo reply, a TCP ACK) is then read without another call from JS. The count lands in
   * `result[0]`, -1 if the read failed (a plain read reports the error); `result[1]`, if
   * present, caps the count per call (see ChainedRead).
   */
  bindWrite(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    thenRead?: ChainedRead,
  ): (count: number) => number {
    if (thenRead !== undefined) checkChainedRead('bindWrite: thenRead', thenRead);
    let bound: (fd: number, count: number) => number;
    try {
      bound = this.#io.bindWrite(
        buf,
        offsets,
        lengths,
        thenRead && [thenRead.read, thenRead.max, thenRead.slotCapacity, thenRead.result],
      );
    } catch (e) {
      throw fromNative(e, `bindWrite tun ${this.name}`);
    }
    return (count) => {
      if (this.#fd < 0) throw new TunError('ERR_TUN_CLOSED', `tun queue ${this.name}: write after close`);
      try {
        return bound(this.#fd, count);
      } catch (e) {
        throw fromNative(e, `write tun ${this.name}`);
      }
    };
  }

  /** Starts (or resumes) readiness callbacks; replaces any previous callback. */
  onReadable(cb: ReadableCallback): void {
    if (this.#fd < 0) throw new TunError('ERR_TUN_CLOSED', `tun queue ${this.name}: onReadable after close`);
    if (typeof cb !== 'function') throw new TypeError('onReadable(cb): cb must be a function');
    this.#callback = cb;
    if (this.#poller === null) {
      // One closure per queue, not per packet: it reads the current callback from the instance.
      this.#poller = new native.Poller(this.#fd, (status) => {
        const fn = this.#callback;
        if (fn === null) return;
        if (status < 0) fn(new TunError('ERR_TUN_SYSCALL', `poll tun ${this.name}: libuv status ${status}`));
        else fn(null);
      });
    }
    if (!this.#polling) {
      this.#poller.start(1);
      this.#polling = true;
    }
  }

  /** Stops readiness callbacks; `onReadable` resumes them. */
  pause(): void {
    if (this.#poller !== null && this.#polling) {
      this.#poller.stop();
      this.#polling = false;
    }
  }

  /** Stops polling and closes the fd (if owned). Safe to call twice. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    this.#callback = null;
    // The poller must leave epoll before the fd number can be reused.
    if (this.#poller !== null) {
      this.#poller.close();
      this.#poller = null;
      this.#polling = false;
    }
    if (this.#owned) native.close(fd);
  }
}

export class TunDevice {
  readonly #queues: TunQueue[];
  #closed = false;
  /** The name the kernel gave the device. */
  readonly name: string;
  readonly multiQueue: boolean;
  readonly vnetHdr: boolean;
  readonly tso: boolean;

  /** @internal use openTun */
  constructor(name: string, queues: TunQueue[], multiQueue: boolean, vnetHdr: boolean, tso = false) {
    this.name = name;
    this.#queues = queues;
    this.multiQueue = multiQueue;
    this.vnetHdr = vnetHdr && !tso;
    this.tso = tso;
  }

  get queues(): readonly TunQueue[] {
    return this.#queues;
  }

  get closed(): boolean {
    return this.#closed;
  }

  #check(op: string): void {
    if (this.#closed) throw new TunError('ERR_TUN_CLOSED', `tun ${this.name}: ${op} after close`);
  }

  /** if_nametoindex, looked up each time (cheap; configuration is rare). */
  ifIndex(): number {
    this.#check('ifIndex');
    try {
      return native.ifIndex(this.name);
    } catch (e) {
      throw fromNative(e, `ifindex of ${this.name}`);
    }
  }

  /** RTM_NEWADDR (replace): `addr/prefixLen`; the kernel adds the prefix route once the link is up. */
  setAddress(addr: Ipv4, prefixLen: number): void {
    const a = parseIpv4(addr);
    const p = checkPrefix(prefixLen);
    const msg = buildAddress(this.ifIndex(), a, p);
    this.#netlink(`RTM_NEWADDR ${formatIpv4(a)}/${p} dev ${this.name}`, msg);
  }

  /** SIOCSIFMTU */
  setMtu(mtu: number): void {
    checkInt(mtu, 68, 65535, 'mtu');
    this.#ioctl(0, mtu, 'SIOCSIFMTU');
  }

  /** SIOCSIFTXQLEN */
  setTxQueueLen(len: number): void {
    checkInt(len, 0, 0x7fffffff, 'txQueueLen');
    this.#ioctl(1, len, 'SIOCSIFTXQLEN');
  }

  /** SIOCSIFFLAGS: UP|RUNNING (as Nebula does), or clears UP. */
  setUp(up = true): void {
    this.#check('setUp');
    try {
      if (up) native.ifIoctl(this.name, 2, IFF_UP | IFF_RUNNING, 0);
      else native.ifIoctl(this.name, 2, 0, IFF_UP);
    } catch (e) {
      throw fromNative(e, `set ${this.name} ${up ? 'up' : 'down'}`);
    }
  }

  /** RTM_NEWROUTE out of this device (table main unless `table`). */
  addRoute(r: RouteOptions): void {
    if (typeof r !== 'object' || r === null) throw new TypeError('addRoute(route): route must be an object');
    const prefixLen = checkPrefix(r.prefixLen);
    const dst = parseIpv4(r.dst, 'dst');
    const mask = prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
    const mtu = r.mtu === undefined ? undefined : checkInt(r.mtu, 0, 65535, 'mtu');
    const advmss = r.advmss === undefined ? undefined : checkInt(r.advmss, 0, 65535, 'advmss');
    const metric = r.metric === undefined ? undefined : checkInt(r.metric, 0, 0xffffffff, 'metric');
    const table = r.table === undefined ? undefined : checkInt(r.table, 1, 0xffffffff, 'table');
    const src = r.src === undefined ? undefined : parseIpv4(r.src, 'src');
    const scope = (r.scope ?? 'link') === 'link' ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    if (r.scope !== undefined && r.scope !== 'link' && r.scope !== 'universe') {
      throw new RangeError(`scope must be 'link' or 'universe'`);
    }
    const protocol = { kernel: RTPROT_KERNEL, boot: RTPROT_BOOT, static: RTPROT_STATIC }[
      r.protocol ?? 'boot'
    ];
    if (protocol === undefined) throw new RangeError(`protocol must be 'kernel', 'boot' or 'static'`);
    const net = (dst & mask) >>> 0;
    const msg = buildRoute({
      ifIndex: this.ifIndex(),
      dst: net,
      prefixLen,
      scope,
      protocol,
      ...(table === undefined ? {} : { table }),
      src,
      mtu,
      advmss,
      metric,
      replace: r.replace === true,
    });
    this.#netlink(`RTM_NEWROUTE ${formatIpv4(net)}/${prefixLen} dev ${this.name}`, msg);
  }

  /**
   * Attaches one more queue (multi-queue devices only) owned by this device. Workers should
   * rather call `openTunQueue(name)` themselves.
   */
  addQueue(): TunQueue {
    this.#check('addQueue');
    if (!this.multiQueue) throw new RangeError(`tun ${this.name} was opened without multiQueue`);
    const q = attach(this.name, this.vnetHdr || this.tso, 0, this.#queues.length, this.tso);
    this.#queues.push(q);
    return q;
  }

  /**
   * Closes every queue this device opened. A non-persistent tun disappears once the last fd
   * attached to it (including queues opened elsewhere with `openTunQueue`) is closed. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    let first: unknown;
    for (const q of this.#queues) {
      try {
        q.close();
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== undefined) throw fromNative(first, `close tun ${this.name}`);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #ioctl(op: 0 | 1, value: number, what: string): void {
    this.#check(what);
    try {
      native.ifIoctl(this.name, op, value);
    } catch (e) {
      throw fromNative(e, `${what} ${this.name} ${value}`);
    }
  }

  #netlink(op: string, msg: Uint8Array): void {
    this.#check(op);
    try {
      native.netlink(op, msg);
    } catch (e) {
      throw fromNative(e, `configure tun ${this.name}`);
    }
  }
}

function attach(name: string, vnetHdr: boolean, offloads: number, index: number, tso: boolean): TunQueue {
  const flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | (vnetHdr ? IFF_VNET_HDR : 0);
  let fd: number;
  let kname: string;
  try {
    [fd, kname] = native.openQueue(name, flags);
  } catch (e) {
    throw fromNative(e, `attach queue to tun ${name}`);
  }
  try {
    setupVnet(fd, vnetHdr, offloads, `configure vnet header on ${kname}`);
  } catch (e) {
    native.close(fd);
    throw e;
  }
  return new TunQueue(fd, kname, index, vnetHdr, true, tso);
}

/**
 * Creates (or attaches to) a tun device with IFF_TUN | IFF_NO_PI, plus IFF_MULTI_QUEUE when
 * `queues > 1` or `multiQueue`. Queue 0 creates the device; the others attach by its name.
 */
export function openTun(options: OpenTunOptions = {}): TunDevice {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('openTun(options): options must be an object');
  const name = checkName(options.name);
  const queues = options.queues === undefined ? 1 : options.queues;
  if (typeof queues !== 'number' || !Number.isInteger(queues) || queues < 1 || queues > MAX_QUEUES) {
    throw new RangeError(`queues must be an integer 1..${MAX_QUEUES}, got ${String(queues)}`);
  }
  if (options.multiQueue === false && queues > 1) throw new RangeError('queues > 1 needs multiQueue');
  const multiQueue = queues > 1 || options.multiQueue === true;
  const tso = options.tso === true;
  if (tso && (options.vnetHdr !== undefined || options.offloads !== undefined))
    throw new RangeError('tso sets the vnet header and offloads itself: drop vnetHdr/offloads');
  const vnetHdr = tso || options.vnetHdr === true;
  const offloads = tso ? TSO_OFFLOADS : offloadFlags(options.offloads);
  if (offloads !== 0 && !vnetHdr) throw new RangeError('offloads need vnetHdr: true');

  const flags = IFF_TUN | IFF_NO_PI | (multiQueue ? IFF_MULTI_QUEUE : 0) | (vnetHdr ? IFF_VNET_HDR : 0);
  let fd0: number;
  let kname: string;
  try {
    [fd0, kname] = native.openQueue(name, flags);
  } catch (e) {
    throw fromNative(e, `open tun ${name === '' ? '(kernel-named)' : name}`);
  }
  const list = [new TunQueue(fd0, kname, 0, vnetHdr, true, tso)];
  try {
    setupVnet(fd0, vnetHdr, offloads, `configure vnet header on ${kname}`);
    for (let i = 1; i < queues; i++) list.push(attach(kname, vnetHdr, offloads, i, tso));
  } catch (e) {
    for (const q of list) q.close();
    throw e;
  }
  return new TunDevice(kname, list, multiQueue, vnetHdr, tso);
}

/**
 * Opens one queue for the calling thread (e.g. a worker): by device name (attaches a new fd to a
 * multi-queue device; the device must exist or it is created), or by an fd number received from
 * the thread that opened it (fds are process-wide; not closed unless `own`).
 */
export function openTunQueue(target: string | number, options: OpenTunQueueOptions = {}): TunQueue {
  const tso = options.tso === true;
  const vnetHdr = tso || options.vnetHdr === true;
  if (typeof target === 'number') {
    if (!Number.isInteger(target) || target < 0)
      throw new RangeError(`fd must be a non-negative integer, got ${target}`);
    let name: string;
    let flags: number;
    try {
      [name, flags] = native.getQueueInfo(target);
    } catch (e) {
      throw fromNative(e, `fd ${target} is not a tun queue`);
    }
    const hasVnet = (flags & IFF_VNET_HDR) !== 0;
    if (tso && !hasVnet) throw new RangeError(`fd ${target}: tso needs a queue opened with tso`);
    return new TunQueue(target, name, -1, hasVnet, options.own === true, tso);
  }
  const name = checkName(target);
  if (name === '') throw new RangeError('openTunQueue(name): name must not be empty');
  const offloads = tso ? TSO_OFFLOADS : offloadFlags(options.offloads);
  return attach(name, vnetHdr, offloads, -1, tso);
}

/**
 * A queue over one end of a message socket pair (`@nebula-ts/native-common`'s PacketPair) instead
 * of a tun device: the same class, batch calls and TSO handling, with the pair's other end playing
 * the kernel (with `tso`, every message carries a 10-byte virtio_net_hdr, as on the device). For
 * exercising a data path without a device: the node's warm-up, tests. The queue owns the fd.
 */
export function openPacketQueue(
  fd: number,
  options: { readonly tso?: boolean; readonly name?: string } = {},
): TunQueue {
  if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`fd must be a non-negative integer, got ${fd}`);
  const tso = options.tso === true;
  return new TunQueue(fd, options.name ?? `packet-queue-${fd}`, -1, tso, true, tso);
}
