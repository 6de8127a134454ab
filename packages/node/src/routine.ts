/**
 * One routine's data path (dataplane.md §3–§4): tun queue i ↔ udp socket i. Runs on a worker
 * thread (routines ≥ 2) or on the main thread. Work is per batch: one tun read / recvmmsg, one
 * sealBatch / openBatch, one sendmmsg / tun write. Per packet there are only typed-array reads and
 * writes, Map lookups with number keys and Atomics — no allocation, closure, log call or metric
 * update. Anything that is not an established data packet goes to the control path (`ControlSink`).
 */
import { getSystemErrorName } from 'node:util';
import { hasNativeRead } from '@nebula-ts/native-common';
import type { Logger } from 'pino';
import { ADDR_WORDS } from './addr.js';
import {
  DROP_LOCAL_IP,
  DROP_NO_RULE,
  DROP_REMOTE_IP,
  type FirewallPacket,
  HEADER_LEN,
  MessageType,
  newFirewallPacket,
  parsePacket,
  readU32,
  writeHeader,
} from './internal/deps.js';
import type {
  BatchAead,
  BatchSend,
  ChainedRead,
  Cipher,
  TunQueueLike,
  UdpSocketLike,
} from './internal/io-types.js';
import { COUNTER_LIMIT, STAT_WORDS, Stat, type TunnelTable } from './tunnel-table.js';

/** 9001-byte packets plus header and tag, rounded up (docs/contracts.md "Packet buffers"). */
export const SLOT_SIZE = 9088;
export const PAYLOAD_CAPACITY = SLOT_SIZE - 2 * HEADER_LEN;
/** Passes over a readable source before yielding to the event loop (keeps timers alive). */
const MAX_ROUNDS = 8;
/** Packets per batch handed to the control path for want of a tunnel. */
const MAX_NEEDS_PER_BATCH = 16;
/**
 * Period of the receive watchdog. An exception that escapes a native poll callback (also one
 * thrown by a nextTick / microtask drained at the end of it) is left pending in the addon's
 * N-API env, and libuv readiness callbacks are then silently dropped: the socket goes deaf
 * with the process alive. The next JS → addon call rethrows and clears it, so a periodic drain
 * attempt both recovers from that and picks up anything a lost callback left behind.
 */
const WATCHDOG_MS = 1000;
/** Least interval between two logs of caught handler errors. */
const FAULT_LOG_MS = 1000;
/** Longest wait of the run-to-completion loop: the worker has no timers of its own, so this is a safety net. */
const BLOCKING_WAIT_MS = 1000;
/** Wakes handled per turn of the run-to-completion loop before it yields to the event loop anyway. */
const BLOCKING_WAKES_PER_TURN = 64;
/** Pause after the wait itself failed, so a persistent failure cannot spin. */
const BLOCKING_RETRY_MS = 10;
/** Least interval between two looks at the socket's and queue's own counters (checkHealth). */
const HEALTH_CHECK_MS = 1000;

/** `EMSGSIZE` for 90: the native counters keep positive errnos, node's lookup takes negative ones. */
const errnoName = (n: number): string => getSystemErrorName(-n);

export type SendRecvErrorMode = 'always' | 'never' | 'private';

export interface RoutineSettings {
  readonly index: number;
  readonly batch: number;
  readonly vpnIp: number;
  readonly netAddr: number;
  readonly netMask: number;
  readonly dropLocalBroadcast: boolean;
  readonly dropMulticast: boolean;
  readonly sendRecvError: SendRecvErrorMode;
  /** Longest prefix first. */
  readonly unsafeRoutes: ReadonlyArray<{
    readonly addr: number;
    readonly mask: number;
    readonly via: number;
  }>;
}

/**
 * What the run-to-completion loop waits on: `wait` blocks until some of its fds are readable and
 * returns their bits (0 on timeout); the wakeup fd is signalled by the control path after it
 * posted a message, and `drainWakeup` resets it.
 */
export interface BlockingIo {
  readonly wait: (timeoutMs: number) => number;
  /**
   * Optional: a wait that, finding tun or UDP readable, also reads that batch with `tun.read` or
   * `udp.read` before it returns (native-common's bindWaitReadable with preReads), so a lone
   * packet's wake goes from poll() straight into the read; undefined when neither read can be run
   * that way.
   */
  readonly waitWithReads?: (tun: PreRead, udp: PreRead) => ((timeoutMs: number) => number) | undefined;
  readonly udpBit: number;
  readonly tunBit: number;
  readonly wakeupBit: number;
  readonly drainWakeup: () => void;
}

