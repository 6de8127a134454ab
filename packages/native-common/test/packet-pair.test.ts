/**
 * PacketPair: a socketpair(SOCK_SEQPACKET) whose ends keep message boundaries (as a tun queue
 * does), are non-blocking, can be handed over, and are closed once.
 */
import { closeSync, fstatSync, readSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PacketPair } from '../src/index.js';

describe('PacketPair', () => {
  it('keeps message boundaries both ways and reads EAGAIN when empty', () => {
    const pair = new PacketPair();
    try {
      const [a, b] = pair.fds;
      writeSync(b, Buffer.from('one'));
      writeSync(b, Buffer.from('second'));
      writeSync(a, Buffer.from('back'));
      const buf = Buffer.alloc(64);
      expect(readSync(a, buf)).toBe(3);
      expect(buf.subarray(0, 3).toString()).toBe('one');
      expect(readSync(a, buf)).toBe(6);
      expect(buf.subarray(0, 6).toString()).toBe('second');
      expect(() => readSync(a, buf)).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
      expect(readSync(b, buf)).toBe(4);
    } finally {
      pair.close();
    }
  });

  it('release hands an end over: close() leaves it open, and a second release refuses', () => {
    const pair = new PacketPair();
    const kept = pair.release(0);
    try {
      expect(pair.fds[0]).toBe(-1);
      expect(() => pair.release(0)).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_CLOSED' }));
      const other = pair.fds[1];
      pair.close();
      expect(pair.fds).toEqual([-1, -1]);
      pair.close(); // twice is a no-op
      expect(() => fstatSync(other)).toThrow(expect.objectContaining({ code: 'EBADF' }));
      expect(fstatSync(kept).isSocket()).toBe(true);
      // Its peer is gone: the kept end sees a broken pipe (node ignores SIGPIPE).
      expect(() => writeSync(kept, Buffer.from('x'))).toThrow(expect.objectContaining({ code: 'EPIPE' }));
    } finally {
      closeSync(kept);
    }
  });
});
