/**
 * openPacketQueue: a TunQueue over one end of a packet socket pair, the other end playing the
 * kernel. Batches go through the same native calls as on a device: plain packets as they are,
 * and with `tso` a virtio_net_hdr in front of each message, taken off on read and put on on write.
 */
import { closeSync, readSync, writeSync } from 'node:fs';
import { PacketPair } from '@nebula-ts/native-common';
import { describe, expect, it } from 'vitest';
import { openPacketQueue } from '../src/index.js';
import { icmpEcho, udp } from './helpers/packets.js';

const VNET_HDR_LEN = 10;
const SLOT = 2048;

function arena(n: number): { buf: Uint8Array; offsets: Uint32Array; lengths: Uint32Array } {
  const offsets = new Uint32Array(n);
  for (let i = 0; i < n; i++) offsets[i] = 16 + i * (SLOT + 32);
  return { buf: new Uint8Array(n * (SLOT + 32) + 32), offsets, lengths: new Uint32Array(n) };
}

function open(tso: boolean): { queue: ReturnType<typeof openPacketQueue>; kernel: number; close(): void } {
  const pair = new PacketPair();
  const queue = openPacketQueue(pair.release(0), { tso });
  const kernel = pair.release(1);
  return {
    queue,
    kernel,
    close() {
      queue.close();
      closeSync(kernel);
    },
  };
}

const packets = [
  icmpEcho('203.0.113.1', '203.0.113.2', 7, 1, new Uint8Array(56).fill(0xab)),
  udp('203.0.113.1', '203.0.113.2', 40000, 53, 100),
  icmpEcho('203.0.113.1', '203.0.113.2', 7, 2, new Uint8Array(1200).fill(0xcd)),
];

describe('openPacketQueue', () => {
  for (const tso of [false, true]) {
    it(`reads the kernel's messages as one batch and writes a batch as messages (tso ${tso})`, () => {
      const q = open(tso);
      try {
        expect(q.queue.tso).toBe(tso);
        const head = tso ? VNET_HDR_LEN : 0;
        for (const p of packets) {
          const m = new Uint8Array(head + p.length); // a zero header: no offload asked
          m.set(p, head);
          writeSync(q.kernel, m);
        }
        const a = arena(8);
        expect(q.queue.read(a.buf, a.offsets, a.lengths, 8, SLOT)).toBe(3);
        for (let i = 0; i < 3; i++)
          expect(a.buf.subarray(a.offsets[i]!, a.offsets[i]! + a.lengths[i]!)).toEqual(packets[i]);
        expect(q.queue.read(a.buf, a.offsets, a.lengths, 8, SLOT)).toBe(0);

        expect(q.queue.write(a.buf, a.offsets, a.lengths, 3)).toBe(3);
        const got = Buffer.alloc(SLOT);
        for (let i = 0; i < 3; i++) {
          const n = readSync(q.kernel, got);
          expect(n).toBe(head + packets[i]!.length);
          expect(new Uint8Array(got.subarray(head, n))).toEqual(packets[i]);
        }
        expect(() => readSync(q.kernel, got)).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
      } finally {
        q.close();
      }
    });
  }

  it('refuses an fd that is not one', () => {
    expect(() => openPacketQueue(-1)).toThrow(RangeError);
    expect(() => openPacketQueue(1.5)).toThrow(RangeError);
  });
});