/**
 * A read a `BlockingIo.waitWithReads` wait runs: native-common's ChainedRead on one of the
 * routine's arenas (the wait's owner adds the fd index). result[0] holds the count until the
 * routine takes the batch and sets it back to -1 (no wait reads that fd again before that).
 */
export type PreRead = ChainedRead;

/** What the data path hands to the control path. Implementations copy what they keep. */
export interface ControlSink {
  /** A non-data packet (handshake, lighthouse, test, close, recv_error, control, relay). */
  controlPacket(
    routine: number,
    buf: Uint8Array,
    off: number,
    len: number,
    addrs: Uint32Array,
    i: number,
  ): void;
  /** A tun packet for `vpnIp` with no ready tunnel: queue it and start a handshake. */
  needTunnel(vpnIp: number, buf: Uint8Array, off: number, len: number): void;
  /** Authenticated traffic for `slot` came from another address. */
  roamed(slot: number, addrs: Uint32Array, i: number): void;
  /** The send counter of `slot` reached COUNTER_LIMIT. */
  exhausted(slot: number): void;
}

export interface FirewallLike {
  drop(pkt: FirewallPacket, incoming: boolean, peer: unknown, cache: unknown): number;
}

export interface RoutineDeps {
  readonly settings: RoutineSettings;
  readonly table: TunnelTable;
  readonly aead: BatchAead;
  readonly tun: TunQueueLike;
  readonly udp: UdpSocketLike;
  readonly sink: ControlSink;
  readonly logger: Logger;
  firewall: FirewallLike;
  /** One conntrack cache per direction (seed a), or null when the cache is off. */
  readonly cacheIn?: unknown;
  readonly cacheOut?: unknown;
}

function isPrivateWords(addrs: Uint32Array, i: number): boolean {
  const b = i * ADDR_WORDS;
  if (addrs[b] === 4) {
    const ip = addrs[b + 2]!;
    return ip >>> 24 === 10 || ip >>> 20 === 0xac1 || ip >>> 16 === 0xc0a8;
  }
  return addrs[b + 2]! >>> 25 === 0x7e;
}

export class Routine {
  readonly index: number;
  private settings: RoutineSettings;
  private readonly table: TunnelTable;
  private readonly aead: BatchAead;
  private readonly tun: TunQueueLike;
  private readonly udp: UdpSocketLike;
  private readonly sink: ControlSink;
  private readonly log: Logger;
  firewall: FirewallLike;
  private readonly cacheIn: unknown;
  private readonly cacheOut: unknown;

  /** vpnIp → slot and local index → slot, maintained from the control path's announcements. */
  private readonly vpnToSlot = new Map<number, number>();
  private readonly indexToSlot = new Map<number, number>();
  private readonly peers: unknown[];

  // Inside (tun → udp) buffers.
  private readonly inBuf: Uint8Array;
  private readonly inOffsets: Uint32Array;
  private readonly inLengths: Uint32Array;
  private readonly sendOffsets: Uint32Array;
  private readonly sendLengths: Uint32Array;
  private readonly sendAddrs: Uint32Array;
  private readonly sealMeta: Uint32Array;
  // Outside (udp → tun) buffers.
  private readonly outBuf: Uint8Array;
  private readonly outOffsets: Uint32Array;
  private readonly outLengths: Uint32Array;
  private readonly outAddrs: Uint32Array;
  private readonly openMeta: Uint32Array;
  private readonly openIdx: Uint32Array;
  private readonly openSlot: Int32Array;
  private readonly openCounter: Float64Array;
  private readonly openResults: Uint8Array;
  private readonly tunOffsets: Uint32Array;
  private readonly tunLengths: Uint32Array;
  // Small scratch for recv_error and raw sends.
  private readonly scratch = new Uint8Array(HEADER_LEN);
  private readonly scratchAddr = new Uint32Array(ADDR_WORDS);

  // The batch calls on the arenas above, bound once where the implementation can (constructor).
  private readonly tunRead: (max: number, slotCapacity: number) => number;
  private readonly tunWrite: (count: number) => number;
  private readonly udpRecv: (max: number, slotCapacity: number) => number;
  private readonly udpSend: (count: number) => number;
  /** Seals packets 0..count-1 and sends them: one native call where the AEAD and the socket allow it (bindSeal's send). */
  private readonly sealAndSend: (count: number) => unknown;
  private readonly open: (count: number) => number;

