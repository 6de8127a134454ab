import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeMeta,
  decodeMetaInto,
  encodeMeta,
  MetaType,
  metaSize,
  metaToJSON,
  NebulaMeta,
} from '../src/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);

function encode(m: NebulaMeta): Uint8Array {
  const buf = new Uint8Array(9001);
  const n = encodeMeta(m, buf, 0);
  expect(n).toBe(metaSize(m));
  return buf.slice(0, n);
}

describe('NebulaMeta vectors (vectors.md §3, lighthouse.md §1)', () => {
  it('HostQuery for 10.42.0.2', () => {
    const m = new NebulaMeta();
    m.type = MetaType.HostQuery;
    m.details.vpnIp = 0x0a2a0002;
    expect(toHex(encode(m))).toBe('08011205088280a851');
    const d = decodeMeta(hex('08011205088280a851'));
    expect(d.type).toBe(1);
    expect(d.hasDetails).toBe(true);
    expect(d.details.vpnIp).toBe(0x0a2a0002);
  });

  it('HostUpdateNotification with v4, v6 and a packed relay round-trips', () => {
    const v = '08031227088180a8511209088a8480800c109221220f088080808080b7c3802010011892212a048980a851';
    const m = decodeMeta(hex(v));
    expect(metaToJSON(m)).toMatchObject({
      type: 3,
      vpnIp: 0x0a2a0001,
      ip4: [{ ip: 0xc000020a, port: 4242 }],
      ip6: [{ w: [0x20010db8, 0, 0, 1], port: 4242 }],
      relays: [0x0a2a0009],
    });
    expect(toHex(encode(m))).toBe(v);
  });

  it('Go node HostUpdateNotification prefix decodes (192.0.2.2:4300, fd01::2)', () => {
    const m = new NebulaMeta();
    m.type = 3;
    m.details.vpnIp = 0x0a010303;
    m.details.addIp4(0xc0000202, 4300);
    m.details.addIp6(0xfd010000, 0, 0, 2, 4300);
    const h = toHex(encode(m));
    // the observed bytes after the Details length: VpnIp, then the Ip4AndPort, then an Ip6AndPort
    expect(h.slice(0, 4)).toBe('0803');
    expect(h.slice(8).startsWith('088386845012090882848080' + '0c10cc2122')).toBe(true);
  });

  it('always writes Details, omits zero scalars, writes empty embedded messages', () => {
    const m = new NebulaMeta();
    expect(toHex(encode(m))).toBe('1200');
    m.details.addIp4(0, 0);
    expect(toHex(encode(m))).toBe('12021200');
  });

  it('negative enum encodes as a 10-byte varint and decodes back', () => {
    const m = new NebulaMeta();
    m.type = -1;
    const b = encode(m);
    expect(b.length).toBe(1 + 10 + 2);
    expect(decodeMeta(b).type).toBe(-1);
  });

  it('accepts unpacked relays, skips unknown fields and groups, merges repeated Details', () => {
    // Details{relay 5 unpacked, relay 6 unpacked}, unknown field 9 varint, group 10 {field 1 varint}, Details{VpnIp 7}
    const b = hex('1204 2805 2806 4801 530801 54 1202 0807');
    const m = decodeMeta(b);
    expect(metaToJSON(m).relays).toEqual([5, 6]);
    expect(m.details.vpnIp).toBe(7);
  });

  it('rejects malformed input', () => {
    const meta = new NebulaMeta();
    for (const bad of [
      '12',
      '1205',
      '0a00',
      '08ffffffffffffffffffff01',
      '00',
      '1201',
      '1202 1001',
      '5c',
      '1202 0a00',
    ]) {
      const b = hex(bad);
      expect(decodeMetaInto(b, 0, b.length, meta), bad).toBe(false);
    }
    // a message without Details decodes but has no Details
    expect(decodeMetaInto(hex('0801'), 0, 2, meta)).toBe(true);
    expect(meta.hasDetails).toBe(false);
  });

  it('decodes at an offset and reuses pooled address objects', () => {
    const m = new NebulaMeta();
    m.type = 2;
    for (let i = 0; i < 5; i++) m.details.addIp4(0x01020300 + i, 1000 + i);
    const body = encode(m);
    const framed = new Uint8Array(body.length + 20);
    framed.set(body, 16);
    const into = new NebulaMeta();
    expect(decodeMetaInto(framed, 16, body.length, into)).toBe(true);
    const first = into.details.ip4[0];
    expect(decodeMetaInto(framed, 16, body.length, into)).toBe(true);
    expect(into.details.ip4[0]).toBe(first);
    expect(into.details.ip4Count).toBe(5);
    expect(into.details.ip4.length).toBe(5);
  });
});

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const metaArb = fc.record({
  type: fc.integer({ min: -3, max: 12 }),
  vpnIp: u32,
  counter: u32,
  ip4: fc.array(fc.tuple(u32, u32), { maxLength: 12 }),
  ip6: fc.array(fc.tuple(u32, u32, u32, u32, u32), { maxLength: 12 }),
  relays: fc.array(u32, { maxLength: 12 }),
});

describe('NebulaMeta fuzz', () => {
  it('encode → decode round-trips and re-encodes byte-identically', () => {
    const into = new NebulaMeta();
    const buf = new Uint8Array(9001);
    fc.assert(
      fc.property(metaArb, (x) => {
        const m = new NebulaMeta();
        m.type = x.type;
        m.details.vpnIp = x.vpnIp;
        m.details.counter = x.counter;
        for (const [ip, port] of x.ip4) m.details.addIp4(ip, port);
        for (const [a, b, c, d, port] of x.ip6) m.details.addIp6(a, b, c, d, port);
        for (const r of x.relays) m.details.addRelay(r);
        const n = encodeMeta(m, buf, 0);
        expect(decodeMetaInto(buf, 0, n, into)).toBe(true);
        const a = metaToJSON(m);
        const b = metaToJSON(into);
        expect({ ...b, hasDetails: false }).toEqual({ ...a, hasDetails: false });
        const again = new Uint8Array(9001);
        expect(toHex(again.subarray(0, encodeMeta(into, again, 0)))).toBe(toHex(buf.subarray(0, n)));
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary bytes never throw and never read out of bounds', () => {
    const into = new NebulaMeta();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), fc.nat(8), (bytes, cut) => {
        const len = Math.max(0, bytes.length - cut);
        const ok = decodeMetaInto(bytes, 0, len, into);
        if (ok) {
          // whatever decoded must re-encode and decode to the same thing
          const buf = new Uint8Array(9001);
          const n = encodeMeta(into, buf, 0);
          const again = new NebulaMeta();
          expect(decodeMetaInto(buf, 0, n, again)).toBe(true);
          expect({ ...metaToJSON(again), hasDetails: false }).toEqual({
            ...metaToJSON(into),
            hasDetails: false,
          });
        }
      }),
      { numRuns: RUNS },
    );
  });
});
