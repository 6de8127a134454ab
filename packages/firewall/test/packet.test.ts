import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type FirewallPacket,
  newFirewallPacket,
  PACKET_BAD_IHL,
  PACKET_NOT_IPV4,
  PACKET_OK,
  PACKET_TOO_SHORT,
  PACKET_TRUNCATED,
  parsePacket,
  tcpAck,
  tcpFlags,
  tcpSeq,
} from '../src/index.js';
import { ip } from './helpers.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 2000);

function ipv4(opts: {
  proto: number;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  fragOff?: number;
  mf?: boolean;
  ihl?: number;
  payload?: number;
  version?: number;
}): Uint8Array {
  const ihl = opts.ihl ?? 5;
  const payload = opts.payload ?? 8;
  const b = new Uint8Array(ihl * 4 + payload);
  b[0] = ((opts.version ?? 4) << 4) | ihl;
  const ff = ((opts.mf ? 0x2000 : 0) | (opts.fragOff ?? 0)) & 0xffff;
  b[6] = ff >> 8;
  b[7] = ff & 255;
  b[8] = 64;
  b[9] = opts.proto;
  new DataView(b.buffer).setUint32(12, ip(opts.src));
  new DataView(b.buffer).setUint32(16, ip(opts.dst));
  if (payload >= 4) {
    new DataView(b.buffer).setUint16(ihl * 4, opts.sport ?? 0);
    new DataView(b.buffer).setUint16(ihl * 4 + 2, opts.dport ?? 0);
  }
  return b;
}

function parse(b: Uint8Array, incoming: boolean, off = 0, len = b.length): [number, FirewallPacket] {
  const out = newFirewallPacket();
  return [parsePacket(b, off, len, incoming, out), out];
}

