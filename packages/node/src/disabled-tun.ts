/**
 * The "device" used when `tun.disabled: true` (dataplane.md §7): no kernel interface; IPv4 ICMP
 * echo requests written to it are answered by an echo reply that comes back out of `read` as if
 * the kernel had sent it, so it is firewall-checked and encrypted like any tun packet. Everything
 * else is discarded. Lets a lighthouse run without root and still answer pings.
 */
import type { TunQueueLike } from './internal/io-types.js';
import { STAT_WORDS, Stat } from './tunnel-table.js';

const MAX_PENDING = 256;

function checksum(buf: Uint8Array, off: number, len: number): number {
  let sum = 0;
  let i = 0;
  for (; i + 1 < len; i += 2) sum += (buf[off + i]! << 8) | buf[off + i + 1]!;
  if (i < len) sum += buf[off + i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export class DisabledTun implements TunQueueLike {
  private readonly pending: Uint8Array[] = [];
  private cb: (() => void) | null = null;
  private scheduled = false;
  /** Packets delivered to / read from the device (metrics `messages.{rx,tx}.message`). */
  rx = 0;
  tx = 0;

  /** With `stats` (the tunnel table's per-routine block), counts land there once per batch. */
  constructor(
    private readonly stats: Int32Array | null = null,
    routine = 0,
  ) {
    this.base = routine * STAT_WORDS;
  }
  private readonly base: number;

  write(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number {
    this.rx += count;
    if (this.stats)
      this.stats[this.base + Stat.RxMessage] = (this.stats[this.base + Stat.RxMessage]! + count) | 0;
    for (let i = 0; i < count; i++) {
      const off = offsets[i]!;
      const len = lengths[i]!;
      // 0x45: IPv4 without options; protocol 1; ICMP type 8; not a fragment (offset 0, MF clear).
      if (len < 28 || buf[off] !== 0x45 || buf[off + 9] !== 1 || buf[off + 20] !== 8) continue;
      if ((buf[off + 6]! & 0x3f) !== 0 || buf[off + 7] !== 0) continue;
      if (this.pending.length >= MAX_PENDING) continue;
      const r = buf.slice(off, off + len);
      // Swap addresses, type 0, recompute both checksums.
      for (let k = 0; k < 4; k++) {
        const t = r[12 + k]!;
        r[12 + k] = r[16 + k]!;
        r[16 + k] = t;
      }
      r[10] = 0;
      r[11] = 0;
      const ipSum = checksum(r, 0, 20);
      r[10] = ipSum >>> 8;
      r[11] = ipSum & 0xff;
      r[20] = 0;
      r[22] = 0;
      r[23] = 0;
      const icmpSum = checksum(r, 20, len - 20);
      r[22] = icmpSum >>> 8;
      r[23] = icmpSum & 0xff;
      this.pending.push(r);
    }
    if (this.pending.length > 0 && this.cb && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.cb?.();
      });
    }
    return count;
  }

  read(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    max: number,
    slotCapacity: number,
  ): number {
    let n = 0;
    while (n < max && this.pending.length > 0) {
      const p = this.pending.shift()!;
      if (p.length > slotCapacity) continue;
      buf.set(p, offsets[n]!);
      lengths[n] = p.length;
      n++;
    }
    this.tx += n;
    if (this.stats && n > 0)
      this.stats[this.base + Stat.TxMessage] = (this.stats[this.base + Stat.TxMessage]! + n) | 0;
    return n;
  }

  onReadable(cb: () => void): void {
    this.cb = cb;
  }

  pause(): void {
    this.cb = null;
  }

  close(): void {
    this.cb = null;
    this.pending.length = 0;
  }
}
