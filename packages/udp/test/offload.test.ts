import { afterEach, describe, expect, it } from 'vitest';
import {
  createSlots,
  openUdpSocket,
  parseAddr,
  type UdpSocket,
  type UdpSocketOptions,
} from '../src/index.js';
import { collect, waitFor } from './helpers.js';

const open: UdpSocket[] = [];
function sock(opts: UdpSocketOptions): UdpSocket {
  const s = openUdpSocket(opts);
  open.push(s);
  return s;
}
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

function fill(buf: Uint8Array, off: number, len: number, tag: number): void {
  for (let k = 0; k < len; k++) buf[off + k] = (tag * 31 + k) & 0xff;
}
function check(p: Uint8Array, len: number, tag: number): void {
  expect(p.length).toBe(len);
  for (let k = 0; k < len; k++)
    if (p[k] !== ((tag * 31 + k) & 0xff)) throw new Error(`packet ${tag} byte ${k}`);
}

describe('UDP GSO / GRO (kernel 6.18 has both)', () => {
  it('detects GSO and GRO on this kernel and can force them off', () => {
    const s = sock({ host: '127.0.0.1' });
    expect(s.capabilities).toEqual({ udpGso: true, udpGro: true });
    expect(s.stats()).toMatchObject({ gso: true, gro: true });
    expect(s.setGso(false)).toBe(false);
    expect(s.setGro(false)).toBe(false);
    expect(s.stats()).toMatchObject({ gso: false, gro: false });
    const off = sock({ host: '127.0.0.1', gso: false, gro: false });
    expect(off.stats()).toMatchObject({ gso: false, gro: false });
    expect(off.capabilities).toEqual({ udpGso: true, udpGro: true });
  });

  for (const layout of ['slots with headroom (iovec chain)', 'packed arena (one iovec)'] as const) {
    it(`a GSO send of K segments arrives as K packets: ${layout}`, async () => {
      const rx = sock({ host: '127.0.0.1', gro: false });
      const tx = sock({ host: '127.0.0.1' });
      const got = collect(rx);
      const K = 12;
      const out = createSlots(K);
      if (layout === 'packed arena (one iovec)') for (let i = 0; i < K; i++) out.offsets[i] = 16 + i * 1000;
      for (let i = 0; i < K; i++) {
        out.lengths[i] = i === K - 1 ? 333 : 1000; // the last segment may be shorter
        fill(out.buf, out.offsets[i]!, out.lengths[i]!, i);
        parseAddr(`127.0.0.1:${rx.port}`, out.addrs, i);
      }
      expect(tx.sendBatch(out.buf, out.offsets, out.lengths, out.addrs, K)).toBe(K);
      expect(tx.stats().gsoSends).toBe(1);
      await waitFor(() => got.payloads.length === K);
      for (let i = 0; i < K; i++) check(got.payloads[i]!, i === K - 1 ? 333 : 1000, i);
      expect(rx.stats().groCoalesced).toBe(0);
    });
  }

  it('splits runs on size change, address change and the 64-segment limit', async () => {
    const rxA = sock({ host: '127.0.0.1', gro: false });
    const rxB = sock({ host: '127.0.0.1', gro: false });
    const tx = sock({ host: '127.0.0.1' });
    const gotA = collect(rxA);
    const gotB = collect(rxB);
    // 100 equal to A (64 + 36), then [500, 500, 200, 500] to A, then alternating A/B.
    const sizes = [
      ...new Array<number>(100).fill(700),
      500,
      500,
      200,
      500,
      ...new Array<number>(8).fill(600),
    ];
    const dest = sizes.map((_, i) => (i < 104 ? 0 : i & 1));
    const n = sizes.length;
    const out = createSlots(n);
    for (let i = 0; i < n; i++) {
      out.lengths[i] = sizes[i]!;
      fill(out.buf, out.offsets[i]!, sizes[i]!, i);
      parseAddr(`127.0.0.1:${dest[i] === 0 ? rxA.port : rxB.port}`, out.addrs, i);
    }
    expect(tx.sendBatch(out.buf, out.offsets, out.lengths, out.addrs, n)).toBe(n);
    // 64 + 36 + [500,500,200] + [500] + 8 singles = 3 segmented entries
    expect(tx.stats().gsoSends).toBe(3);
    await waitFor(() => gotA.payloads.length === 108 && gotB.payloads.length === 4);
    const tagsA = [...Array(104).keys(), 104, 106, 108, 110];
    for (const [k, tag] of tagsA.entries()) check(gotA.payloads[k]!, sizes[tag]!, tag);
    for (const [k, tag] of [105, 107, 109, 111].entries()) check(gotB.payloads[k]!, sizes[tag]!, tag);
  });

  it('keeps a coalesced IPv4 send within one IP packet (65507 payload bytes), so GSO stays on for full-size runs', async () => {
    // 49 × 1316 + 1040 = 65524 bytes: over IPv4's limit (65535 - 20 - 8), under IPv6's. The kernel
    // refuses that run with EMSGSIZE, which must not be taken for a path-MTU refusal of 1316.
    const rx = sock({ host: '127.0.0.1', gro: false, readBuffer: 4 << 20 });
    const tx = sock({ host: '127.0.0.1' });
    const got = collect(rx);
    const send = (sizes: number[]): number => {
      const out = createSlots(sizes.length);
      sizes.forEach((len, i) => {
        out.lengths[i] = len;
        fill(out.buf, out.offsets[i]!, len, i);
        parseAddr(`127.0.0.1:${rx.port}`, out.addrs, i);
      });
      return tx.sendBatch(out.buf, out.offsets, out.lengths, out.addrs, sizes.length);
    };
    const first = [...new Array<number>(49).fill(1316), 1040];
    expect(send(first)).toBe(50);
    expect(tx.stats()).toMatchObject({ gsoSends: 1, gsoSegmentLimit: null, sendErrors: 0 });
    expect(send(new Array<number>(10).fill(1316))).toBe(10);
    expect(tx.stats()).toMatchObject({ gso: true, gsoSends: 2, gsoSegmentLimit: null });
    await waitFor(() => got.payloads.length === 60);
    for (let i = 0; i < 50; i++) check(got.payloads[i]!, first[i]!, i);
    for (let i = 0; i < 10; i++) check(got.payloads[50 + i]!, 1316, i);
  });

  it('GRO receive splits coalesced datagrams into slots and keeps the rest for the next call', async () => {
    const rx = sock({ host: '::1', gro: true });
    const tx = sock({ host: '::1' });
    const K = 40;
    const out = createSlots(K);
    for (let i = 0; i < K; i++) {
      out.lengths[i] = i === K - 1 ? 77 : 1200;
      fill(out.buf, out.offsets[i]!, out.lengths[i]!, i);
      parseAddr(`[::1]:${rx.port}`, out.addrs, i);
    }
    expect(tx.sendBatch(out.buf, out.offsets, out.lengths, out.addrs, K)).toBe(K);
    expect(tx.stats().gsoSends).toBe(1);
    const back = new Uint32Array(6);
    parseAddr(`[::1]:${tx.port}`, back, 0);
    const inn = createSlots(3);
    const got: Buffer[] = [];
    const from = new Set<number>();
    const end = Date.now() + 5000;
    // Bounded poll: only 3 slots per call, so most of the coalesced datagram stays pending.
    for (let calls = 0; got.length < K && Date.now() < end && calls < 10_000; calls++) {
      const n = rx.recvBatch(inn.buf, inn.offsets, inn.lengths, inn.addrs, inn.max, inn.slotCapacity);
      for (let i = 0; i < n; i++) {
        got.push(Buffer.from(inn.buf.subarray(inn.offsets[i]!, inn.offsets[i]! + inn.lengths[i]!)));
        from.add(inn.addrs[6 * i + 1]!);
      }
      // A send on the same socket in between must not disturb the pending segments' sources.
      if (n > 0) rx.sendTo(new Uint8Array(1), 0, 1, back, 0);
      if (n === 0) await new Promise((r) => setTimeout(r, 1));
    }
    expect(got.length).toBe(K);
    for (let i = 0; i < K; i++) check(got[i]!, i === K - 1 ? 77 : 1200, i);
    expect(rx.stats().groCoalesced).toBeGreaterThan(0);
    expect([...from]).toEqual([tx.port]);
  });

  it('onBatch delivers every held GRO segment even when its per-wake budget runs out', async () => {
    const rx = sock({ host: '127.0.0.1', gro: true });
    const tx = sock({ host: '127.0.0.1' });
    const K = 30;
    const out = createSlots(K);
    for (let i = 0; i < K; i++) {
      out.lengths[i] = 900;
      fill(out.buf, out.offsets[i]!, 900, i);
      parseAddr(`127.0.0.1:${rx.port}`, out.addrs, i);
    }
    const slots = createSlots(2);
    const got: Buffer[] = [];
    let calls = 0;
    rx.onBatch(
      slots,
      (n) => {
        calls++;
        for (let i = 0; i < n; i++)
          got.push(Buffer.from(slots.buf.subarray(slots.offsets[i]!, slots.offsets[i]! + slots.lengths[i]!)));
      },
      undefined,
      1,
    );
    expect(tx.sendBatch(out.buf, out.offsets, out.lengths, out.addrs, K)).toBe(K);
    // One datagram arrives; the other 28 segments sit in native memory with the fd not readable.
    await waitFor(() => got.length === K, 5000, `${K} segments`);
    for (let i = 0; i < K; i++) check(got[i]!, 900, i);
    expect(calls).toBe(K / 2);
    expect(rx.stats().groCoalesced).toBe(1);
  });
});