  private readonly fwPkt = newFirewallPacket();
  private readonly stats: Int32Array;
  private readonly statBase: number;
  private running = false;
  private inScheduled = false;
  private outScheduled = false;
  /** Run-to-completion mode (startBlocking): readiness comes from the loop, not from pollers. */
  private blocking: BlockingIo | null = null;
  private wait: ((timeoutMs: number) => number) | null = null;
  /**
   * [0]: packets a wait already read into the inside / outside arena (see PreRead), or -1.
   * tunPreRead[1]: how many packets the next pre-read of tun may take (ChainedRead's limit): 1
   * while the link is idle, so a lone packet goes to encryption before the read that finds the
   * queue empty; 0 (a full batch) once a drain took more than one.
   */
  private readonly tunPreRead = new Int32Array([-1, 1]);
  private readonly udpPreRead = new Int32Array([-1]);
  /**
   * Blocking mode: the last drain stopped at MAX_ROUNDS full batches. Go on without waiting: a
   * TSO queue may hold split segments that no fd readiness reports.
   */
  private inBacklog = false;
  private outBacklog = false;
  /** Set by outside() when it wrote to tun during the current udp readiness callback. */
  private wroteTun = false;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  /** Exceptions caught in the readable handlers (also summed in Stat.HandlerErrors). */
  handlerErrors = 0;
  /**
   * Times from Date.now(), so doubles from the start (-Infinity: never): a field that starts as a
   * small integer changes representation at its first timestamp, which gives the object a new map
   * and deoptimises code compiled for the old one (the warm-up's, see warmup.ts).
   */
  private lastHealthCheck = Number.NEGATIVE_INFINITY;
  /**
   * Whether the logger takes debug lines, read once per health check rather than per batch:
   * pino's isLevelEnabled goes through the logger's prototype chain, generic property loads that
   * are among the first cache misses of a batch after an idle stretch. A level change shows
   * within HEALTH_CHECK_MS.
   */
  private debug: boolean;
  private sendErrorsSeen = 0;
  private readDroppedSeen = 0;
  private gsoOffLogged = false;
  private gsoLimitLogged = false;
  private mergeOffLogged = false;
  private lastFaultLog = Number.NEGATIVE_INFINITY;
  private faultsSinceLog = 0;

  constructor(deps: RoutineDeps) {
    this.index = deps.settings.index;
    this.settings = deps.settings;
    this.table = deps.table;
    this.aead = deps.aead;
    this.tun = deps.tun;
    this.udp = deps.udp;
    this.sink = deps.sink;
    this.log = deps.logger;
    this.firewall = deps.firewall;
    this.debug = this.log.isLevelEnabled('debug');
    this.cacheIn = deps.cacheIn ?? null;
    this.cacheOut = deps.cacheOut ?? null;
    this.peers = new Array(this.table.capacity);
    const n = Math.max(1, deps.settings.batch);
    this.inBuf = new Uint8Array(n * SLOT_SIZE);
    this.inOffsets = new Uint32Array(n);
    this.inLengths = new Uint32Array(n);
    for (let i = 0; i < n; i++) this.inOffsets[i] = i * SLOT_SIZE + HEADER_LEN;
    this.sendOffsets = new Uint32Array(n);
    this.sendLengths = new Uint32Array(n);
    this.sendAddrs = new Uint32Array(n * ADDR_WORDS);
    this.sealMeta = new Uint32Array(n * 3);
    this.outBuf = new Uint8Array(n * SLOT_SIZE);
    this.outOffsets = new Uint32Array(n);
    this.outLengths = new Uint32Array(n);
    this.outAddrs = new Uint32Array(n * ADDR_WORDS);
    for (let i = 0; i < n; i++) this.outOffsets[i] = i * SLOT_SIZE;
    this.openMeta = new Uint32Array(n * 3);
    this.openIdx = new Uint32Array(n);
    this.openSlot = new Int32Array(n);
    this.openCounter = new Float64Array(n);
    this.openResults = new Uint8Array(n);
    this.tunOffsets = new Uint32Array(n);
    this.tunLengths = new Uint32Array(n);
    this.stats = this.table.stats;
    this.statBase = this.index * STAT_WORDS;
    // Native implementations bind the arenas once: an N-API call with typed-array arguments
    // costs an idle process ~10 µs more than a bound one, and a lone packet makes three per leg.
    const { tun, udp, aead } = this;
    const inBuf = this.inBuf;
    const outBuf = this.outBuf;
    this.tunRead = tun.bindRead
      ? tun.bindRead(inBuf, this.inOffsets, this.inLengths)
      : (max, cap) => tun.read(inBuf, this.inOffsets, this.inLengths, max, cap);
    // Each tun write also reads what the kernel answered inside it (an echo reply, an ACK) into
    // the batch onTunReadable takes next, when the read can run natively: one call fewer on a
    // lone packet's way back out.
    const thenRead: ChainedRead | undefined = hasNativeRead(this.tunRead)
      ? { read: this.tunRead, max: n, slotCapacity: PAYLOAD_CAPACITY, result: this.tunPreRead }
      : undefined;
    this.tunWrite = tun.bindWrite
      ? tun.bindWrite(outBuf, this.tunOffsets, this.tunLengths, thenRead)
      : (count) => tun.write(outBuf, this.tunOffsets, this.tunLengths, count);
    this.udpRecv = udp.bindRecv
      ? udp.bindRecv(outBuf, this.outOffsets, this.outLengths, this.outAddrs)
      : (max, cap) => udp.recvBatch(outBuf, this.outOffsets, this.outLengths, this.outAddrs, max, cap);
    this.udpSend = udp.bindSend
      ? udp.bindSend(inBuf, this.sendOffsets, this.sendLengths, this.sendAddrs)
      : (count) => udp.sendBatch(inBuf, this.sendOffsets, this.sendLengths, this.sendAddrs, count);
    // The send arrays describe the sealed packets entry for entry (see inside()).
    const send: BatchSend = this.udpSend;
    if (aead.bindSeal !== undefined && send.nativeSend !== undefined)
      this.sealAndSend = aead.bindSeal(inBuf, this.sealMeta, send);
    else {
      const seal = aead.bindSeal
        ? aead.bindSeal(inBuf, this.sealMeta)
        : (count: number) => aead.sealBatch(inBuf, this.sealMeta, count);
      this.sealAndSend = (count) => {
        seal(count);
        send(count);
      };
    }
    this.open = aead.bindOpen
      ? aead.bindOpen(outBuf, this.openMeta, this.openResults)
      : (count) => aead.openBatch(outBuf, this.openMeta, count, this.openResults);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // Nothing may escape a readiness callback (see WATCHDOG_MS): each one is fenced.
    this.tun.onReadable(() => this.guard(this.onTunReadable, 'tun'));
    this.udp.onReadable(() => this.guard(this.onUdpReadable, 'udp'));
    this.watchdog = setInterval(() => {
      this.guard(this.onUdpReadable, 'udp');
      this.guard(this.onTunReadable, 'tun');
      this.checkHealth(Date.now());
    }, WATCHDOG_MS);
    this.watchdog.unref?.();
  }

