import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeControl,
  decodeHandshake,
  encodeControl,
  encodeHandshake,
  isProtocolError,
  type NebulaControl,
  NebulaControlType,
} from '../src/index.js';
import { alphaNoKey, hex, stage1Packet, toHex } from './vectors.js';

const numRuns = Number(process.env.FUZZ_RUNS ?? 2000);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (!isProtocolError(e)) throw e;
    return e.code;
  }
}

describe('NebulaHandshake payload', () => {
  it('decodes the stage-1 vector payload', () => {
    const hs = decodeHandshake(stage1Packet.subarray(16 + 64));
    expect(toHex(hs.details.cert)).toBe(toHex(alphaNoKey));
    expect(hs.details.initiatorIndex).toBe(0x11223344);
    expect(hs.details.responderIndex).toBe(0);
    expect(hs.details.time).toBe(1700000000000000000n);
    expect(hs.details.cookie).toBe(0n);
    expect(hs.hmac.length).toBe(0);
  });

  it('encodes in Go field order with zeros omitted; empty Details is still present', () => {
    expect(toHex(encodeHandshake({ details: {} }))).toBe('0a00');
    expect(
      toHex(encodeHandshake({ details: { cert: Uint8Array.of(1, 2, 3), initiatorIndex: 1234, time: 99n } })),
    ).toBe('0a0a0a0301020310d2092863');
    expect(
      toHex(
        encodeHandshake({
          details: { initiatorIndex: 1, responderIndex: 0xffffffff, cookie: 2n ** 64n - 1n, time: 5n },
          hmac: Uint8Array.of(9),
        }),
      ),
    ).toBe('0a151001' + '18ffffffff0f' + '20ffffffffffffffffff01' + '2805' + '120109');
  });

  it('accepts any order, merges repeated Details, skips unknown fields and groups', () => {
    // Details{ time=5 } ; unknown varint f9 ; Details{ ii=7 } ; unknown fixed32, fixed64, group
    const b = hex('0a022805' + '4801' + '0a021007' + '3d01020304' + '410102030405060708' + '5b0801' + '5c');
    const hs = decodeHandshake(b);
    expect(hs.details.time).toBe(5n);
    expect(hs.details.initiatorIndex).toBe(7);
    // uint32 fields keep the low 32 bits of a wider varint, as Go's generated code does.
    expect(decodeHandshake(hex('0a0610ffffffff1f')).details.initiatorIndex).toBe(0xffffffff);
  });

  it('typed errors: missing Details, truncation, overlong varint, wrong wire type', () => {
    expect(codeOf(() => decodeHandshake(new Uint8Array(0)))).toBe('ERR_HANDSHAKE_NO_DETAILS');
    expect(codeOf(() => decodeHandshake(hex('120101')))).toBe('ERR_HANDSHAKE_NO_DETAILS');
    expect(codeOf(() => decodeHandshake(hex('0a05')))).toBe('ERR_PROTO_TRUNCATED');
    expect(codeOf(() => decodeHandshake(hex('0a02108')))).toBe('ERR_PROTO_TRUNCATED');
    expect(codeOf(() => decodeHandshake(hex('0a0b28ffffffffffffffffffff01')))).toBe('ERR_PROTO_VARINT');
    expect(codeOf(() => decodeHandshake(hex('0801')))).toBe('ERR_PROTO_WIRE_TYPE');
    expect(codeOf(() => decodeHandshake(hex('0a021201')))).toBe('ERR_PROTO_WIRE_TYPE');
    expect(codeOf(() => decodeHandshake(hex('0a020a05')))).toBe('ERR_PROTO_TRUNCATED');
    expect(codeOf(() => decodeHandshake(hex('0a020a01')))).toBe('ERR_PROTO_TRUNCATED');
    expect(codeOf(() => decodeHandshake(hex('0a021500000000')))).toBe('ERR_PROTO_WIRE_TYPE');
    expect(codeOf(() => decodeHandshake(hex('0000')))).toBe('ERR_PROTO_WIRE_TYPE');
    expect(codeOf(() => decodeHandshake(hex('0f')))).toBe('ERR_PROTO_WIRE_TYPE');
    expect(codeOf(() => decodeHandshake(hex('5b')))).toBe('ERR_PROTO_TRUNCATED');
    expect(codeOf(() => decodeHandshake(hex('5b64')))).toBe('ERR_PROTO_WIRE_TYPE');
    expect(codeOf(() => decodeHandshake(hex('0a00' + '8a80808080808080800100')))).toBe('ERR_PROTO_WIRE_TYPE');
  });

  it('fuzz: arbitrary bytes decode or throw a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        codeOf(() => decodeHandshake(b));
      }),
      { numRuns },
    );
  });

  it('fuzz: encode/decode round trip, and mutations of valid encodings stay typed', () => {
    const details = fc.record({
      cert: fc.uint8Array({ maxLength: 300 }),
      initiatorIndex: fc.nat({ max: 0xffffffff }),
      responderIndex: fc.nat({ max: 0xffffffff }),
      cookie: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      time: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    });
    fc.assert(
      fc.property(details, fc.uint8Array({ maxLength: 40 }), fc.nat(), fc.nat(255), (d, hmac, pos, val) => {
        const enc = encodeHandshake({ details: d, hmac });
        const dec = decodeHandshake(enc);
        expect(dec.details).toEqual(d);
        expect(toHex(dec.hmac)).toBe(toHex(hmac));
        expect(toHex(encodeHandshake(dec))).toBe(toHex(enc));
        const m = enc.slice();
        m[pos % m.length] = val;
        codeOf(() => decodeHandshake(m));
        codeOf(() => decodeHandshake(enc.subarray(0, pos % enc.length)));
      }),
      { numRuns },
    );
  });
});

describe('NebulaControl', () => {
  const req: NebulaControl = {
    type: NebulaControlType.CreateRelayRequest,
    initiatorRelayIndex: 0xaabbccdd,
    responderRelayIndex: 0,
    relayToIp: 0x0a2a0002,
    relayFromIp: 0x0a2a0001,
  };

  it('CreateRelayRequest vector (vectors.md §3)', () => {
    expect(toHex(encodeControl(req))).toBe('080110dd99efd50a208280a851288180a851');
    expect(decodeControl(hex('080110dd99efd50a208280a851288180a851'))).toEqual(req);
  });

  it('negative enum values round trip as 10-byte varints; errors are typed', () => {
    const c = { ...req, type: -1 };
    const e = encodeControl(c);
    expect(toHex(e.subarray(0, 11))).toBe('08ffffffffffffffffff01');
    expect(decodeControl(e)).toEqual(c);
    expect(codeOf(() => decodeControl(hex('1a00')))).toBe('ERR_PROTO_WIRE_TYPE');
    expect(codeOf(() => decodeControl(hex('10ff')))).toBe('ERR_PROTO_TRUNCATED');
    expect(decodeControl(new Uint8Array(0))).toEqual({
      type: 0,
      initiatorRelayIndex: 0,
      responderRelayIndex: 0,
      relayToIp: 0,
      relayFromIp: 0,
    });
  });

  it('fuzz: round trip and arbitrary bytes', () => {
    const u32 = fc.nat({ max: 0xffffffff });
    fc.assert(
      fc.property(
        fc.record({
          type: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
          initiatorRelayIndex: u32,
          responderRelayIndex: u32,
          relayToIp: u32,
          relayFromIp: u32,
        }),
        (c) => {
          expect(decodeControl(encodeControl(c))).toEqual(c);
        },
      ),
      { numRuns },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (b) => {
        codeOf(() => decodeControl(b));
      }),
      { numRuns },
    );
  });
});
