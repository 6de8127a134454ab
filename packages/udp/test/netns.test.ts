import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { requireRoot } from '@nebula-ts/e2e';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltDist } from './helpers.js';

// A namespace of our own whose loopback has a 1500-byte MTU, so a GSO segment can exceed the path
// MTU (the kernel refuses the segmented send) without touching the host's network.
const ns = `nbts-udp-${process.pid}`;
let entry = '';

describe('GSO fallback when the kernel refuses a segmented send (netns, lo mtu 1500)', () => {
  beforeAll(() => {
    requireRoot();
    entry = requireBuiltDist();
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'mtu', '1500', 'up']);
  });
  afterAll(() => {
    try {
      execFileSync('ip', ['netns', 'del', ns]);
    } catch {
      // not created
    }
  });

  it('resends the run unsegmented (fragmented), keeps GSO for segments that fit', () => {
    const script = `
      const { openUdpSocket, createSlots, parseAddr } = await import(${JSON.stringify(pathToFileURL(entry).href)});
      const rx = openUdpSocket({ host: '127.0.0.1', gro: false, readBuffer: 4 << 20 });
      const tx = openUdpSocket({ host: '127.0.0.1' });
      const send = (size, n) => {
        const out = createSlots(n);
        for (let i = 0; i < n; i++) {
          out.lengths[i] = size;
          out.buf.fill(i + 1, out.offsets[i], out.offsets[i] + size);
          parseAddr('127.0.0.1:' + rx.port, out.addrs, i);
        }
        return tx.sendBatch(out.buf, out.offsets, out.lengths, out.addrs, n);
      };
      const sentBig = send(2000, 4);
      const afterBig = tx.stats();
      const sentSmall = send(1000, 4);
      const afterSmall = tx.stats();
      await new Promise((r) => setTimeout(r, 50));
      const inn = createSlots(64);
      const n = rx.recvBatch(inn.buf, inn.offsets, inn.lengths, inn.addrs, 64, inn.slotCapacity);
      const got = [];
      for (let i = 0; i < n; i++) got.push([inn.lengths[i], inn.buf[inn.offsets[i]], inn.buf[inn.offsets[i] + inn.lengths[i] - 1]]);
      console.log(JSON.stringify({ sentBig, sentSmall, afterBig, afterSmall, got }));`;
    const text = execFileSync(
      'ip',
      ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
        timeout: 15_000,
      },
    );
    const r = JSON.parse(text) as {
      sentBig: number;
      sentSmall: number;
      afterBig: { gso: boolean; gsoSends: number; sendErrors: number };
      afterSmall: { gso: boolean; gsoSends: number; sendErrors: number };
      got: [number, number, number][];
    };
    expect(r.sentBig).toBe(4);
    expect(r.afterBig).toMatchObject({ gso: true, gsoSends: 0, sendErrors: 0 });
    expect(r.sentSmall).toBe(4);
    expect(r.afterSmall).toMatchObject({ gso: true, gsoSends: 1, sendErrors: 0 });
    expect(r.got).toEqual([
      [2000, 1, 1],
      [2000, 2, 2],
      [2000, 3, 3],
      [2000, 4, 4],
      [1000, 1, 1],
      [1000, 2, 2],
      [1000, 3, 3],
      [1000, 4, 4],
    ]);
  });
});
