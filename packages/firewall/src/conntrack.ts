/**
 * Conntrack shared by every routine (worker thread): a fixed-size hash table in a
 * SharedArrayBuffer. Buckets of 8 slots, one spin lock per bucket (Atomics.compareExchange); a key
 * lives only in its home bucket, so there are no tombstones and no cross-bucket probing. Expiry is a
 * coarse shared clock (one Int32 advanced by `ConntrackTicker`), so packets never read the OS clock.
 * Expired slots are freed lazily when their bucket is touched and by the ticker's bounded sweep; a
 * full bucket evicts its soonest-expiring entry (counted).
 */
import { ConntrackError } from './errors.js';
import { type FirewallPacket, tcpAck, tcpFlags, tcpSeq } from './packet.js';
import type { FirewallPeer } from './peer.js';

const MAGIC = 0x4e46_4354; // "NFCT"
// Header words.
const H_MAGIC = 0;
const H_BUCKETS = 1;
const H_NOW = 2;
const H_CACHE_TICK = 3;
const H_COUNT = 4;
const H_EVICTED = 5;
const H_SWEEP = 6;
const H_UNIT_MS = 7;
const H_EXPIRED = 8;
const H_RTT_COUNT = 9;
const H_RTT_NEXT = 10;
const HEADER_WORDS = 16;
/** TCP RTT samples kept for the `network.tcp.rtt` histogram (µs, newest overwrite oldest). */
export const RTT_SAMPLES = 1024;

export const SLOTS_PER_BUCKET = 8;
const SLOT_WORDS = 8;
const BUCKET_WORDS = SLOTS_PER_BUCKET * SLOT_WORDS;
// Slot words: meta = used(1) | incoming(2) | rulesVersion << 16; key = 4 words; expiry; the TCP
// sequence awaiting its ACK (0 = none, as 1.6.1) and when it was sent (µs, mod 2^32).
const S_META = 0;
const S_LOCAL = 1;
const S_REMOTE = 2;
const S_PORTS = 3;
const S_PROTO = 4;
const S_EXPIRES = 5;
const S_RTT_SEQ = 6;
const S_RTT_SENT = 7;

const TCP_FIN = 0x01;
const TCP_ACK = 0x10;
const PROTO_TCP = 6;

const SPINS_BEFORE_WAIT = 128;
// Routine-cache probe window (linear probing).
const CACHE_PROBES = 8;

/** Re-checks an entry created under older rules (the Firewall implements it). */
export interface ConntrackRevalidator {
  revalidate(p: FirewallPacket, incoming: boolean, peer: FirewallPeer): boolean;
}

export interface ConntrackOptions {
  /** Total slots, rounded up to a power of two ≥ 8 (default 65536 ≈ 2 MiB). */
  readonly capacity?: number;
  /** Clock unit in ms (default 100). */
  readonly clockUnitMs?: number;
}

/** `network.tcp.rtt` (firewall.md §4): how many were measured, and the most recent samples. */
export interface TcpRttSamples {
  readonly count: number;
  /** Up to RTT_SAMPLES durations in ns, in no particular order. */
  readonly samplesNs: number[];
}

/**
 * Microseconds (mod 2^32) on a clock shared by the routines' threads. Each thread's
 * timeOrigin + now() maps its monotonic clock to the same wall-clock base.
 */
function nowMicros(): number {
  return (Math.floor((performance.timeOrigin + performance.now()) * 1000) % 4294967296) | 0;
}

export interface ConntrackStats {
  readonly count: number;
  readonly evicted: number;
  readonly expired: number;
  readonly capacity: number;
}

