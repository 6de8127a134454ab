/**
 * The receive-side replay window of handshake.md §8 (Go: bits.go), 1024 counters wide.
 *
 * State lives in an `Int32Array` region so a window can sit in a `SharedArrayBuffer` and be used
 * by every receive thread of a tunnel. One sequence word is both the writers' spin lock and the
 * readers' seqlock: a writer makes it odd with a compare-and-swap and even again when done; `check`
 * is lock-free and retries if the word was odd or moved while it read. Only that word is accessed
 * with `Atomics` on the per-packet path: each `Atomics` call is a builtin call that V8 does not
 * inline (~10 ns against ~2 for a plain typed-array access), and the data words need none. Inside
 * the lock they are race-free. A reader's racy plain reads are whole Int32 values (aligned
 * integer elements are tear-free), stay between its two sequence loads (the memory model forbids
 * moving unordered accesses across seq-cst ones), and are discarded when the word moved.
 * Counters are JS numbers (exact below 2^53). No allocation per call.
 *
 * This module deliberately has no runtime imports (tests load it into worker threads as is).
 */

const L = 1024;
const TWO_32 = 4294967296;

// Region layout (Int32 words from `base`). Word 0 is unused (it was a separate lock word).
const W_SEQ = 1;
const W_CUR_LO = 2;
const W_CUR_HI = 3;
const W_FIRST_SEEN = 4;
const W_LOST_LO = 5;
const W_LOST_HI = 6;
const W_DUP = 7;
const W_OOW = 8;
const W_BITS = 16;
const BIT_WORDS = L / 32;

/** Per-batch tallies the caller drains with `takeCounters` (plain numbers, reused object). */
export interface ReplayCounters {
  lost: number;
  duplicate: number;
  outOfWindow: number;
}

export class ReplayWindow {
  /** Int32 words one window occupies. */
  static readonly WORDS = W_BITS + BIT_WORDS;
  /** Window length in counters. */
  static readonly LENGTH = L;

  private readonly a: Int32Array;
  private readonly b: number;

  /**
   * Uses `words[base .. base + WORDS)`. `fresh` (default true) zeroes that region, lock word
   * included: only for memory no other thread uses yet. Pass false to attach to a window another
   * thread initialised (new SharedArrayBuffer memory is an empty window already).
   */
  constructor(words: Int32Array = new Int32Array(ReplayWindow.WORDS), base = 0, fresh = true) {
    if (!Number.isInteger(base) || base < 0 || base + ReplayWindow.WORDS > words.length) {
      throw new RangeError(
        `ReplayWindow needs ${ReplayWindow.WORDS} words at ${base}, region has ${words.length}`,
      );
    }
    this.a = words;
    this.b = base;
    if (fresh) words.fill(0, base, base + ReplayWindow.WORDS);
  }

  /**
   * A window in the state Nebula has after a completed handshake (counters 0, 1, 2 seen) at
   * `words[base..]`. Safe on a region other threads are attached to (it resets under the lock),
   * so a tunnel slot can be reused; the region's lock word must not be left held by a dead thread.
   */
  static initAfterHandshake(words?: Int32Array, base = 0): ReplayWindow {
    const w = words === undefined ? new ReplayWindow() : new ReplayWindow(words, base, false);
    w.reset(true);
    return w;
  }

  /**
   * Clears the window under the lock (tallies included), then, when `afterHandshake`, marks
   * counters 0, 1 and 2 as Nebula does during a handshake.
   */
  reset(afterHandshake = true): void {
    const a = this.a;
    const b = this.b;
    this.lock();
    a.fill(0, b + W_CUR_LO, b + ReplayWindow.WORDS);
    if (afterHandshake) {
      // Same result as update(0), update(1), update(2) on an empty window.
      a[b + W_FIRST_SEEN] = 1;
      a[b + W_BITS] = 0b111;
      a[b + W_CUR_LO] = 2;
    }
    this.unlock();
  }

  /** Marks counters 0, 1 and 2 through `update` (what both sides do during a handshake). */
  markHandshake(): void {
    this.update(0);
    this.update(1);
    this.update(2);
  }

  /** Highest accepted counter. */
  get current(): number {
    const a = this.a;
    const b = this.b;
    for (;;) {
      const s = Atomics.load(a, b + W_SEQ);
      const v = (a[b + W_CUR_HI]! >>> 0) * TWO_32 + (a[b + W_CUR_LO]! >>> 0);
      if ((s & 1) === 0 && Atomics.load(a, b + W_SEQ) === s) return v;
    }
  }

  /** Cumulative tallies since creation or the last `takeCounters`. */
  get lost(): number {
    return (
      (Atomics.load(this.a, this.b + W_LOST_HI) >>> 0) * TWO_32 +
      (Atomics.load(this.a, this.b + W_LOST_LO) >>> 0)
    );
  }
  get duplicate(): number {
    return Atomics.load(this.a, this.b + W_DUP) >>> 0;
  }
  get outOfWindow(): number {
    return Atomics.load(this.a, this.b + W_OOW) >>> 0;
  }