  /**
   * Run-to-completion mode, for a thread that owns this routine's fds (a routine worker): a loop
   * blocks in `io.wait` and drains what is readable directly, instead of a libuv poller calling
   * into JS per wake (see @nebula-ts/native-common's wait.cc for what that saves). It hands the
   * thread back to its event loop when the wakeup fires (a control-path message is waiting), on
   * timeout (timers), and every BLOCKING_WAKES_PER_TURN wakes.
   */
  startBlocking(io: BlockingIo, options: { readonly loop?: boolean } = {}): void {
    if (this.running) return;
    this.running = true;
    this.blocking = io;
    this.wait =
      io.waitWithReads?.(
        {
          read: this.tunRead,
          max: this.inOffsets.length,
          slotCapacity: PAYLOAD_CAPACITY,
          result: this.tunPreRead,
        },
        { read: this.udpRecv, max: this.outOffsets.length, slotCapacity: SLOT_SIZE, result: this.udpPreRead },
      ) ?? io.wait;
    // `loop: false`: the caller drives turn() itself (the data-path warm-up, two routines on one thread).
    if (options.loop !== false) setImmediate(this.runBlocking);
  }

  private readonly runBlocking = (): void => {
    const io = this.blocking!;
    for (let wakes = 0; wakes < BLOCKING_WAKES_PER_TURN; wakes++) {
      if (!this.running) return;
      const backlog = this.inBacklog || this.outBacklog;
      let ready: number;
      try {
        ready = this.turn(backlog ? 0 : BLOCKING_WAIT_MS);
      } catch (e) {
        this.fault('wait', e);
        setTimeout(this.runBlocking, BLOCKING_RETRY_MS);
        return;
      }
      if (ready === 0 && !backlog) break;
      if (ready & io.wakeupBit) {
        try {
          io.drainWakeup();
        } catch (e) {
          this.fault('wakeup', e);
        }
        break;
      }
    }
    if (!this.running) return;
    this.checkHealth(Date.now());
    setImmediate(this.runBlocking);
  };

