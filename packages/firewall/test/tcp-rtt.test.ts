/**
 * `network.tcp.rtt` (firewall.md §4): an outbound TCP packet that creates or hits a conntrack entry
 * with nothing pending stores its sequence and time; the inbound ACK beyond it yields one sample.
 * Packets are real IPv4/TCP bytes through `parsePacket`, as the data path feeds them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Conntrack, DROP_NONE, newFirewallPacket, parsePacket, RTT_SAMPLES } from '../src/index.js';
import { firewall, ip, peer } from './helpers.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 2000);

const ME = '203.0.113.1';
const THEM = '203.0.113.2';
const FIN = 0x01;
const SYN = 0x02;
const ACK = 0x10;

function tcp(
  src: string,
  dst: string,
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
) {
  const b = new Uint8Array(40);
  b[0] = 0x45;
  b[3] = 40;
  b[8] = 64;
  b[9] = 6;
  new DataView(b.buffer).setUint32(12, ip(src));
  new DataView(b.buffer).setUint32(16, ip(dst));
  const v = new DataView(b.buffer, 20);
  v.setUint16(0, sport);
  v.setUint16(2, dport);
  v.setUint32(4, seq >>> 0);
  v.setUint32(8, ack >>> 0);
  b[32] = 0x50;
  b[33] = flags;
  return b;
}

const allowAll = {
  outbound: [{ port: 'any', proto: 'any', host: 'any' }],
  inbound: [{ port: 'any', proto: 'any', host: 'any' }],
};

function setup() {
  const ct = Conntrack.create({ capacity: 64 });
  const fw = firewall(allowAll, { conntrack: ct });
  const p = newFirewallPacket();
  const out = (seq: number, ack: number, flags: number) => {
    expect(parsePacket(tcp(ME, THEM, 40000, 80, seq, ack, flags), 0, 40, false, p)).toBe(0);
    expect(fw.drop(p, false, peer(), null)).toBe(DROP_NONE);
  };
  const inn = (seq: number, ack: number, flags: number) => {
    expect(parsePacket(tcp(THEM, ME, 80, 40000, seq, ack, flags), 0, 40, true, p)).toBe(0);
    expect(fw.drop(p, true, peer(), null)).toBe(DROP_NONE);
  };
  return { ct, out, inn };
}

describe('TCP RTT through conntrack', () => {
  it('SYN out, SYN-ACK in: one sample of the elapsed time', async () => {
    const { ct, out, inn } = setup();
    out(1000, 0, SYN);
    await new Promise((r) => setTimeout(r, 20));
    inn(5000, 1001, SYN | ACK);
    const { count, samplesNs } = ct.tcpRtt();
    expect(count).toBe(1);
    expect(samplesNs[0]!).toBeGreaterThanOrEqual(15e6);
    expect(samplesNs[0]!).toBeLessThan(5e9);
  });

  it('no sample without ACK, for an ack at or before the sequence, or twice for one sequence', () => {
    const { ct, out, inn } = setup();
    out(1000, 0, SYN);
    inn(5000, 0, SYN); // no ACK flag
    inn(5000, 1000, ACK); // acknowledges nothing new
    expect(ct.tcpRtt().count).toBe(0);
    inn(5000, 1001, ACK);
    inn(5000, 1001, ACK);
    expect(ct.tcpRtt().count).toBe(1);
  });

  it('a pending sequence is not replaced by later packets; FIN is never tracked', () => {
    const { ct, out, inn } = setup();
    out(1000, 0, SYN);
    out(2000, 0, ACK); // still waiting for 1000
    inn(5000, 1500, ACK); // beyond 1000: sample
    expect(ct.tcpRtt().count).toBe(1);
    out(3000, 0, FIN | ACK); // FIN: not tracked
    inn(5000, 4000, ACK);
    expect(ct.tcpRtt().count).toBe(1);
  });

  it('sequence numbers wrap (serial compare)', () => {
    const { ct, out, inn } = setup();
    out(0xffff_fff0, 0, ACK);
    inn(5000, 0x10, ACK);
    expect(ct.tcpRtt().count).toBe(1);
  });

  it('inbound-created flows are not measured (the RTT is ours to the peer)', () => {
    const { ct, out, inn } = setup();
    inn(5000, 0, SYN);
    inn(5001, 1, ACK);
    expect(ct.tcpRtt().count).toBe(0);
    // Our SYN-ACK on the existing entry starts a measurement, the peer's ACK completes it.
    out(1000, 5001, SYN | ACK);
    inn(5001, 1001, ACK);
    expect(ct.tcpRtt().count).toBe(1);
  });

  it(`keeps the last ${RTT_SAMPLES} samples and the total count`, () => {
    const { ct, out, inn } = setup();
    for (let i = 1; i <= RTT_SAMPLES + 10; i++) {
      out(i * 10, 0, ACK);
      inn(1, i * 10 + 1, ACK);
    }
    const r = ct.tcpRtt();
    expect(r.count).toBe(RTT_SAMPLES + 10);
    expect(r.samplesNs.length).toBe(RTT_SAMPLES);
  });

  it('a packet too short for the TCP flags is filtered but never measured', () => {
    const { ct } = setup();
    const p = newFirewallPacket();
    expect(parsePacket(tcp(ME, THEM, 1, 2, 1000, 0, SYN), 0, 30, false, p)).toBe(0);
    expect(p.tcpOff).toBe(-1);
    expect(ct.tcpRtt().count).toBe(0);
  });

  it('fuzz: arbitrary TCP packets both ways never throw; the count only grows; samples are sane', () => {
    const { ct } = setup();
    const fw = firewall(allowAll, { conntrack: ct });
    const p = newFirewallPacket();
    const who = peer();
    let last = 0;
    let n = 0;
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 20, maxLength: 80 }),
        fc.boolean(),
        fc.nat(8),
        (bytes, incoming, pad) => {
          const b = new Uint8Array(bytes.length + pad);
          b.set(bytes, pad);
          b[pad] = 0x45;
          b[pad + 6] = 0;
          b[pad + 7] = 0;
          b[pad + 9] = 6;
          // A few flows only, so outbound and inbound packets meet in the same entries.
          b.set([203, 0, 113, incoming ? 2 : 1, 203, 0, 113, incoming ? 1 : 2], pad + 12);
          if (b.length >= pad + 24) b.set(incoming ? [0, 80, 0, 9] : [0, 9, 0, 80], pad + 20);
          if (parsePacket(b, pad, bytes.length, incoming, p) !== 0) return;
          fw.drop(p, incoming, who, null);
          if (++n % 64 !== 0) return;
          const count = ct.tcpRtt().count;
          expect(count).toBeGreaterThanOrEqual(last);
          last = count;
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
    const r = ct.tcpRtt();
    expect(r.count).toBeGreaterThan(0); // the fuzz does reach the measuring path
    for (const ns of r.samplesNs) expect(ns).toBeGreaterThanOrEqual(0);
  });
});
