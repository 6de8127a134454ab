import { describe, expect, it } from 'vitest';
import { openTun, openTunQueue, parseCidr, planNebulaTun } from '../src/index.js';
import { buildRoute, RT_SCOPE_LINK, RTPROT_KERNEL } from '../src/internal/netlink.js';

// Argument checks run before any syscall, so these need no privileges.
describe('argument validation', () => {
  it('rejects a name longer than 15 bytes with a RangeError', () => {
    expect(() => openTun({ name: 'a'.repeat(16) })).toThrow(RangeError);
    expect(() => openTun({ name: 'a'.repeat(16) })).toThrow(/longer than 15 bytes/);
    expect(() => openTunQueue('é'.repeat(8))).toThrow(RangeError); // 16 UTF-8 bytes
  });
  it('rejects a non-string name with a TypeError', () => {
    expect(() => openTun({ name: 5 as unknown as string })).toThrow(TypeError);
  });
  it('rejects queues < 1, non-integers and > 256', () => {
    for (const queues of [0, -1, 1.5, 257, Number.NaN]) {
      expect(() => openTun({ queues })).toThrow(RangeError);
    }
    expect(() => openTun({ queues: 0 })).toThrow(/queues must be an integer 1\.\.256/);
    expect(() => openTun({ queues: 2, multiQueue: false })).toThrow(RangeError);
  });
  it('rejects offloads without vnetHdr or tso without csum', () => {
    expect(() => openTun({ offloads: { csum: true } })).toThrow(/need vnetHdr/);
    expect(() => openTun({ vnetHdr: true, offloads: { tso4: true } })).toThrow(/need csum/);
    // tso owns the vnet header and offloads; mixing them is refused before any syscall.
    expect(() => openTun({ tso: true, vnetHdr: true })).toThrow(/tso sets the vnet header/);
    expect(() => openTun({ tso: true, offloads: { csum: true } })).toThrow(/tso sets the vnet header/);
  });
  it('rejects a bad prefix, CIDR or MTU in the Nebula plan', () => {
    expect(() => planNebulaTun({ vpnIp: '203.0.113.1', prefixLen: 33 })).toThrow(RangeError);
    expect(() => planNebulaTun({ vpnIp: '203.0.113.1', prefixLen: -1 })).toThrow(
      /prefixLen must be an integer 0\.\.32/,
    );
    expect(() => planNebulaTun({ vpnIp: '203.0.113.256', prefixLen: 24 })).toThrow(/not an IPv4 address/);
    expect(() => planNebulaTun({ vpnIp: '203.0.113.1', prefixLen: 24, mtu: 20 })).toThrow(RangeError);
    expect(() => parseCidr('203.0.113.0/33')).toThrow(RangeError);
    expect(() => parseCidr('203.0.113.0')).toThrow(/not a CIDR/);
  });
  it('rejects a negative fd', () => {
    expect(() => openTunQueue(-1)).toThrow(RangeError);
  });
});

describe('planNebulaTun (dataplane.md §7)', () => {
  it('reproduces the observed 1.6.1 example: device mtu = max, advmss where the mtu differs', () => {
    const plan = planNebulaTun({
      vpnIp: '203.0.113.1',
      prefixLen: 25,
      mtu: 1300,
      routes: [{ route: '203.0.113.64/26', mtu: 8800 }],
      unsafeRoutes: [{ route: '203.0.113.128/26', mtu: 1400, metric: 100 }],
    });
    expect(plan.deviceMtu).toBe(8800);
    expect(plan.txQueueLen).toBe(500);
    expect(plan.routes).toEqual([
      {
        dst: 0xcb007100,
        prefixLen: 25,
        mtu: 1300,
        advmss: 1260,
        src: 0xcb007101,
        scope: 'link',
        protocol: 'kernel',
        replace: true,
      },
      { dst: 0xcb007140, prefixLen: 26, mtu: 8800, scope: 'link', protocol: 'boot' },
      {
        dst: 0xcb007180,
        prefixLen: 26,
        mtu: 1400,
        metric: 100,
        advmss: 1360,
        scope: 'link',
        protocol: 'boot',
      },
    ]);
  });
  it('sets no advmss when every MTU equals the device MTU', () => {
    const plan = planNebulaTun({ vpnIp: 0xcb007101, prefixLen: 24 });
    expect(plan.deviceMtu).toBe(1300);
    expect(plan.routes).toHaveLength(1);
    expect(plan.routes[0].advmss).toBeUndefined();
    expect(plan.routes[0].mtu).toBe(1300);
  });
});

