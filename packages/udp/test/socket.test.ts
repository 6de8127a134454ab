import { requireRoot } from '@nebula-ts/e2e';
import { bindWaitReadable } from '@nebula-ts/native-common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createSlots,
  formatAddr,
  openUdpGroup,
  openUdpSocket,
  parseAddr,
  type UdpSocket,
  type UdpSocketOptions,
} from '../src/index.js';
import { collect, digest, prng, waitFor } from './helpers.js';

const open: UdpSocket[] = [];
function sock(opts: UdpSocketOptions): UdpSocket {
  const s = openUdpSocket(opts);
  open.push(s);
  return s;
}
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

/**
 * Sends `total` packets of random sizes (1..1400, every 16th ~9000) from tx to rx in batches of
 * 64, waiting for each batch to arrive (so no buffer can overflow), and checks every byte and
 * the source address of each packet.
 */
async function roundTrip(
  host: string,
  dest: string,
  opts: UdpSocketOptions,
  total: number,
  bound = false,
): Promise<{ gsoSends: number; groCoalesced: number }> {
  const rx = sock({ host, readBuffer: 8 << 20, ...opts });
  const tx = sock({ host, writeBuffer: 8 << 20, ...opts });
  const got = collect(rx);
  const out = createSlots(64);
  const send = bound
    ? tx.bindSend(out.buf, out.offsets, out.lengths, out.addrs)
    : (n: number) => tx.sendBatch(out.buf, out.offsets, out.lengths, out.addrs, n);
  const rnd = prng(0x5eed + total);
  const sent: Buffer[] = [];
  for (let base = 0; base < total; base += 64) {
    const n = Math.min(64, total - base);
    for (let i = 0; i < n; i++) {
      const seq = base + i;
      // Runs of equal sizes so GSO coalescing is exercised too, not only singles.
      const len = seq % 16 === 15 ? 8990 + (rnd() % 11) : seq % 8 < 4 ? 1200 : 1 + (rnd() % 1400);
      const off = out.offsets[i]!;
      for (let k = 0; k < len; k++) out.buf[off + k] = rnd() & 0xff;
      out.lengths[i] = len;
      parseAddr(`${dest}:${rx.port}`, out.addrs, i);
      sent.push(Buffer.from(out.buf.subarray(off, off + len)));
    }
    expect(send(n)).toBe(n);
    await waitFor(() => got.payloads.length >= base + n, 5000, `packets ${base}..${base + n}`);
  }
  expect(got.payloads.length).toBe(total);
  // Single flow over loopback keeps order; compare each packet, then the checksum of all.
  for (let i = 0; i < total; i++) {
    if (!got.payloads[i]!.equals(sent[i]!)) throw new Error(`packet ${i} differs (len ${sent[i]!.length})`);
  }
  expect(digest(got.payloads)).toBe(digest(sent));
  const src = dest.includes(':') ? `[${dest.slice(1, -1)}]:${tx.port}` : `${dest}:${tx.port}`;
  expect(new Set(got.from)).toEqual(new Set([src]));
  return { gsoSends: tx.stats().gsoSends, groCoalesced: rx.stats().groCoalesced };
}

