/**
 * Tunnel state every routine reads, in shared memory (design.md "The data path").
 *
 * One fixed-size record per tunnel slot in an Int32Array over a SharedArrayBuffer, plus one
 * replay window per slot and one block of statistics per routine. The main thread (control path)
 * is the only writer of everything except: the send counter (every thread, `Atomics.add`), the
 * replay windows (every thread, under the window's own lock), the in/out traffic flags and the
 * per-routine stats (each routine its own block).
 *
 * Keys are not here: each thread installs them into its own BatchAead slots (2·slot = send,
 * 2·slot+1 = receive) when the main thread announces a tunnel.
 */
import { ADDR_WORDS, type UdpAddr } from './addr.js';
import { ReplayWindow } from './internal/deps.js';

const REPLAY_WORDS = ReplayWindow.WORDS;

export const SLOT_WORDS = 16;
const F_STATE = 0;
const F_VPNIP = 1;
const F_LOCAL_INDEX = 2;
const F_REMOTE_INDEX = 3;
const F_COUNTER = 4;
const F_ADDR_SEQ = 5;
const F_ADDR = 6; // 6 words: family, port, w0..w3
const F_IN = 12;
const F_OUT = 13;
const F_CIPHER = 14;
const F_GEN = 15;

/** The slot's cipher word. */
const CIPHER_CODE: Readonly<Record<'aes' | 'chachapoly', number>> = { aes: 0, chachapoly: 1 };

export const STATE_FREE = 0;
export const STATE_READY = 1;

/**
 * The send counter is one 32-bit word advanced with `Atomics.add` (no BigInt per packet). A
 * tunnel is re-keyed by a new handshake long before it could wrap: at this value the data path
 * stops using the tunnel and asks the control path to close it (1.6.1 never rekeys; 2^32 packets
 * per tunnel is hours of line rate).
 */
export const COUNTER_LIMIT = 0xfff00000;

/** Per-routine statistics words (summed by the main thread into gauges). */
export const Stat = {
  FwInLocalIp: 0,
  FwInRemoteIp: 1,
  FwInNoRule: 2,
  FwOutLocalIp: 3,
  FwOutRemoteIp: 4,
  FwOutNoRule: 5,
  ReplayLost: 6,
  ReplayDuplicate: 7,
  ReplayOutOfWindow: 8,
  TxRecvError: 9,
  DecryptFailed: 10,
  DroppedUnroutable: 11,
  RxPackets: 12,
  TxPackets: 13,
  RxMessage: 14,
  TxMessage: 15,
  /** Exceptions caught in the data path's readable handlers (see Routine.fault). */
  HandlerErrors: 16,
} as const;
export const STAT_WORDS = 32;

export interface TunnelTableBuffers {
  readonly capacity: number;
  readonly routines: number;
  readonly table: SharedArrayBuffer;
  readonly replay: SharedArrayBuffer;
  readonly stats: SharedArrayBuffer;
}

export function allocateTunnelTable(capacity: number, routines: number): TunnelTableBuffers {
  return {
    capacity,
    routines,
    table: new SharedArrayBuffer(capacity * SLOT_WORDS * 4),
    replay: new SharedArrayBuffer(capacity * REPLAY_WORDS * 4),
    stats: new SharedArrayBuffer(Math.max(1, routines) * STAT_WORDS * 4),
  };
}

export class TunnelTable {
  readonly capacity: number;
  readonly t: Int32Array;
  readonly stats: Int32Array;
  readonly replayMem: Int32Array;
  /** One window view per slot, made once (no allocation per packet). */
  readonly windows: ReplayWindow[];

  constructor(readonly buffers: TunnelTableBuffers) {
    this.capacity = buffers.capacity;
    this.t = new Int32Array(buffers.table);
    this.stats = new Int32Array(buffers.stats);
    this.replayMem = new Int32Array(buffers.replay);
    this.windows = new Array(this.capacity);
    // Attach without zeroing: a worker's views share the main thread's memory.
    for (let s = 0; s < this.capacity; s++)
      this.windows[s] = new ReplayWindow(this.replayMem, s * REPLAY_WORDS, false);
  }

  isReady(slot: number): boolean {
    return Atomics.load(this.t, slot * SLOT_WORDS + F_STATE) === STATE_READY;
  }
  vpnIp(slot: number): number {
    return this.t[slot * SLOT_WORDS + F_VPNIP]! >>> 0;
  }
  localIndex(slot: number): number {
    return this.t[slot * SLOT_WORDS + F_LOCAL_INDEX]! >>> 0;
  }
  remoteIndex(slot: number): number {
    return this.t[slot * SLOT_WORDS + F_REMOTE_INDEX]! >>> 0;
  }
  generation(slot: number): number {
    return Atomics.load(this.t, slot * SLOT_WORDS + F_GEN);
  }

  /** The next send counter (1-based as Go's atomic add-then-use); >= COUNTER_LIMIT means exhausted. */
  nextCounter(slot: number): number {
    return (Atomics.add(this.t, slot * SLOT_WORDS + F_COUNTER, 1) >>> 0) + 1;
  }
  /** Reserve `n` consecutive counters; returns the first. */
  reserveCounters(slot: number, n: number): number {
    return (Atomics.add(this.t, slot * SLOT_WORDS + F_COUNTER, n) >>> 0) + 1;
  }
  setCounter(slot: number, value: number): void {
    Atomics.store(this.t, slot * SLOT_WORDS + F_COUNTER, value | 0);
  }
  counter(slot: number): number {
    return Atomics.load(this.t, slot * SLOT_WORDS + F_COUNTER) >>> 0;
  }