  /** Adds the tallies into `out` and resets them to zero (under the lock). */
  takeCounters(out: ReplayCounters): ReplayCounters {
    const a = this.a;
    const b = this.b;
    this.lock();
    out.lost += (a[b + W_LOST_HI]! >>> 0) * TWO_32 + (a[b + W_LOST_LO]! >>> 0);
    out.duplicate += a[b + W_DUP]! >>> 0;
    out.outOfWindow += a[b + W_OOW]! >>> 0;
    a[b + W_LOST_LO] = 0;
    a[b + W_LOST_HI] = 0;
    a[b + W_DUP] = 0;
    a[b + W_OOW] = 0;
    this.unlock();
    return out;
  }

  /** Pre-decryption test; changes nothing. Lock-free. */
  check(i: number): boolean {
    const a = this.a;
    const b = this.b;
    for (;;) {
      const s = Atomics.load(a, b + W_SEQ);
      if ((s & 1) !== 0) continue;
      const r = this.checkRaw(i);
      if (Atomics.load(a, b + W_SEQ) === s) return r;
    }
  }

  private checkRaw(i: number): boolean {
    const a = this.a;
    const b = this.b;
    const current = (a[b + W_CUR_HI]! >>> 0) * TWO_32 + (a[b + W_CUR_LO]! >>> 0);
    if (i > current) return true;
    if (i === 0 && a[b + W_FIRST_SEEN] === 0 && current < L) return true;
    if ((current >= L && i > current - L) || i < L) return !this.bit(i);
    return false;
  }

  /** Post-decryption record; returns whether the packet is accepted. */
  update(i: number): boolean {
    const a = this.a;
    const b = this.b;
    this.lock();
    const current = (a[b + W_CUR_HI]! >>> 0) * TWO_32 + (a[b + W_CUR_LO]! >>> 0);
    let ok = true;
    if (i === current + 1) {
      if (i > L && !this.bit(i)) this.addLost(1);
      this.setBit(i);
      this.setCurrent(i);
    } else if (i > current && i < current + L) {
      for (let n = current + 1; n < i; n++) this.clearBit(n);
      this.setBit(i);
      this.setCurrent(i);
    } else if (i >= current + L) {
      let lost = Math.max(0, i - current - L);
      if (current === 0) lost++;
      this.addLost(lost);
      a.fill(0, b + W_BITS, b + W_BITS + BIT_WORDS);
      this.setBit(i);
      this.setCurrent(i);
    } else if (i === 0 && a[b + W_FIRST_SEEN] === 0 && current < L) {
      a[b + W_FIRST_SEEN] = 1;
      this.setBit(0);
    } else if ((current >= L && i > current - L) || (current < L && i < L)) {
      if (i === current || this.bit(i)) {
        a[b + W_DUP] = (a[b + W_DUP]! + 1) | 0;
        ok = false;
      } else this.setBit(i);
    } else {
      a[b + W_OOW] = (a[b + W_OOW]! + 1) | 0;
      ok = false;
    }
    this.unlock();
    return ok;
  }

  private bit(i: number): boolean {
    const s = i % L;
    return (this.a[this.b + W_BITS + (s >>> 5)]! & (1 << (s & 31))) !== 0;
  }

  private setBit(i: number): void {
    const s = i % L;
    this.a[this.b + W_BITS + (s >>> 5)]! |= 1 << (s & 31);
  }

  private clearBit(i: number): void {
    const s = i % L;
    this.a[this.b + W_BITS + (s >>> 5)]! &= ~(1 << (s & 31));
  }

  private setCurrent(i: number): void {
    this.a[this.b + W_CUR_LO] = i >>> 0;
    this.a[this.b + W_CUR_HI] = Math.floor(i / TWO_32);
  }

  private addLost(n: number): void {
    if (n === 0) return;
    const a = this.a;
    const b = this.b;
    const total = (a[b + W_LOST_HI]! >>> 0) * TWO_32 + (a[b + W_LOST_LO]! >>> 0) + n;
    a[b + W_LOST_LO] = total >>> 0;
    a[b + W_LOST_HI] = Math.floor(total / TWO_32);
  }

  /** Makes the sequence word odd (held). Uncontended: one compare-and-swap. */
  private lock(): void {
    const a = this.a;
    const idx = this.b + W_SEQ;
    // A plain read only guesses the even value to swap from; the swap itself decides. Critical
    // sections are a few dozen instructions: spinning beats Atomics.wait (not allowed on the main
    // thread anyway).
    let even = a[idx]! & ~1;
    for (;;) {
      const seen = Atomics.compareExchange(a, idx, even, (even + 1) | 0);
      if (seen === even) return;
      even = seen & ~1;
    }
  }

  /** Makes the sequence word even again, one past where `lock` found it. */
  private unlock(): void {
    Atomics.add(this.a, this.b + W_SEQ, 1);
  }
}