/** Mixes the 4 key words into a bucket number (murmur3 finaliser style, no allocation). */
function hashKey(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ c, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ d, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export class Conntrack {
  readonly buffer: SharedArrayBuffer;
  private readonly header: Int32Array;
  private readonly locks: Int32Array;
  private readonly slots: Int32Array;
  private readonly rtt: Int32Array;
  private readonly bucketMask: number;
  readonly clockUnitMs: number;

  private constructor(sab: SharedArrayBuffer) {
    const header = new Int32Array(sab, 0, HEADER_WORDS);
    if (header[H_MAGIC] !== MAGIC)
      throw new ConntrackError('ERR_CONNTRACK_BAD_BUFFER', 'not a conntrack buffer');
    const buckets = header[H_BUCKETS]!;
    if (sab.byteLength !== Conntrack.byteLengthFor(buckets)) {
      throw new ConntrackError('ERR_CONNTRACK_BAD_BUFFER', 'conntrack buffer has the wrong size');
    }
    this.buffer = sab;
    this.header = header;
    this.locks = new Int32Array(sab, HEADER_WORDS * 4, buckets);
    this.slots = new Int32Array(sab, (HEADER_WORDS + buckets) * 4, buckets * BUCKET_WORDS);
    this.rtt = new Int32Array(sab, (HEADER_WORDS + buckets + buckets * BUCKET_WORDS) * 4, RTT_SAMPLES);
    this.bucketMask = buckets - 1;
    this.clockUnitMs = header[H_UNIT_MS]!;
  }

  private static byteLengthFor(buckets: number): number {
    return (HEADER_WORDS + buckets + buckets * BUCKET_WORDS + RTT_SAMPLES) * 4;
  }

  static create(opts: ConntrackOptions = {}): Conntrack {
    const capacity = opts.capacity ?? 65536;
    const unit = opts.clockUnitMs ?? 100;
    if (!(capacity >= 1 && capacity <= 1 << 26) || !(unit >= 1 && Number.isInteger(unit))) {
      throw new ConntrackError(
        'ERR_CONNTRACK_BAD_OPTION',
        'capacity must be 1..2^26 and clockUnitMs a positive integer',
      );
    }
    let buckets = 1;
    while (buckets * SLOTS_PER_BUCKET < capacity) buckets <<= 1;
    const sab = new SharedArrayBuffer(Conntrack.byteLengthFor(buckets));
    const h = new Int32Array(sab, 0, HEADER_WORDS);
    h[H_MAGIC] = MAGIC;
    h[H_BUCKETS] = buckets;
    h[H_UNIT_MS] = unit;
    h[H_NOW] = 1;
    return new Conntrack(sab);
  }

  /** Attaches to a table created elsewhere (e.g. `workerData.conntrack`). */
  static fromShared(sab: SharedArrayBuffer): Conntrack {
    return new Conntrack(sab);
  }

  get capacity(): number {
    return (this.bucketMask + 1) * SLOTS_PER_BUCKET;
  }

  /** Current coarse time in clock units. */
  now(): number {
    return Atomics.load(this.header, H_NOW);
  }

  /** Sets the coarse clock (the ticker does this; tests inject time here). */
  setNow(units: number): void {
    Atomics.store(this.header, H_NOW, units | 0);
  }

  /** The routine-cache tick the caches compare against. */
  cacheTick(): number {
    return Atomics.load(this.header, H_CACHE_TICK);
  }

  bumpCacheTick(): void {
    Atomics.add(this.header, H_CACHE_TICK, 1);
  }

  /** Timeout in ms → clock units (at least one unit unless 0). */
  unitsFor(ms: number): number {
    return ms <= 0 ? 0 : Math.max(1, Math.ceil(ms / this.clockUnitMs));
  }

  stats(): ConntrackStats {
    return {
      count: Atomics.load(this.header, H_COUNT),
      evicted: Atomics.load(this.header, H_EVICTED),
      expired: Atomics.load(this.header, H_EXPIRED),
      capacity: this.capacity,
    };
  }

  private bucketOf(p: FirewallPacket): number {
    const ports = (p.localPort << 16) | p.remotePort;
    const proto = p.protocol | (p.fragment ? 256 : 0);
    return hashKey(p.localIp | 0, p.remoteIp | 0, ports, proto) & this.bucketMask;
  }

  private lock(b: number): void {
    const locks = this.locks;
    let spins = 0;
    while (Atomics.compareExchange(locks, b, 0, 1) !== 0) {
      // A holder descheduled on a busy machine: stop burning the CPU it needs.
      if (++spins > SPINS_BEFORE_WAIT) Atomics.wait(locks, b, 1, 0.05);
    }
  }

  private unlock(b: number): void {
    Atomics.store(this.locks, b, 0);
  }

  /** The TCP RTT samples recorded so far (read by the metrics exporter). */
  tcpRtt(): TcpRttSamples {
    const count = Atomics.load(this.header, H_RTT_COUNT) >>> 0;
    const n = Math.min(count, RTT_SAMPLES);
    const samplesNs: number[] = new Array(n);
    for (let i = 0; i < n; i++) samplesNs[i] = (Atomics.load(this.rtt, i) >>> 0) * 1000;
    return { count, samplesNs };
  }

  /**
   * Looks the tuple up. On a live hit: if the entry's rules version differs, re-validates it
   * (deleting it and reporting a miss when the current rules refuse it), then refreshes its
   * expiry to now + `timeoutUnits`, and for TCP starts or completes an RTT measurement.
   * Returns true on hit.
   */
  lookup(
    p: FirewallPacket,
    timeoutUnits: number,
    rulesVersion: number,
    reval: ConntrackRevalidator,
    peer: FirewallPeer,
    incoming: boolean,
  ): boolean {
    const b = this.bucketOf(p);
    const s = this.slots;
    const k0 = p.localIp | 0;
    const k1 = p.remoteIp | 0;
    const k2 = (p.localPort << 16) | p.remotePort;
    const k3 = p.protocol | (p.fragment ? 256 : 0);
    this.lock(b);
    const now = Atomics.load(this.header, H_NOW);
    const end = (b + 1) * BUCKET_WORDS;
    let hit = false;
    for (let i = b * BUCKET_WORDS; i < end; i += SLOT_WORDS) {
      const meta = s[i + S_META]!;
      if ((meta & 1) === 0) continue;
      if (s[i + S_LOCAL] !== k0 || s[i + S_REMOTE] !== k1 || s[i + S_PORTS] !== k2 || s[i + S_PROTO] !== k3)
        continue;
      if (((s[i + S_EXPIRES]! - now) | 0) <= 0) {
        this.free(i);
        Atomics.add(this.header, H_EXPIRED, 1);
        break;
      }
      if (meta >>> 16 !== rulesVersion) {
        if (!reval.revalidate(p, (meta & 2) !== 0, peer)) {
          this.free(i);
          break;
        }
        s[i + S_META] = (meta & 0xffff) | (rulesVersion << 16);
      }
      s[i + S_EXPIRES] = (now + timeoutUnits) | 0;
      if (p.protocol === PROTO_TCP && p.tcpOff >= 0) {
        if (incoming) this.completeRtt(i, p);
        else this.startRtt(i, p);
      }
      hit = true;
      break;
    }
    this.unlock(b);
    return hit;
  }

  /** Adds or replaces the entry for the tuple (1.6.1 `addConn`). */
  insert(p: FirewallPacket, incoming: boolean, rulesVersion: number, timeoutUnits: number): void {
    const b = this.bucketOf(p);
    const s = this.slots;
    const k0 = p.localIp | 0;
    const k1 = p.remoteIp | 0;
    const k2 = (p.localPort << 16) | p.remotePort;
    const k3 = p.protocol | (p.fragment ? 256 : 0);
    this.lock(b);
    const now = Atomics.load(this.header, H_NOW);
    const start = b * BUCKET_WORDS;
    const end = start + BUCKET_WORDS;
    let target = -1;
    let fresh = true;
    let soonest = -1;
    let soonestLeft = 0;
    for (let i = start; i < end; i += SLOT_WORDS) {
      if ((s[i + S_META]! & 1) === 0) {
        if (target < 0) target = i;
        continue;
      }
      const left = (s[i + S_EXPIRES]! - now) | 0;
      if (s[i + S_LOCAL] === k0 && s[i + S_REMOTE] === k1 && s[i + S_PORTS] === k2 && s[i + S_PROTO] === k3) {
        if (left <= 0) Atomics.add(this.header, H_EXPIRED, 1);
        else fresh = false;
        if (left <= 0) this.free(i);
        target = i;
        break;
      }
      if (left <= 0) {
        this.free(i);
        Atomics.add(this.header, H_EXPIRED, 1);
        if (target < 0) target = i;
        continue;
      }
      if (soonest < 0 || left < soonestLeft) {
        soonest = i;
        soonestLeft = left;
      }
    }
    if (target < 0) {
      this.free(soonest);
      Atomics.add(this.header, H_EVICTED, 1);
      target = soonest;
    }
    if (fresh) Atomics.add(this.header, H_COUNT, 1);
    s[target + S_LOCAL] = k0;
    s[target + S_REMOTE] = k1;
    s[target + S_PORTS] = k2;
    s[target + S_PROTO] = k3;
    s[target + S_EXPIRES] = (now + timeoutUnits) | 0;
    s[target + S_RTT_SEQ] = 0;
    if (!incoming && p.protocol === PROTO_TCP && p.tcpOff >= 0) this.startRtt(target, p);
    s[target + S_META] = 1 | (incoming ? 2 : 0) | (rulesVersion << 16);
    this.unlock(b);
  }

  /** Outbound TCP (not FIN) on an entry with nothing pending: remember its sequence. Lock held. */
  private startRtt(i: number, p: FirewallPacket): void {
    const s = this.slots;
    if (s[i + S_RTT_SEQ] !== 0 || (tcpFlags(p) & TCP_FIN) !== 0) return;
    s[i + S_RTT_SEQ] = tcpSeq(p);
    s[i + S_RTT_SENT] = nowMicros();
  }

  /** Inbound TCP ACK past the pending sequence: one RTT sample. Lock held. */
  private completeRtt(i: number, p: FirewallPacket): void {
    const s = this.slots;
    const seq = s[i + S_RTT_SEQ]!;
    if (seq === 0 || (tcpFlags(p) & TCP_ACK) === 0) return;
    // Serial-number compare, as 1.6.1: an ack at or before the sequence acknowledges nothing new.
    if (((seq - tcpAck(p)) | 0) >= 0) return;
    s[i + S_RTT_SEQ] = 0;
    const us = (nowMicros() - s[i + S_RTT_SENT]!) | 0;
    if (us < 0) return;
    const k = Atomics.add(this.header, H_RTT_NEXT, 1) & (RTT_SAMPLES - 1);
    Atomics.store(this.rtt, k, us);
    Atomics.add(this.header, H_RTT_COUNT, 1);
  }

  /** Caller holds the bucket lock; slot must be in use. */
  private free(i: number): void {
    this.slots[i + S_META] = 0;
    Atomics.sub(this.header, H_COUNT, 1);
  }

  /** Frees expired entries in up to `buckets` buckets, continuing where the last sweep stopped. */
  sweep(buckets: number): number {
    const s = this.slots;
    const total = this.bucketMask + 1;
    let freed = 0;
    const n = Math.min(buckets, total);
    for (let k = 0; k < n; k++) {
      const b = Atomics.add(this.header, H_SWEEP, 1) & this.bucketMask;
      this.lock(b);
      const now = Atomics.load(this.header, H_NOW);
      for (let i = b * BUCKET_WORDS, end = i + BUCKET_WORDS; i < end; i += SLOT_WORDS) {
        if ((s[i + S_META]! & 1) !== 0 && ((s[i + S_EXPIRES]! - now) | 0) <= 0) {
          this.free(i);
          freed++;
        }
      }
      this.unlock(b);
    }
    if (freed > 0) Atomics.add(this.header, H_EXPIRED, freed);
    return freed;
  }

  /** Empties the table (rules version wrapped to 0). Not atomic with concurrent inserts. */
  clear(): void {
    const total = this.bucketMask + 1;
    for (let b = 0; b < total; b++) {
      this.lock(b);
      for (let i = b * BUCKET_WORDS, end = i + BUCKET_WORDS; i < end; i += SLOT_WORDS) {
        if ((this.slots[i + S_META]! & 1) !== 0) this.free(i);
      }
      this.unlock(b);
    }
  }

  /** Slots in use, counted by walking the table under each bucket lock (checks `stats().count`). */
  scanCount(): number {
    let used = 0;
    for (let b = 0; b <= this.bucketMask; b++) {
      this.lock(b);
      for (let i = b * BUCKET_WORDS, end = i + BUCKET_WORDS; i < end; i += SLOT_WORDS) {
        if ((this.slots[i + S_META]! & 1) !== 0) used++;
      }
      this.unlock(b);
    }
    return used;
  }

  /** Whether a live entry exists (no refresh, no revalidation); for tests and tools. */
  has(p: FirewallPacket): boolean {
    const b = this.bucketOf(p);
    const s = this.slots;
    const k2 = (p.localPort << 16) | p.remotePort;
    const k3 = p.protocol | (p.fragment ? 256 : 0);
    this.lock(b);
    const now = Atomics.load(this.header, H_NOW);
    let found = false;
    for (let i = b * BUCKET_WORDS, end = i + BUCKET_WORDS; i < end; i += SLOT_WORDS) {
      if (
        (s[i + S_META]! & 1) !== 0 &&
        s[i + S_LOCAL] === (p.localIp | 0) &&
        s[i + S_REMOTE] === (p.remoteIp | 0) &&
        s[i + S_PORTS] === k2 &&
        s[i + S_PROTO] === k3 &&
        ((s[i + S_EXPIRES]! - now) | 0) > 0
      ) {
        found = true;
        break;
      }
    }
    this.unlock(b);
    return found;
  }
}

/**
 * Routine-local read cache (seed a): tuples recently confirmed in the shared table. A private
 * open-addressing table (generation-stamped, so a flush is O(1)); flushed whenever the shared cache
 * tick moved since this routine last looked. It doubles when half full (rare, amortised) up to
 * `maxCapacity`; past that a full probe window overwrites, so it stays bounded.
 */
export class ConntrackCache {
  private readonly tickSource: Conntrack;
  private readonly maxCapacity: number;
  private table: Int32Array;
  private mask: number;
  private generation = 1;
  private seenTick: number;
  private size = 0;

  /** The cache for a routine, or null when `routine_cache_timeout` (effective value) is 0 = disabled. */
  static forTimeout(conntrack: Conntrack, cacheTimeoutMs: number): ConntrackCache | null {
    return cacheTimeoutMs > 0 ? new ConntrackCache(conntrack) : null;
  }

  constructor(conntrack: Conntrack, initialCapacity = 1024, maxCapacity = 1 << 16) {
    let n = 16;
    while (n < initialCapacity) n <<= 1;
    this.tickSource = conntrack;
    this.maxCapacity = Math.max(n, maxCapacity);
    this.table = new Int32Array(n * 5);
    this.mask = n - 1;
    this.seenTick = conntrack.cacheTick();
  }

  /** Entries added since the last flush (including overwritten ones). */
  get count(): number {
    return this.size;
  }

  get capacity(): number {
    return this.mask + 1;
  }

  private refresh(): void {
    const tick = this.tickSource.cacheTick();
    if (tick !== this.seenTick) {
      this.seenTick = tick;
      if (this.size > 0) {
        this.size = 0;
        if (++this.generation === 0x7fffffff) {
          this.table.fill(0);
          this.generation = 1;
        }
      }
    }
  }

  has(p: FirewallPacket): boolean {
    this.refresh();
    if (this.size === 0) return false;
    const k0 = p.localIp | 0;
    const k1 = p.remoteIp | 0;
    const k2 = (p.localPort << 16) | p.remotePort;
    const k3 = p.protocol | (p.fragment ? 256 : 0);
    const t = this.table;
    const g = this.generation;
    let i = hashKey(k0, k1, k2, k3) & this.mask;
    for (let probe = 0; probe < CACHE_PROBES; probe++) {
      const o = i * 5;
      if (t[o] !== g) return false;
      if (t[o + 1] === k0 && t[o + 2] === k1 && t[o + 3] === k2 && t[o + 4] === k3) return true;
      i = (i + 1) & this.mask;
    }
    return false;
  }

  add(p: FirewallPacket): void {
    this.refresh();
    const k0 = p.localIp | 0;
    const k1 = p.remoteIp | 0;
    const k2 = (p.localPort << 16) | p.remotePort;
    const k3 = p.protocol | (p.fragment ? 256 : 0);
    if (this.size * 2 >= this.mask + 1 && this.mask + 1 < this.maxCapacity) this.grow();
    // A full probe window grows the table while it may; at maxCapacity the home slot is overwritten.
    while (!this.put(k0, k1, k2, k3, false)) {
      if (this.mask + 1 >= this.maxCapacity) {
        this.put(k0, k1, k2, k3, true);
        return;
      }
      this.grow();
    }
  }

  private put(k0: number, k1: number, k2: number, k3: number, overwrite: boolean): boolean {
    const t = this.table;
    const g = this.generation;
    const home = hashKey(k0, k1, k2, k3) & this.mask;
    let i = home;
    let o = -1;
    for (let probe = 0; probe < CACHE_PROBES; probe++) {
      const c = i * 5;
      if (t[c] !== g) {
        o = c;
        break;
      }
      if (t[c + 1] === k0 && t[c + 2] === k1 && t[c + 3] === k2 && t[c + 4] === k3) return true;
      i = (i + 1) & this.mask;
    }
    if (o < 0) {
      if (!overwrite) return false;
      o = home * 5;
    }
    t[o] = g;
    t[o + 1] = k0;
    t[o + 2] = k1;
    t[o + 3] = k2;
    t[o + 4] = k3;
    this.size++;
    return true;
  }

  private grow(): void {
    const old = this.table;
    const g = this.generation;
    let n = (this.mask + 1) * 2;
    for (;;) {
      // Rehash into a bigger table; if a probe window overflows, try the next size (at the cap, overwrite).
      const atCap = n >= this.maxCapacity;
      this.table = new Int32Array(n * 5);
      this.mask = n - 1;
      this.size = 0;
      let fits = true;
      for (let o = 0; o < old.length && fits; o += 5) {
        if (old[o] === g) fits = this.put(old[o + 1]!, old[o + 2]!, old[o + 3]!, old[o + 4]!, atCap);
      }
      if (fits) return;
      n *= 2;
    }
  }
}

export interface ConntrackTickerOptions {
  /** `firewall.conntrack.routine_cache_timeout` in ms (effective value); 0 = caches never flushed by time. */
  readonly cacheTimeoutMs: number;
  /** Buckets swept for expired entries per clock tick (default: all buckets every ~10 s). */
  readonly sweepBucketsPerTick?: number;
  /** Injected clock (ms), default `performance.now`. */
  readonly clock?: () => number;
}

/**
 * Main-thread timers: advance the shared coarse clock every clock unit (plus a bounded expiry
 * sweep), and the cache tick every `cacheTimeoutMs`. Nothing per packet.
 */
export class ConntrackTicker {
  private readonly conntrack: Conntrack;
  private readonly opts: ConntrackTickerOptions;
  private readonly clock: () => number;
  private readonly origin: number;
  private readonly baseUnits: number;
  private clockTimer: NodeJS.Timeout | null = null;
  private cacheTimer: NodeJS.Timeout | null = null;

  constructor(conntrack: Conntrack, opts: ConntrackTickerOptions) {
    this.conntrack = conntrack;
    this.opts = opts;
    this.clock = opts.clock ?? (() => performance.now());
    this.origin = this.clock();
    this.baseUnits = conntrack.now();
  }

  /** Brings the shared clock up to the injected clock and sweeps a slice of the table. */
  step(): void {
    const units = this.baseUnits + Math.floor((this.clock() - this.origin) / this.conntrack.clockUnitMs);
    this.conntrack.setNow(units);
    const buckets = this.conntrack.capacity / SLOTS_PER_BUCKET;
    const perTick =
      this.opts.sweepBucketsPerTick ??
      Math.max(1, Math.ceil((buckets * this.conntrack.clockUnitMs) / 10_000));
    this.conntrack.sweep(perTick);
  }

  start(): this {
    if (this.clockTimer === null) {
      this.clockTimer = setInterval(() => this.step(), this.conntrack.clockUnitMs).unref();
      if (this.opts.cacheTimeoutMs > 0) {
        this.cacheTimer = setInterval(() => this.conntrack.bumpCacheTick(), this.opts.cacheTimeoutMs).unref();
      }
    }
    return this;
  }

  stop(): void {
    if (this.clockTimer !== null) clearInterval(this.clockTimer);
    if (this.cacheTimer !== null) clearInterval(this.cacheTimer);
    this.clockTimer = null;
    this.cacheTimer = null;
  }
}
