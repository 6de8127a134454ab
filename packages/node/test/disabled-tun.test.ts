/** tun.disabled (dataplane.md §7): the device answers IPv4 ICMP echo requests and drops the rest. */
import { describe, expect, it } from 'vitest';
import { DisabledTun } from '../src/index.js';

function sum(b: Buffer, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i + 1 < len; i += 2) s += b.readUInt16BE(off + i);
  if (len & 1) s += b[off + len - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function echo(type = 8, flags = 0): Buffer {
  const b = Buffer.alloc(40);
  b[0] = 0x45;
  b.writeUInt16BE(40, 2);
  b.writeUInt16BE(flags, 6);
  b[8] = 64;
  b[9] = 1;
  b.writeUInt32BE(0xcb007101, 12);
  b.writeUInt32BE(0xcb007102, 16);
  b[20] = type;
  b.writeUInt16BE(0x1234, 24);
  b.fill(0x5a, 28);
  return b;
}

describe('DisabledTun ICMP echo responder', () => {
  it('turns an echo request into a reply with valid checksums that reads back like a tun packet', () => {
    const t = new DisabledTun();
    let readable = 0;
    t.onReadable(() => readable++);
    const req = echo();
    t.write(req, Uint32Array.of(0), Uint32Array.of(req.length), 1);
    const buf = Buffer.alloc(2000);
    const lengths = new Uint32Array(4);
    expect(t.read(buf, Uint32Array.of(16, 1000, 0, 0), lengths, 4, 900)).toBe(1);
    const rep = buf.subarray(16, 16 + lengths[0]!);
    expect(rep.length).toBe(40);
    expect(rep.readUInt32BE(12)).toBe(0xcb007102);
    expect(rep.readUInt32BE(16)).toBe(0xcb007101);
    expect(rep[20]).toBe(0);
    expect(rep.readUInt16BE(24)).toBe(0x1234);
    expect(sum(rep, 0, 20)).toBe(0xffff);
    expect(sum(rep, 20, 20)).toBe(0xffff);
    return new Promise<void>((r) =>
      setImmediate(() => {
        expect(readable).toBe(1);
        r();
      }),
    );
  });

  it('discards everything else (echo replies, fragments, non-ICMP)', () => {
    const t = new DisabledTun();
    const pkts = [echo(0), echo(8, 0x2000), echo(8, 0x0001)];
    const tcp = echo();
    tcp[9] = 6;
    pkts.push(tcp);
    for (const p of pkts) t.write(p, Uint32Array.of(0), Uint32Array.of(p.length), 1);
    expect(t.read(Buffer.alloc(100), Uint32Array.of(0), new Uint32Array(1), 1, 100)).toBe(0);
  });
});
