import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HEADER_LEN,
  Header,
  MessageType,
  messageSubTypeName,
  messageTypeName,
  parseHeader,
  readCounter,
  writeHeader,
  writeRecvError,
} from '../src/index.js';
import { hex, stage1Packet, toHex, vectors } from './vectors.js';

const numRuns = Number(process.env.FUZZ_RUNS ?? 2000);

describe('header', () => {
  it('recv_error vector (header.md §5)', () => {
    const b = new Uint8Array(20).fill(0xaa);
    expect(writeRecvError(b, 2, 0xdeadbeef)).toBe(18);
    expect(toHex(b.subarray(2, 18))).toBe('12000000deadbeef0000000000000000');
    expect(b[1]).toBe(0xaa);
    expect(b[18]).toBe(0xaa);
  });

  it('parses the vector packets', () => {
    const h = new Header();
    expect(parseHeader(stage1Packet, 0, stage1Packet.length, h)).toBe(true);
    expect([h.version, h.type, h.subtype, h.remoteIndex, h.counter]).toEqual([1, 0, 0, 0, 1]);
    const d = vectors.aes.data;
    expect(parseHeader(d, 0, d.length, h)).toBe(true);
    expect([h.type, h.subtype, h.remoteIndex, h.counter]).toEqual([1, 0, 0x55667788, 3]);
    const t = vectors.chachapoly.testReply;
    expect(parseHeader(t, 0, t.length, h)).toBe(true);
    expect([h.type, h.subtype, h.remoteIndex, h.counter]).toEqual([MessageType.Test, 1, 0x11223344, 3]);
    expect(messageTypeName(h.type)).toBe('test');
    expect(messageSubTypeName(h.type, h.subtype)).toBe('testReply');
  });

  it('writes the vector headers and large counters exactly', () => {
    const b = new Uint8Array(16);
    writeHeader(b, 0, MessageType.Message, 0, 0x55667788, 3);
    expect(toHex(b)).toBe(toHex(vectors.aes.data.subarray(0, 16)));
    writeHeader(b, 0, MessageType.Control, 0, 1, 2 ** 53 - 1);
    expect(toHex(b)).toBe('160000000000000100' + '1fffffffffffff');
    const h = new Header();
    parseHeader(b, 0, 16, h);
    expect(h.counter).toBe(2 ** 53 - 1);
    expect([h.counterHi, h.counterLo]).toEqual([0x1fffff, 0xffffffff]);
    expect(readCounter(b, 0)).toBe(2 ** 53 - 1);
  });

  it('rejects short packets (1-byte punches) and out-of-range offsets', () => {
    const h = new Header();
    expect(parseHeader(Uint8Array.of(1), 0, 1, h)).toBe(false);
    expect(parseHeader(new Uint8Array(15), 0, 15, h)).toBe(false);
    expect(parseHeader(new Uint8Array(20), 5, 16, h)).toBe(false);
    expect(parseHeader(new Uint8Array(20), 4, 16, h)).toBe(true);
    // Version is reported, not enforced (as Go 1.6.1).
    expect(parseHeader(hex('21000000000000000000000000000000'), 0, 16, h)).toBe(true);
    expect([h.version, h.type]).toEqual([2, 1]);
  });

  it('names types and subtypes as Nebula logs them', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(messageTypeName)).toEqual([
      'handshake',
      'message',
      'recvError',
      'lightHouse',
      'test',
      'closeTunnel',
      'control',
      'unknown',
    ]);
    expect(messageSubTypeName(0, 0)).toBe('ix_psk0');
    expect(messageSubTypeName(1, 0)).toBe('none');
    expect(messageSubTypeName(1, 1)).toBe('relay');
    expect(messageSubTypeName(4, 0)).toBe('testRequest');
    expect(messageSubTypeName(2, 0)).toBe('none');
    expect(messageSubTypeName(1, 9)).toBe('unknown');
  });

  it('fuzz: parse never throws and round-trips write', () => {
    const h = new Header();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(50), fc.nat(50), (buf, off, len) => {
        const ok = parseHeader(buf, off, len, h);
        expect(ok).toBe(len >= HEADER_LEN && off + HEADER_LEN <= buf.length);
        if (ok) {
          const out = new Uint8Array(16);
          writeHeader(out, 0, h.type, h.subtype, h.remoteIndex, 0);
          expect(toHex(out.subarray(0, 8))).toBe(
            toHex(Uint8Array.of(0x10 | h.type, h.subtype, 0, 0, ...buf.subarray(off + 4, off + 8))),
          );
          expect(h.counterHi * 2 ** 32 + h.counterLo).toBe(h.counter);
        }
      }),
      { numRuns },
    );
    fc.assert(
      fc.property(fc.nat(15), fc.nat(255), fc.nat({ max: 0xffffffff }), fc.maxSafeNat(), (t, s, ri, c) => {
        const b = new Uint8Array(16);
        writeHeader(b, 0, t, s, ri, c);
        expect(parseHeader(b, 0, 16, h)).toBe(true);
        expect([h.version, h.type, h.subtype, h.reserved, h.remoteIndex, h.counter]).toEqual([
          1,
          t,
          s,
          0,
          ri,
          c,
        ]);
      }),
      { numRuns },
    );
  });
});