describe('rtnetlink message layout', () => {
  it('encodes RTM_NEWROUTE with header, rtmsg, attributes and nested RTA_METRICS', () => {
    const m = buildRoute({
      ifIndex: 7,
      dst: 0xcb007100,
      prefixLen: 24,
      scope: RT_SCOPE_LINK,
      protocol: RTPROT_KERNEL,
      src: 0xcb007101,
      mtu: 1300,
      advmss: 1260,
      metric: 5,
      replace: true,
    });
    const v = new DataView(m.buffer);
    expect(v.getUint32(0, true)).toBe(m.length);
    expect(v.getUint16(4, true)).toBe(24); // RTM_NEWROUTE
    expect(v.getUint16(6, true)).toBe(0x1 | 0x4 | 0x400 | 0x100); // REQUEST|ACK|CREATE|REPLACE
    expect([...m.subarray(16, 24)]).toEqual([2, 24, 0, 0, 254, 2, 253, 1]);
    const attrs = new Map<number, Uint8Array>();
    for (let o = 28; o < m.length; ) {
      const len = v.getUint16(o, true);
      attrs.set(v.getUint16(o + 2, true), m.subarray(o + 4, o + len));
      o += (len + 3) & ~3;
    }
    expect([...attrs.get(1)!]).toEqual([203, 0, 113, 0]); // RTA_DST
    expect([...attrs.get(7)!]).toEqual([203, 0, 113, 1]); // RTA_PREFSRC
    expect(new DataView(attrs.get(4)!.slice().buffer).getUint32(0, true)).toBe(7); // RTA_OIF
    expect(new DataView(attrs.get(6)!.slice().buffer).getUint32(0, true)).toBe(5); // RTA_PRIORITY
    const metrics = new DataView(attrs.get(8)!.slice().buffer); // RTAX_MTU=2, RTAX_ADVMSS=8
    expect([
      metrics.getUint16(2, true),
      metrics.getUint32(4, true),
      metrics.getUint16(10, true),
      metrics.getUint32(12, true),
    ]).toEqual([2, 1300, 8, 1260]);
  });
});

describe('native bounds checks (before any syscall)', () => {
  it('rejects offsets/lengths that reach past the arena with a RangeError', async () => {
    const { native } = await import('../src/internal/native.js');
    const buf = new Uint8Array(100);
    const offsets = Uint32Array.of(16, 90);
    const lengths = Uint32Array.of(20, 20);
    expect(() => native.read(-1, buf, offsets, lengths, 2, 20)).toThrow(RangeError);
    expect(() => native.read(-1, buf, offsets, lengths, 3, 20)).toThrow(/max exceeds/);
    expect(() => native.write(-1, buf, offsets, lengths, 2)).toThrow(/offsets\[1\] \+ lengths\[i\] exceeds/);
    expect(() => native.write(-1, buf, new Float64Array(2) as unknown as Uint32Array, lengths, 1)).toThrow(
      TypeError,
    );
    // In bounds, the syscall runs and its errno comes back named.
    expect(() => native.write(-1, buf, offsets, lengths, 1)).toThrow(
      expect.objectContaining({ code: 'EBADF', syscall: 'write', errno: 9 }),
    );
  });
});