  markIn(slot: number): void {
    this.t[slot * SLOT_WORDS + F_IN] = 1;
  }
  markOut(slot: number): void {
    this.t[slot * SLOT_WORDS + F_OUT] = 1;
  }
  /** Reads and clears a traffic flag (control path). */
  takeIn(slot: number): boolean {
    return Atomics.exchange(this.t, slot * SLOT_WORDS + F_IN, 0) !== 0;
  }
  takeOut(slot: number): boolean {
    return Atomics.exchange(this.t, slot * SLOT_WORDS + F_OUT, 0) !== 0;
  }
  peekIn(slot: number): boolean {
    return Atomics.load(this.t, slot * SLOT_WORDS + F_IN) !== 0;
  }

  /**
   * Copies the tunnel's current remote into `out[6i..6i+6)` under a seqlock (the main thread may
   * be roaming it). Returns false when the tunnel has no remote.
   */
  readAddr(slot: number, out: Uint32Array, i: number): boolean {
    const t = this.t;
    const b = slot * SLOT_WORDS;
    const o = i * ADDR_WORDS;
    for (let tries = 0; tries < 64; tries++) {
      const s1 = Atomics.load(t, b + F_ADDR_SEQ);
      if (s1 & 1) continue;
      out[o] = t[b + F_ADDR]!;
      out[o + 1] = t[b + F_ADDR + 1]!;
      out[o + 2] = t[b + F_ADDR + 2]!;
      out[o + 3] = t[b + F_ADDR + 3]!;
      out[o + 4] = t[b + F_ADDR + 4]!;
      out[o + 5] = t[b + F_ADDR + 5]!;
      if (Atomics.load(t, b + F_ADDR_SEQ) === s1) return out[o] !== 0;
    }
    return false;
  }

  /** Control path: same comparison as `wordsEqualAddr` against the slot's remote. */
  addrEquals(slot: number, words: Uint32Array, i: number): boolean {
    const t = this.t;
    const b = slot * SLOT_WORDS + F_ADDR;
    const o = i * ADDR_WORDS;
    const fam = t[b]!;
    if (fam !== words[o] || t[b + 1] !== words[o + 1] || t[b + 2]! >>> 0 !== words[o + 2]) return false;
    return (
      fam === 4 ||
      (t[b + 3]! >>> 0 === words[o + 3] &&
        t[b + 4]! >>> 0 === words[o + 4] &&
        t[b + 5]! >>> 0 === words[o + 5])
    );
  }

  // ---- writers: main thread only ----

  writeAddr(slot: number, a: UdpAddr | null): void {
    const t = this.t;
    const b = slot * SLOT_WORDS;
    Atomics.add(t, b + F_ADDR_SEQ, 1);
    if (a) {
      t[b + F_ADDR] = a.family;
      t[b + F_ADDR + 1] = a.port;
      t[b + F_ADDR + 2] = a.w[0] | 0;
      t[b + F_ADDR + 3] = a.w[1] | 0;
      t[b + F_ADDR + 4] = a.w[2] | 0;
      t[b + F_ADDR + 5] = a.w[3] | 0;
    } else {
      t[b + F_ADDR] = 0;
    }
    Atomics.add(t, b + F_ADDR_SEQ, 1);
  }

  /** Fills a slot for a completed handshake. The caller sets STATE_READY with `activate`. */
  init(
    slot: number,
    vpnIp: number,
    localIndex: number,
    remoteIndex: number,
    cipher: number,
    counter: number,
  ): void {
    const t = this.t;
    const b = slot * SLOT_WORDS;
    Atomics.store(t, b + F_STATE, STATE_FREE);
    t[b + F_VPNIP] = vpnIp | 0;
    t[b + F_LOCAL_INDEX] = localIndex | 0;
    t[b + F_REMOTE_INDEX] = remoteIndex | 0;
    Atomics.store(t, b + F_COUNTER, counter | 0);
    t[b + F_IN] = 0;
    t[b + F_OUT] = 0;
    t[b + F_CIPHER] = cipher;
    Atomics.add(t, b + F_GEN, 1);
  }

  /**
   * Control path: a slot as a completed handshake leaves it (send counter 2, so the first data
   * packet carries 3; window with 0, 1, 2 seen; the remote). The caller installs the keys in the
   * routines, then sets STATE_READY with `activate`.
   */
  establish(
    slot: number,
    vpnIp: number,
    localIndex: number,
    remoteIndex: number,
    cipher: 'aes' | 'chachapoly',
    remote: UdpAddr | null,
  ): void {
    this.init(slot, vpnIp, localIndex, remoteIndex, CIPHER_CODE[cipher], 2);
    this.resetWindow(slot);
    this.writeAddr(slot, remote);
  }

  /** Control path: the window state after a handshake (0, 1, 2 seen). */
  resetWindow(slot: number): ReplayWindow {
    const w = ReplayWindow.initAfterHandshake(this.replayMem, slot * REPLAY_WORDS);
    this.windows[slot] = w;
    return w;
  }

  activate(slot: number): void {
    Atomics.store(this.t, slot * SLOT_WORDS + F_STATE, STATE_READY);
  }

  deactivate(slot: number): void {
    Atomics.store(this.t, slot * SLOT_WORDS + F_STATE, STATE_FREE);
  }

  /** Sum of one statistic over all routines. */
  stat(which: number): number {
    let sum = 0;
    for (let r = 0; r < this.buffers.routines; r++) sum += this.stats[r * STAT_WORDS + which]! >>> 0;
    return sum;
  }
}