describe('batched send and receive', () => {
  it('carries every byte and the source address over IPv4 (GSO/GRO as probed)', async () => {
    const st = await roundTrip('127.0.0.1', '127.0.0.1', {}, 2048);
    // Runs of equal-sized packets went out segmented and came back coalesced.
    expect(st.gsoSends).toBeGreaterThan(0);
    expect(st.groCoalesced).toBeGreaterThan(0);
  });

  it('carries every byte over IPv4 with GSO and GRO forced off', async () => {
    const st = await roundTrip('127.0.0.1', '127.0.0.1', { gso: false, gro: false }, 1024);
    expect(st).toEqual({ gsoSends: 0, groCoalesced: 0 });
  });

  it('carries every byte and the source address over IPv6', async () => {
    const st = await roundTrip('::1', '[::1]', {}, 2048);
    expect(st.gsoSends).toBeGreaterThan(0);
    expect(st.groCoalesced).toBeGreaterThan(0);
  });

  it('carries every byte over IPv6 with GSO and GRO forced off', async () => {
    const st = await roundTrip('::1', '[::1]', { gso: false, gro: false }, 1024);
    expect(st).toEqual({ gsoSends: 0, groCoalesced: 0 });
  });

  it('dual stack `::` reports IPv4 sources as family 4; `0.0.0.0` is IPv4 only', async () => {
    const dual = sock({ host: '::' });
    const v4only = sock({ host: '0.0.0.0' });
    const tx4 = sock({ host: '127.0.0.1' });
    const got = collect(dual);
    const got4 = collect(v4only);
    const a = new Uint32Array(12);
    parseAddr(`127.0.0.1:${dual.port}`, a, 0);
    parseAddr(`127.0.0.1:${v4only.port}`, a, 1);
    const buf = Uint8Array.of(1, 2, 3);
    tx4.sendTo(buf, 0, 3, a, 0);
    tx4.sendTo(buf, 0, 3, a, 1);
    await waitFor(() => got.payloads.length === 1 && got4.payloads.length === 1);
    expect(got.from).toEqual([`127.0.0.1:${tx4.port}`]);
    expect(got4.from).toEqual([`127.0.0.1:${tx4.port}`]);
    // The v4-mapped wildcard refuses IPv6 traffic: an IPv6 socket cannot reach it over ::1.
    const tx6 = sock({ host: '::1' });
    parseAddr(`[::1]:${v4only.port}`, a, 0);
    tx6.sendTo(buf, 0, 3, a, 0);
    parseAddr(`[::1]:${dual.port}`, a, 0);
    tx6.sendTo(buf, 0, 3, a, 0);
    await waitFor(() => got.payloads.length === 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(got4.payloads.length).toBe(1);
    expect(got.from[1]).toBe(`[::1]:${tx6.port}`);
  });

  it('sendBatch drops only the packets whose destination fails and counts them', async () => {
    const rx = sock({ host: '::1' });
    const tx = sock({ host: '::1' });
    const got = collect(rx);
    const out = createSlots(3);
    for (let i = 0; i < 3; i++) {
      out.lengths[i] = 10;
      out.buf.fill(i, out.offsets[i]!, out.offsets[i]! + 10);
    }
    parseAddr(`[::1]:${rx.port}`, out.addrs, 0);
    parseAddr(`192.0.2.1:${rx.port}`, out.addrs, 1); // IPv4 from a socket bound to ::1: refused
    parseAddr(`[::1]:${rx.port}`, out.addrs, 2);
    expect(tx.sendBatch(out.buf, out.offsets, out.lengths, out.addrs, 3)).toBe(3);
    await waitFor(() => got.payloads.length === 2);
    expect(got.payloads.map((p) => p[0])).toEqual([0, 2]);
    const st = tx.stats();
    expect(st.sendErrors).toBe(1);
    expect(st.lastSendErrno).toBeGreaterThan(0);
  });

  it('rejects out-of-range slots and bad families before any syscall', () => {
    const s = sock({ host: '127.0.0.1' });
    const slots = createSlots(2);
    expect(() =>
      s.recvBatch(slots.buf, slots.offsets, slots.lengths, slots.addrs, 3, slots.slotCapacity),
    ).toThrow(RangeError);
    expect(() => s.recvBatch(slots.buf, slots.offsets, slots.lengths, slots.addrs, 2, 1 << 20)).toThrow(
      RangeError,
    );
    slots.lengths[0] = 1 << 20;
    expect(() => s.sendBatch(slots.buf, slots.offsets, slots.lengths, slots.addrs, 1)).toThrow(
      expect.objectContaining({ name: 'UdpRangeError', code: 'ERR_UDP_INVALID_ARG' }),
    );
    slots.lengths[0] = 1;
    slots.addrs[0] = 5;
    expect(() => s.sendBatch(slots.buf, slots.offsets, slots.lengths, slots.addrs, 1)).toThrow(/family/);
  });
});

describe('socket groups (SO_REUSEPORT)', () => {
  it('port 0 gives one kernel-chosen port shared by all sockets, and flows spread across them', async () => {
    const group = openUdpGroup({ host: '127.0.0.1', port: 0, count: 4 });
    try {
      expect(group.port).toBeGreaterThan(0);
      expect(group.sockets.map((s) => s.port)).toEqual([group.port, group.port, group.port, group.port]);
      const gots = group.sockets.map((s) => collect(s));
      const senders = Array.from({ length: 32 }, () => sock({ host: '127.0.0.1' }));
      const a = new Uint32Array(6);
      parseAddr(`127.0.0.1:${group.port}`, a, 0);
      const buf = new Uint8Array(8);
      for (const [k, s] of senders.entries()) {
        for (let j = 0; j < 4; j++) {
          buf[0] = k;
          s.sendTo(buf, 0, 8, a, 0);
        }
      }
      const count = () => gots.reduce((n, g) => n + g.payloads.length, 0);
      await waitFor(() => count() === 128, 5000, '128 packets');
      const used = gots.filter((g) => g.payloads.length > 0).length;
      expect(used).toBeGreaterThan(1);
      // One flow (source port) always lands on the same socket.
      for (const g of gots) {
        for (const from of new Set(g.from)) {
          expect(g.from.filter((f) => f === from).length).toBe(4);
        }
      }
    } finally {
      group.close();
      group.close();
    }
  });

  it('a fixed port is shared by count sockets, and needs reusePort', () => {
    const probe = sock({ host: '127.0.0.1' });
    const port = probe.port;
    probe.close();
    const group = openUdpGroup({ host: '127.0.0.1', port, count: 3 });
    try {
      expect(group.sockets.every((s) => s.port === port)).toBe(true);
    } finally {
      group.close();
    }
    expect(() => openUdpGroup({ host: '127.0.0.1', port, count: 2, reusePort: false })).toThrow(RangeError);
  });
});

describe('control path, buffers, meminfo, close', () => {
  it('sendTo delivers one datagram', async () => {
    const rx = sock({ host: '127.0.0.1' });
    const tx = sock({ host: '127.0.0.1' });
    const got = collect(rx);
    const a = new Uint32Array(12);
    parseAddr(`127.0.0.1:${rx.port}`, a, 1);
    tx.sendTo(Buffer.from('xxhello'), 2, 5, a, 1);
    await waitFor(() => got.payloads.length === 1);
    expect(got.payloads[0]!.toString()).toBe('hello');
    expect(got.from[0]).toBe(`127.0.0.1:${tx.port}`);
  });

  it('applies read/write buffers (FORCE as root), re-applies them, and reports SO_MEMINFO', async () => {
    requireRoot(); // SO_RCVBUFFORCE needs CAP_NET_ADMIN; the unprivileged fallback is in errors.test.ts
    const s = sock({ host: '127.0.0.1', readBuffer: 4 << 20, writeBuffer: 2 << 20, gro: false });
    // The kernel doubles the request; FORCE lets root exceed net.core.rmem_max.
    expect(s.buffers).toEqual({ readBuffer: 8 << 20, writeBuffer: 4 << 20 });
    expect(s.setBuffers({ readBuffer: 1 << 20 })).toEqual({ readBuffer: 2 << 20, writeBuffer: 4 << 20 });
    const tx = sock({ host: '127.0.0.1' });
    const a = new Uint32Array(6);
    parseAddr(`127.0.0.1:${s.port}`, a, 0);
    tx.sendTo(new Uint8Array(1000), 0, 1000, a, 0);
    await new Promise((r) => setTimeout(r, 20));
    const m = s.meminfo();
    expect(Object.keys(m)).toEqual([
      'rmem_alloc',
      'rcvbuf',
      'wmem_alloc',
      'sndbuf',
      'fwd_alloc',
      'wmem_queued',
      'optmem',
      'backlog',
      'drops',
    ]);
    expect(m.rcvbuf).toBe(2 << 20);
    expect(m.sndbuf).toBe(4 << 20);
    expect(m.rmem_alloc).toBeGreaterThan(1000); // the datagram waits unread
    expect(() => s.setBuffers({ readBuffer: -1 })).toThrow(RangeError);
  });

  it('bound send and receive (bindSend/bindRecv) carry every byte and address', async () => {
    expect(await roundTrip('127.0.0.1', '127.0.0.1', {}, 500, true)).toBeDefined();
    const rx = sock({ host: '127.0.0.1' });
    const tx = sock({ host: '127.0.0.1' });
    const inSlots = createSlots(64);
    const recv = rx.bindRecv(inSlots.buf, inSlots.offsets, inSlots.lengths, inSlots.addrs);
    const out = createSlots(8);
    for (let i = 0; i < 8; i++) {
      out.buf.fill(i + 1, out.offsets[i]!, out.offsets[i]! + 100 + i);
      out.lengths[i] = 100 + i;
      parseAddr(`127.0.0.1:${rx.port}`, out.addrs, i);
    }
    expect(tx.sendBatch(out.buf, out.offsets, out.lengths, out.addrs, 8)).toBe(8);
    const got: number[] = [];
    await waitFor(
      () => {
        const n = recv(64, 9000);
        for (let i = 0; i < n; i++) got.push(inSlots.lengths[i]! * 1000 + inSlots.buf[inSlots.offsets[i]!]!);
        return got.length >= 8;
      },
      5000,
      'bound recv',
    );
    expect(got).toEqual([...Array(8).keys()].map((i) => (100 + i) * 1000 + i + 1));
    expect(() => recv(65, 9000)).toThrow(/max exceeds/);
    rx.close();
    expect(() => recv(1, 9000)).toThrow(expect.objectContaining({ code: 'ERR_UDP_CLOSED' }));
  });

  it('a blocking wait runs the bound recv itself, never overwrites a batch not taken, and stops at close', () => {
    const rx = sock({ host: '127.0.0.1' });
    const tx = sock({ host: '127.0.0.1' });
    const inSlots = createSlots(16);
    const recv = rx.bindRecv(inSlots.buf, inSlots.offsets, inSlots.lengths, inSlots.addrs);
    const result = new Int32Array([-1]);
    const wait = bindWaitReadable([rx.fd], [{ index: 0, read: recv, max: 16, slotCapacity: 9000, result }]);
    const out = createSlots(8);
    const send = (from: number, count: number) => {
      for (let i = 0; i < count; i++) {
        out.buf.fill(from + i, out.offsets[i]!, out.offsets[i]! + 50 + from + i);
        out.lengths[i] = 50 + from + i;
        parseAddr(`127.0.0.1:${rx.port}`, out.addrs, i);
      }
      expect(tx.sendBatch(out.buf, out.offsets, out.lengths, out.addrs, count)).toBe(count);
    };
    const take = (): number[] => {
      const got: number[] = [];
      for (let i = 0; i < result[0]!; i++) {
        got.push(inSlots.buf[inSlots.offsets[i]!]!);
        expect(inSlots.lengths[i]).toBe(50 + inSlots.buf[inSlots.offsets[i]!]!);
        expect(formatAddr(inSlots.addrs, i)).toBe(`127.0.0.1:${tx.port}`);
      }
      result[0] = -1;
      return got;
    };
    send(1, 3);
    expect(wait(2000)).toBe(1);
    expect(result[0]).toBeGreaterThanOrEqual(1);
    const held = Buffer.from(inSlots.buf).toString('hex');
    const first = result[0];
    send(10, 2);
    // Readable again, but the batch not taken yet stays as it is.
    expect(wait(2000)).toBe(1);
    expect(result[0]).toBe(first);
    expect(Buffer.from(inSlots.buf).toString('hex')).toBe(held);
    const got = take();
    for (let i = 0; i < 20 && got.length < 5; i++) {
      wait(500);
      got.push(...take());
    }
    expect(got).toEqual([1, 2, 3, 10, 11]);
    // Once the socket is closed the native recv refuses to run: the wait reads nothing.
    send(20, 1);
    rx.close();
    wait(0);
    expect(result[0]).toBe(-1);
  });

  it('a pre-read takes at most result[1] datagrams, read anew on each wait, and all once it is 0', () => {
    // Without GRO each datagram stays in the socket's queue until read, so each wait sees it.
    const rx = sock({ host: '127.0.0.1', gro: false });
    const tx = sock({ host: '127.0.0.1' });
    const inSlots = createSlots(16);
    const recv = rx.bindRecv(inSlots.buf, inSlots.offsets, inSlots.lengths, inSlots.addrs);
    const result = new Int32Array([-1, 1]);
    const wait = bindWaitReadable([rx.fd], [{ index: 0, read: recv, max: 16, slotCapacity: 9000, result }]);
    const out = createSlots(8);
    for (let i = 0; i < 6; i++) {
      out.buf[out.offsets[i]!] = 40 + i;
      out.lengths[i] = 60;
      parseAddr(`127.0.0.1:${rx.port}`, out.addrs, i);
    }
    expect(tx.sendBatch(out.buf, out.offsets, out.lengths, out.addrs, 6)).toBe(6);
    const firsts = (): number[] => {
      const n = result[0]!;
      result[0] = -1;
      return [...Array(Math.max(n, 0)).keys()].map((i) => inSlots.buf[inSlots.offsets[i]!]!);
    };
    expect(wait(2000)).toBe(1);
    expect(firsts()).toEqual([40]);
    result[1] = 2;
    expect(wait(2000)).toBe(1);
    expect(firsts()).toEqual([41, 42]);
    // 0 and anything at or above max mean the whole batch.
    result[1] = 0;
    const rest: number[] = [];
    for (let i = 0; i < 20 && rest.length < 3; i++) {
      wait(500);
      rest.push(...firsts());
    }
    expect(rest).toEqual([43, 44, 45]);
    rx.close();
    tx.close();
  });

  it('close is idempotent and later use fails with ERR_UDP_CLOSED', () => {
    const s = openUdpSocket({ host: '127.0.0.1' });
    const slots = createSlots(1);
    s.onBatch(slots, () => {});
    s.close();
    s.close();
    expect(s.closed).toBe(true);
    expect(s.fd).toBe(-1);
    expect(() => s.recvBatch(slots.buf, slots.offsets, slots.lengths, slots.addrs, 1, 100)).toThrow(
      expect.objectContaining({ code: 'ERR_UDP_CLOSED' }),
    );
  });
});