  /**
   * One wake of the run-to-completion loop (after startBlocking): waits up to `timeoutMs` and
   * handles what is readable, and any backlog. Returns the wait's bits; a failed wait throws.
   */
  turn(timeoutMs: number): number {
    const io = this.blocking!;
    const ready = this.wait!(timeoutMs);
    // Called directly rather than through guard(): a call the compiler can inline, which the
    // first packet after an idle stretch, run on cold caches, notices.
    if (ready & io.udpBit || this.outBacklog) {
      try {
        this.onUdpReadable();
      } catch (e) {
        this.fault('udp', e);
      }
    }
    if (ready & io.tunBit || this.inBacklog) {
      try {
        this.onTunReadable();
      } catch (e) {
        this.fault('tun', e);
      }
    }
    return ready;
  }

  /**
   * What the kernel refused since the last look, from the socket's and the queue's own counters
   * (at most once per HEALTH_CHECK_MS, never per packet): failed sends are logged as 1.6.1 logs
   * them, with a count; GSO or TSO merging turning itself off and dropped tun segments are
   * logged once, so a slower data path is never a silent one.
   */
  checkHealth(now: number): void {
    if (now - this.lastHealthCheck < HEALTH_CHECK_MS) return;
    this.lastHealthCheck = now;
    this.debug = this.log.isLevelEnabled('debug');
    try {
      const u = this.udp.stats?.();
      if (u !== undefined) {
        const failed = u.sendErrors - this.sendErrorsSeen;
        if (failed > 0) {
          this.sendErrorsSeen = u.sendErrors;
          this.log.error(
            { count: failed, err: errnoName(u.lastSendErrno) },
            'Failed to write outgoing packet',
          );
        }
        if (u.gsoSegmentLimit !== null && !this.gsoLimitLogged) {
          this.gsoLimitLogged = true;
          this.log.warn(
            { maxSegment: u.gsoSegmentLimit },
            'UDP segmentation offload limited to smaller packets after the kernel refused a larger one',
          );
        }
        if (u.gsoDisabledByErrno !== 0 && !this.gsoOffLogged) {
          this.gsoOffLogged = true;
          this.log.warn(
            { err: errnoName(u.gsoDisabledByErrno) },
            'UDP segmentation offload turned off by the kernel; sending one datagram per packet',
          );
        }
      }
      const t = this.tun.offloadStats?.();
      if (t) {
        if (t.mergeRefused > 0 && !this.mergeOffLogged) {
          this.mergeOffLogged = true;
          this.log.warn('tun refused a merged TCP write; writing one packet per write from now on');
        }
        const dropped = t.readDropped - this.readDroppedSeen;
        if (dropped > 0) {
          this.readDroppedSeen = t.readDropped;
          this.log.warn({ count: dropped }, 'Dropped tun packets the offload could not pass on');
        }
      }
    } catch (e) {
      this.fault('health', e);
    }
  }

  stop(): void {
    this.running = false;
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.watchdog = null;
    this.tun.pause?.();
  }

  private guard(fn: () => void, where: string): void {
    try {
      fn.call(this);
    } catch (e) {
      this.fault(where, e);
    }
  }

  /** Counts an exception caught in the data path; logs at most once per FAULT_LOG_MS. */
  private fault(where: string, e: unknown): void {
    this.handlerErrors++;
    const st = this.stats;
    const k = this.statBase + Stat.HandlerErrors;
    st[k] = (st[k]! + 1) | 0;
    this.faultsSinceLog++;
    const now = Date.now();
    if (now - this.lastFaultLog < FAULT_LOG_MS) return;
    this.lastFaultLog = now;
    const count = this.faultsSinceLog;
    this.faultsSinceLog = 0;
    try {
      // Always a bug somewhere downstream, so visible at warn; rate-limited so a flood of bad
      // packets cannot turn it into a log flood.
      this.log.warn(
        { where, count, err: e instanceof Error ? (e.stack ?? e.message) : String(e) },
        'Error while handling packets, continuing',
      );
    } catch {
      // a failing logger must not stop the loop either
    }
  }

  /** Hands packet i of the outside slots to the control path; one bad packet never ends the batch. */
  private toControl(buf: Uint8Array, off: number, len: number, addrs: Uint32Array, i: number): void {
    try {
      this.sink.controlPacket(this.index, buf, off, len, addrs, i);
    } catch (e) {
      this.fault('control', e);
    }
  }

  updateSettings(s: RoutineSettings): void {
    this.settings = s;
  }

  // ---- tunnel announcements from the control path ----

  install(
    slot: number,
    vpnIp: number,
    localIndex: number,
    cipher: Cipher,
    sendKey: Uint8Array,
    recvKey: Uint8Array,
    peer: unknown,
  ): void {
    this.aead.setKey(2 * slot, cipher, sendKey);
    this.aead.setKey(2 * slot + 1, cipher, recvKey);
    this.peers[slot] = peer;
    const prev = this.vpnToSlot.get(vpnIp);
    if (prev !== undefined && prev !== slot) this.forgetSlot(prev, false);
    this.vpnToSlot.set(vpnIp, slot);
    this.indexToSlot.set(localIndex, slot);
  }