describe('parsePacket', () => {
  it('outgoing udp: local = source', () => {
    const [rc, p] = parse(
      ipv4({ proto: 17, src: '203.0.113.1', dst: '203.0.113.2', sport: 5000, dport: 53 }),
      false,
    );
    expect(rc).toBe(PACKET_OK);
    expect(p).toEqual({
      localIp: ip('203.0.113.1'),
      remoteIp: ip('203.0.113.2'),
      localPort: 5000,
      remotePort: 53,
      protocol: 17,
      fragment: false,
      tcpOff: -1,
      raw: expect.any(Uint8Array),
    });
  });

  it('incoming tcp: local = destination', () => {
    const [rc, p] = parse(
      ipv4({ proto: 6, src: '203.0.113.2', dst: '203.0.113.1', sport: 40000, dport: 22 }),
      true,
    );
    expect(rc).toBe(PACKET_OK);
    expect(p).toEqual({
      localIp: ip('203.0.113.1'),
      remoteIp: ip('203.0.113.2'),
      localPort: 22,
      remotePort: 40000,
      protocol: 6,
      fragment: false,
      // 8 bytes of TCP header: too short for the flags, so no RTT fields.
      tcpOff: -1,
      raw: expect.any(Uint8Array),
    });
  });

  it('tcp with a full header: flags, sequence and acknowledgement for the RTT metric', () => {
    const b = ipv4({
      proto: 6,
      src: '203.0.113.2',
      dst: '203.0.113.1',
      sport: 40000,
      dport: 22,
      payload: 20,
    });
    new DataView(b.buffer).setUint32(24, 0xfedcba98);
    new DataView(b.buffer).setUint32(28, 0x01020304);
    b[33] = 0x12;
    const [rc, p] = parse(b, true);
    expect(rc).toBe(PACKET_OK);
    expect(p.tcpOff).toBe(20);
    expect([tcpFlags(p), tcpSeq(p) >>> 0, tcpAck(p)]).toEqual([0x12, 0xfedcba98, 0x01020304]);
  });

  it('icmp has no ports and needs only the IP header', () => {
    const [rc, p] = parse(
      ipv4({ proto: 1, src: '1.2.3.4', dst: '5.6.7.8', sport: 0x0800, dport: 1, payload: 0 }),
      false,
    );
    expect(rc).toBe(PACKET_OK);
    expect([p.localPort, p.remotePort, p.protocol]).toEqual([0, 0, 1]);
  });

  it('non-first fragment: fragment flag, ports 0, no port bytes needed', () => {
    const [rc, p] = parse(
      ipv4({ proto: 17, src: '1.2.3.4', dst: '5.6.7.8', fragOff: 185, payload: 0 }),
      false,
    );
    expect(rc).toBe(PACKET_OK);
    expect([p.fragment, p.localPort, p.remotePort]).toEqual([true, 0, 0]);
  });

  it('first fragment (MF set, offset 0) is a normal packet with ports', () => {
    const [rc, p] = parse(
      ipv4({ proto: 17, src: '1.2.3.4', dst: '5.6.7.8', mf: true, sport: 1, dport: 2 }),
      false,
    );
    expect(rc).toBe(PACKET_OK);
    expect([p.fragment, p.localPort, p.remotePort]).toEqual([false, 1, 2]);
  });

  it('DF flag alone is not a fragment', () => {
    const b = ipv4({ proto: 6, src: '1.2.3.4', dst: '5.6.7.8', sport: 1, dport: 2 });
    b[6] = 0x40;
    expect(parse(b, false)[1].fragment).toBe(false);
  });

  it('ports after IP options (IHL 6)', () => {
    const [rc, p] = parse(
      ipv4({ proto: 6, src: '1.2.3.4', dst: '5.6.7.8', ihl: 6, sport: 7, dport: 9 }),
      false,
    );
    expect(rc).toBe(PACKET_OK);
    expect([p.localPort, p.remotePort]).toEqual([7, 9]);
  });

  it('ports are read for other protocols too (GRE 47)', () => {
    const [, p] = parse(
      ipv4({ proto: 47, src: '1.2.3.4', dst: '5.6.7.8', sport: 0x1234, dport: 0x5678 }),
      false,
    );
    expect([p.localPort, p.remotePort]).toEqual([0x1234, 0x5678]);
  });

  it('respects off/len inside a bigger arena', () => {
    const pk = ipv4({ proto: 17, src: '1.2.3.4', dst: '5.6.7.8', sport: 1, dport: 2 });
    const arena = new Uint8Array(100).fill(0xee);
    arena.set(pk, 16);
    const [rc, p] = parse(arena, false, 16, pk.length);
    expect(rc).toBe(PACKET_OK);
    expect(p.remoteIp).toBe(ip('5.6.7.8'));
    expect(parse(arena, false, 16, 23)[0]).toBe(PACKET_TRUNCATED);
  });

  it.each([
    ['shorter than 20 bytes', new Uint8Array(19).fill(0x45), PACKET_TOO_SHORT],
    ['empty', new Uint8Array(0), PACKET_TOO_SHORT],
    ['IPv6', ipv4({ proto: 17, src: '1.2.3.4', dst: '5.6.7.8', version: 6 }), PACKET_NOT_IPV4],
    ['version 0', ipv4({ proto: 17, src: '1.2.3.4', dst: '5.6.7.8', version: 0 }), PACKET_NOT_IPV4],
    ['IHL 4', ipv4({ proto: 17, src: '1.2.3.4', dst: '5.6.7.8', ihl: 4, payload: 12 }), PACKET_BAD_IHL],
    ['udp without ports', ipv4({ proto: 17, src: '1.2.3.4', dst: '5.6.7.8', payload: 3 }), PACKET_TRUNCATED],
    [
      'tcp header shorter than IHL',
      ipv4({ proto: 6, src: '1.2.3.4', dst: '5.6.7.8', ihl: 15, payload: 0 }).subarray(0, 40),
      PACKET_TRUNCATED,
    ],
    [
      'icmp shorter than IHL',
      ipv4({ proto: 1, src: '1.2.3.4', dst: '5.6.7.8', ihl: 8, payload: 0 }).subarray(0, 24),
      PACKET_TRUNCATED,
    ],
  ] as const)('%s → error', (_n, b, code) => {
    expect(parse(b as Uint8Array, true)[0]).toBe(code);
  });

  /** Independent reference (DataView) of dataplane.md §2. */
  function reference(b: Uint8Array, incoming: boolean): number | FirewallPacket {
    if (b.length < 20) return PACKET_TOO_SHORT;
    if (b[0]! >> 4 !== 4) return PACKET_NOT_IPV4;
    const ihl = (b[0]! & 15) * 4;
    if (ihl < 20) return PACKET_BAD_IHL;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const fragment = (dv.getUint16(6) & 0x1fff) !== 0;
    const protocol = b[9]!;
    const min = ihl + (!fragment && protocol !== 1 ? 4 : 0);
    if (b.length < min) return PACKET_TRUNCATED;
    const src = dv.getUint32(12);
    const dst = dv.getUint32(16);
    const ports = !fragment && protocol !== 1;
    const sp = ports ? dv.getUint16(ihl) : 0;
    const dp = ports ? dv.getUint16(ihl + 2) : 0;
    return incoming
      ? { localIp: dst, remoteIp: src, localPort: dp, remotePort: sp, protocol, fragment }
      : { localIp: src, remoteIp: dst, localPort: sp, remotePort: dp, protocol, fragment };
  }

  it('fuzz: arbitrary bytes never throw and agree with the reference', () => {
    const out = newFirewallPacket();
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 80 }),
        fc.boolean(),
        fc.nat(8),
        fc.nat(4),
        fc.boolean(),
        (bytes, incoming, pad, cut, forceV4) => {
          // bias towards plausible IPv4 so every branch is reached
          if (forceV4 && bytes.length > 0) bytes[0] = 0x40 | (bytes[0]! & 0x0f);
          const arena = new Uint8Array(pad + bytes.length + 4).fill(0xaa);
          arena.set(bytes, pad);
          const len = Math.max(0, bytes.length - cut);
          const rc = parsePacket(arena, pad, len, incoming, out);
          const want = reference(bytes.subarray(0, len), incoming);
          if (typeof want === 'number') expect(rc).toBe(want);
          else {
            expect(rc).toBe(PACKET_OK);
            expect(out).toEqual(want);
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('fuzz: well-formed headers round-trip', () => {
    const out = newFirewallPacket();
    fc.assert(
      fc.property(
        fc.record({
          proto: fc.nat(255),
          src: fc.nat(0xffffffff),
          dst: fc.nat(0xffffffff),
          sport: fc.nat(0xffff),
          dport: fc.nat(0xffff),
          fragOff: fc.oneof(fc.constant(0), fc.nat(0x1fff)),
          ihl: fc.integer({ min: 5, max: 15 }),
        }),
        fc.boolean(),
        (h, incoming) => {
          const b = new Uint8Array(h.ihl * 4 + 4);
          const dv = new DataView(b.buffer);
          b[0] = 0x40 | h.ihl;
          dv.setUint16(6, h.fragOff);
          b[9] = h.proto;
          dv.setUint32(12, h.src);
          dv.setUint32(16, h.dst);
          dv.setUint16(h.ihl * 4, h.sport);
          dv.setUint16(h.ihl * 4 + 2, h.dport);
          expect(parsePacket(b, 0, b.length, incoming, out)).toBe(PACKET_OK);
          const ports = h.fragOff === 0 && h.proto !== 1;
          expect(out.fragment).toBe(h.fragOff !== 0);
          expect(out.localIp).toBe(incoming ? h.dst : h.src);
          expect(out.remoteIp).toBe(incoming ? h.src : h.dst);
          expect(out.localPort).toBe(ports ? (incoming ? h.dport : h.sport) : 0);
          expect(out.remotePort).toBe(ports ? (incoming ? h.sport : h.dport) : 0);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
