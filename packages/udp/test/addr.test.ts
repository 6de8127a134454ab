import { describe, expect, it } from 'vitest';
import {
  createAddrs,
  formatAddr,
  hostToBytes16,
  isUdpError,
  parseAddr,
  sameAddr,
  setAddr,
  UdpAddressError,
  UdpRangeError,
} from '../src/index.js';

describe('address slots', () => {
  it('packs IPv4 as family 4 with a big-endian uint32 and round-trips', () => {
    const a = createAddrs(2);
    parseAddr('192.0.2.1:4242', a, 1);
    expect(Array.from(a.subarray(6, 12))).toEqual([4, 4242, 0xc0000201, 0, 0, 0]);
    expect(formatAddr(a, 1)).toBe('192.0.2.1:4242');
  });

  it('packs IPv6 as four big-endian words and prints RFC 5952 form', () => {
    const a = createAddrs(1);
    parseAddr('[2001:db8::1]:53', a, 0);
    expect(Array.from(a)).toEqual([6, 53, 0x20010db8, 0, 0, 1]);
    expect(formatAddr(a, 0)).toBe('[2001:db8::1]:53');
    for (const t of ['[::]:0', '[::1]:1', '[fe80:0:0:1::1]:9', '[1:2:3:4:5:6:7:8]:65535', '[1::5:6:7:8]:7']) {
      parseAddr(t, a, 0);
      expect(formatAddr(a, 0)).toBe(t);
    }
    parseAddr('[1:0:0:2:0:0:0:3]:1', a, 0);
    expect(formatAddr(a, 0)).toBe('[1:0:0:2::3]:1');
  });

  it('reports v4-mapped IPv6 as family 4', () => {
    const a = createAddrs(2);
    parseAddr('[::ffff:10.1.2.3]:5', a, 0);
    parseAddr('10.1.2.3:5', a, 1);
    expect(a[0]).toBe(4);
    expect(sameAddr(a, 0, a, 1)).toBe(true);
    setAddr(a, 1, '10.1.2.3', 6);
    expect(sameAddr(a, 0, a, 1)).toBe(false);
  });

  it('converts listen.host to the 16 bytes 1.6.1 binds', () => {
    expect(Array.from(hostToBytes16('0.0.0.0'))).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 0, 0, 0, 0,
    ]);
    expect(Array.from(hostToBytes16('::'))).toEqual(new Array(16).fill(0));
    expect(Array.from(hostToBytes16('[::1]'))).toEqual([...new Array(15).fill(0), 1]);
    expect(Array.from(hostToBytes16('127.0.0.1')).slice(10)).toEqual([255, 255, 127, 0, 0, 1]);
  });

  it('rejects malformed addresses with TypeError and bad ports with RangeError', () => {
    const a = createAddrs(1);
    for (const bad of [
      '1.2.3:80',
      '1.2.3.256:80',
      '01.2.3.4:80',
      'host:80',
      '::1:80',
      '[1::2::3]:80',
      '[::1]',
      '1.2.3.4',
    ]) {
      let err: unknown;
      try {
        parseAddr(bad, a, 0);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(TypeError);
      expect(err).toBeInstanceOf(UdpAddressError);
      expect(isUdpError(err) && err.code).toBe('ERR_UDP_INVALID_ADDRESS');
    }
    expect(() => parseAddr('1.2.3.4:65536', a, 0)).toThrow(RangeError);
    expect(() => parseAddr('1.2.3.4:-1', a, 0)).toThrow(UdpRangeError);
    expect(() => setAddr(a, 1, '1.2.3.4', 1)).toThrow(RangeError);
    expect(() => hostToBytes16('localhost')).toThrow(TypeError);
    expect(() => hostToBytes16('fe80::1%eth0')).toThrow(TypeError);
  });
});