  remove(slot: number, vpnIp: number, localIndex: number): void {
    if (this.vpnToSlot.get(vpnIp) === slot) this.vpnToSlot.delete(vpnIp);
    if (this.indexToSlot.get(localIndex) === slot) this.indexToSlot.delete(localIndex);
    this.forgetSlot(slot, true);
  }

  private forgetSlot(slot: number, clearKeys: boolean): void {
    if (clearKeys) {
      this.aead.clearKey(2 * slot);
      this.aead.clearKey(2 * slot + 1);
      this.peers[slot] = undefined;
    }
  }

  /** Sends a finished packet (control path) on this routine's socket. */
  sendRaw(bytes: Uint8Array, addrs: Uint32Array, i: number): void {
    this.udp.sendTo(bytes, 0, bytes.length, addrs, i);
  }

  // ---- inside: tun → udp ----

  private onTunReadable(): void {
    if (!this.running) return;
    this.inBacklog = false;
    const max = this.inOffsets.length;
    const pre = this.tunPreRead;
    let taken = 0;
    let drained = false;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      // A batch the wait read first is taken before anything reads into the arena again (this is
      // also reached from the udp side, after it wrote to tun).
      let n = pre[0]!;
      let asked = max;
      if (n >= 0) {
        pre[0] = -1;
        if (pre[1]! > 0) asked = pre[1]!;
      } else n = this.tunRead(max, PAYLOAD_CAPACITY);
      if (n <= 0) {
        drained = true;
        break;
      }
      taken += n;
      try {
        this.inside(n);
      } catch (e) {
        this.fault('inside', e);
      }
      if (n < asked) {
        drained = true;
        break;
      }
    }
    if (taken > 0) pre[1] = taken === 1 ? 1 : 0;
    if (drained) return;
    // Still readable, or segments left over in the queue that no readiness will report: continue
    // after timers and I/O callbacks had their turn, or in the blocking loop's next pass.
    if (this.blocking !== null) {
      this.inBacklog = true;
      return;
    }
    if (!this.inScheduled) {
      this.inScheduled = true;
      setImmediate(() => {
        this.inScheduled = false;
        this.guard(this.onTunReadable, 'tun');
      });
    }
  }

  /** Processes `n` packets read from tun into the inside slots. Exposed for tests. */
  inside(n: number): void {
    const s = this.settings;
    const buf = this.inBuf;
    const pkt = this.fwPkt;
    const table = this.table;
    const fw = this.firewall;
    const myIp = s.vpnIp;
    const netMask = s.netMask;
    const netAddr = s.netAddr;
    const broadcast = (netAddr | ~netMask) >>> 0;
    const debug = this.debug;
    let count = 0;
    let dropRemote = 0;
    let dropLocal = 0;
    let dropRule = 0;
    let unroutable = 0;
    let lastVpn = -1;
    let lastSlot = -1;
    let needs = 0;
    for (let i = 0; i < n; i++) {
      const off = this.inOffsets[i]!;
      const len = this.inLengths[i]!;
      if (parsePacket(buf, off, len, false, pkt) !== 0) {
        if (debug) this.log.debug({ len }, 'Error while validating outbound packet');
        continue;
      }
      const dst = pkt.remoteIp;
      if (s.dropLocalBroadcast && dst === broadcast) continue;
      if (dst === myIp) continue;
      if (s.dropMulticast && dst >>> 28 === 14) continue;
      let vpn = dst;
      if ((dst & netMask) >>> 0 !== netAddr) {
        vpn = 0;
        const routes = s.unsafeRoutes;
        for (let r = 0; r < routes.length; r++) {
          const rt = routes[r]!;
          if ((dst & rt.mask) >>> 0 === rt.addr) {
            vpn = rt.via;
            break;
          }
        }
        if (vpn === 0) {
          // Seed (c): no HostInfo, no lighthouse query.
          unroutable++;
          if (debug)
            this.log.debug(
              { vpnIp: dst },
              'dropping outbound packet, vpnIp not in our CIDR or in unsafe routes',
            );
          continue;
        }
      }
      let slot: number;
      if (vpn === lastVpn) slot = lastSlot;
      else {
        const found = this.vpnToSlot.get(vpn);
        slot = found === undefined ? -1 : found;
        lastVpn = vpn;
        lastSlot = slot;
      }
      if (slot < 0 || !table.isReady(slot)) {
        // At most a few per batch: the control path queues 100 per host and drops the rest anyway.
        if (needs++ < MAX_NEEDS_PER_BATCH) this.sink.needTunnel(vpn, buf, off, len);
        continue;
      }
      const reason = fw.drop(pkt, false, this.peers[slot], this.cacheOut);
      if (reason !== 0) {
        if (reason === DROP_REMOTE_IP) dropRemote++;
        else if (reason === DROP_LOCAL_IP) dropLocal++;
        else if (reason === DROP_NO_RULE) dropRule++;
        if (debug) this.log.debug({ vpnIp: vpn, reason }, 'dropping outbound packet');
        continue;
      }
      if (!table.readAddr(slot, this.sendAddrs, count)) {
        // No direct remote (relays are not supported): treat as not ready.
        this.sink.needTunnel(vpn, buf, off, len);
        continue;
      }
      const counter = table.nextCounter(slot);
      if (counter >= COUNTER_LIMIT) {
        this.sink.exhausted(slot);
        continue;
      }
      const hdr = off - HEADER_LEN;
      writeHeader(buf, hdr, MessageType.Message, 0, table.remoteIndex(slot), counter);
      table.markOut(slot);
      const m = count * 3;
      this.sealMeta[m] = 2 * slot;
      this.sealMeta[m + 1] = hdr;
      this.sealMeta[m + 2] = len;
      this.sendOffsets[count] = hdr;
      this.sendLengths[count] = len + 2 * HEADER_LEN;
      count++;
    }
    if (count > 0) this.sealAndSend(count);
    const st = this.stats;
    const b = this.statBase;
    st[b + Stat.TxPackets] = (st[b + Stat.TxPackets]! + count) | 0;
    if (dropRemote) st[b + Stat.FwOutRemoteIp] = (st[b + Stat.FwOutRemoteIp]! + dropRemote) | 0;
    if (dropLocal) st[b + Stat.FwOutLocalIp] = (st[b + Stat.FwOutLocalIp]! + dropLocal) | 0;
    if (dropRule) st[b + Stat.FwOutNoRule] = (st[b + Stat.FwOutNoRule]! + dropRule) | 0;
    if (unroutable) st[b + Stat.DroppedUnroutable] = (st[b + Stat.DroppedUnroutable]! + unroutable) | 0;
  }

  // ---- outside: udp → tun ----

  private onUdpReadable(): void {
    if (!this.running) return;
    const max = this.outOffsets.length;
    this.wroteTun = false;
    this.drainUdp(max);
    // What we just wrote to tun is often answered at once, inside the write syscall (an ICMP echo
    // reply, a TCP ACK): handle it now rather than after another trip through the event loop.
    // The native write already read it into the batch onTunReadable takes (its chained read);
    // without one, this costs one EAGAIN read. The tun poller still covers everything else.
    if (this.wroteTun) this.onTunReadable();
  }

  private drainUdp(max: number): void {
    this.outBacklog = false;
    const pre = this.udpPreRead;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      // A batch the wait read first is taken before anything receives into the arena again.
      let n = pre[0]!;
      if (n >= 0) pre[0] = -1;
      else n = this.udpRecv(max, SLOT_SIZE);
      if (n <= 0) return;
      try {
        this.outside(n);
      } catch (e) {
        this.fault('outside', e);
      }
      if (n < max) return;
    }
    if (this.blocking !== null) {
      this.outBacklog = true;
      return;
    }
    if (!this.outScheduled) {
      this.outScheduled = true;
      setImmediate(() => {
        this.outScheduled = false;
        this.guard(this.onUdpReadable, 'udp');
      });
    }
  }

  /** Processes `n` datagrams received into the outside slots. Exposed for tests. */
  outside(n: number): void {
    const s = this.settings;
    const buf = this.outBuf;
    const addrs = this.outAddrs;
    const table = this.table;
    const debug = this.debug;
    let count = 0;
    let recvErrors = 0;
    for (let i = 0; i < n; i++) {
      const off = this.outOffsets[i]!;
      const len = this.outLengths[i]!;
      if (len < HEADER_LEN) {
        if (len > 1 && debug) this.log.debug({ len }, 'Error while parsing inbound packet');
        continue;
      }
      const b0 = buf[off]!;
      const type = b0 & 0x0f;
      // Refuse packets whose underlay source is inside our overlay (unsafe-route loops).
      if (addrs[i * ADDR_WORDS] === 4 && (addrs[i * ADDR_WORDS + 2]! & s.netMask) >>> 0 === s.netAddr)
        continue;
      if (type !== MessageType.Message || buf[off + 1] !== 0) {
        this.toControl(buf, off, len, addrs, i);
        continue;
      }
      const index = readU32(buf, off + 4);
      const found = this.indexToSlot.get(index);
      const counter = readU32(buf, off + 8) * 0x100000000 + readU32(buf, off + 12);
      if (found === undefined || !table.isReady(found)) {
        // The control path decides: a tunnel announced a moment ago, or a recv_error.
        this.toControl(buf, off, len, addrs, i);
        continue;
      }
      if (!table.windows[found]!.check(counter)) {
        if (this.sendRecvError(index, addrs, i)) recvErrors++;
        continue;
      }
      if (len < 2 * HEADER_LEN) continue;
      const m = count * 3;
      this.openMeta[m] = 2 * found + 1;
      this.openMeta[m + 1] = off;
      this.openMeta[m + 2] = len - HEADER_LEN;
      this.openIdx[count] = i;
      this.openSlot[count] = found;
      this.openCounter[count] = counter;
      count++;
    }
    let w = 0;
    let failed = 0;
    let dropRemote = 0;
    let dropLocal = 0;
    let dropRule = 0;
    if (count > 0) {
      this.open(count);
      const pkt = this.fwPkt;
      const fw = this.firewall;
      let lastRoamSlot = -1;
      for (let j = 0; j < count; j++) {
        if (this.openResults[j] !== 1) {
          failed++;
          continue;
        }
        const i = this.openIdx[j]!;
        const slot = this.openSlot[j]!;
        const poff = this.outOffsets[i]! + HEADER_LEN;
        const plen = this.outLengths[i]! - 2 * HEADER_LEN;
        if (parsePacket(buf, poff, plen, true, pkt) !== 0) {
          if (debug) this.log.debug({ len: plen }, 'Error while validating inbound packet');
          continue;
        }
        // Duplicate / out-of-window tallies are kept in the (shared) window itself.
        if (!table.windows[slot]!.update(this.openCounter[j]!)) continue;
        const reason = fw.drop(pkt, true, this.peers[slot], this.cacheIn);
        if (reason !== 0) {
          if (reason === DROP_REMOTE_IP) dropRemote++;
          else if (reason === DROP_LOCAL_IP) dropLocal++;
          else if (reason === DROP_NO_RULE) dropRule++;
          if (debug) this.log.debug({ reason }, 'dropping inbound packet');
          continue;
        }
        // Roam only after authentication (dataplane.md §4.5), once per slot per batch.
        if (slot !== lastRoamSlot && !table.addrEquals(slot, addrs, i)) {
          lastRoamSlot = slot;
          this.sink.roamed(slot, addrs, i);
        }
        table.markIn(slot);
        this.tunOffsets[w] = poff;
        this.tunLengths[w] = plen;
        w++;
      }
      if (w > 0) {
        this.tunWrite(w);
        this.wroteTun = true;
      }
    }
    const st = this.stats;
    const b = this.statBase;
    st[b + Stat.RxPackets] = (st[b + Stat.RxPackets]! + w) | 0;
    if (recvErrors) st[b + Stat.TxRecvError] = (st[b + Stat.TxRecvError]! + recvErrors) | 0;
    if (failed) {
      st[b + Stat.DecryptFailed] = (st[b + Stat.DecryptFailed]! + failed) | 0;
      this.log.error({ count: failed }, 'Failed to decrypt packet');
    }
    if (dropRemote) st[b + Stat.FwInRemoteIp] = (st[b + Stat.FwInRemoteIp]! + dropRemote) | 0;
    if (dropLocal) st[b + Stat.FwInLocalIp] = (st[b + Stat.FwInLocalIp]! + dropLocal) | 0;
    if (dropRule) st[b + Stat.FwInNoRule] = (st[b + Stat.FwInNoRule]! + dropRule) | 0;
  }

  /** recv_error back to the sender, per `listen.send_recv_error` (handshake.md §11). */
  sendRecvError(index: number, addrs: Uint32Array, i: number): boolean {
    const mode = this.settings.sendRecvError;
    if (mode === 'never') return false;
    if (mode === 'private' && !isPrivateWords(addrs, i)) return false;
    writeHeader(this.scratch, 0, MessageType.RecvError, 0, index, 0);
    try {
      this.udp.sendTo(this.scratch, 0, HEADER_LEN, addrs, i);
    } catch (e) {
      // A failed send (full buffer, unreachable) must not cost the rest of the batch.
      this.fault('recv_error', e);
      return false;
    }
    return true;
  }

  /** Reusable one-address scratch for callers building a single destination. */
  get oneAddr(): Uint32Array {
    return this.scratchAddr;
  }
}
