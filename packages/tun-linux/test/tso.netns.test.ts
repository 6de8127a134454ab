/**
 * TCP segmentation offload on real devices: two `tso` tuns joined by a JS wire
 * (fixtures/tso-bridge.mjs), one in each of two namespaces we create. TCP between the namespaces
 * crosses the kernel's 64 KiB super-segments, our splitting on read and our merging on write.
 * Fails (never skips) without root.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { requireRoot, TCP_TRANSFER_SCRIPT } from '@nebula-ts/e2e';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TunOffloadStats } from '../src/index.js';
import { createNs, deleteNs, ipJson, ipText, requireBuilt } from './helpers/netns.js';
import { segmentBatch } from './helpers/tcp-segments.js';

const run = promisify(execFile);
const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const BRIDGE = fileURLToPath(new URL('./fixtures/tso-bridge.mjs', import.meta.url));
const MTU = 1300;
const A_IP = '203.0.113.1';
const B_IP = '203.0.113.2';

interface SideStats {
  reads: number;
  packets: number;
  maxLen: number;
  writeErrors: number;
  offload: TunOffloadStats;
}

class Bridge {
  readonly child: ChildProcessWithoutNullStreams;
  readonly #lines: Interface;
  readonly #waiting: ((line: string) => void)[] = [];
  stderr = '';

  constructor(ns: string, a: string, b: string) {
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, BRIDGE, a, b], { stdio: 'pipe' });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.#lines = createInterface({ input: this.child.stdout });
    this.#lines.on('line', (l) => this.#waiting.shift()?.(l));
  }

  /** The next line, or the stdin command's answer. */
  next<T>(command?: string, timeoutMs = 15_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`bridge: no answer in ${timeoutMs} ms; stderr: ${this.stderr}`)),
        timeoutMs,
      );
      this.#waiting.push((line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line) as T);
      });
      if (command !== undefined) this.child.stdin.write(`${command}\n`);
    });
  }

  async stats(): Promise<[SideStats, SideStats]> {
    return (await this.next<{ stats: [SideStats, SideStats] }>('stats')).stats;
  }

  stop(): void {
    this.child.stdin.end();
    setTimeout(() => this.child.kill('SIGKILL'), 2000).unref();
  }
}

const namespaces: string[] = [];
let bridge: Bridge | null = null;
let nsA = '';
let nsB = '';
let dir = '';

beforeAll(async () => {
  requireRoot();
  requireBuilt();
  nsA = createNs();
  nsB = createNs();
  namespaces.push(nsA, nsB);
  dir = mkdtempSync(join(tmpdir(), 'tso-'));
  writeFileSync(join(dir, 'tcp.mjs'), TCP_TRANSFER_SCRIPT);
  bridge = new Bridge(nsA, 'tsoa', 'tsob');
  expect(await bridge.next<{ ready: string[] }>()).toEqual({ ready: ['tsoa', 'tsob'] });
  // The wire's second device moves to the other namespace; its fd stays with the bridge.
  ipText(nsA, 'link', 'set', 'tsob', 'netns', nsB);
  ipText(nsA, 'addr', 'add', `${A_IP}/24`, 'dev', 'tsoa');
  ipText(nsA, 'link', 'set', 'tsoa', 'mtu', String(MTU), 'up');
  ipText(nsB, 'addr', 'add', `${B_IP}/24`, 'dev', 'tsob');
  ipText(nsB, 'link', 'set', 'tsob', 'mtu', String(MTU), 'up');
});

afterAll(() => {
  bridge?.stop();
  for (const ns of namespaces) deleteNs(ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function inNs(ns: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const r = await run('ip', ['netns', 'exec', ns, ...args], { timeout: timeoutMs, encoding: 'utf8' });
  return r.stdout;
}

async function transfer(fromNs: string, toNs: string, toIp: string, bytes: number, port: number) {
  const script = join(dir, 'tcp.mjs');
  const receiver = inNs(toNs, [process.execPath, script, 'recv', toIp, String(port)]);
  // The sender retries its connect until the receiver listens (bounded by its deadline).
  const sent = JSON.parse(
    await inNs(fromNs, [process.execPath, script, 'send', toIp, String(port), String(bytes), '20000']),
  ) as { sha: string };
  const received = JSON.parse(await receiver) as { sha: string; bytes: number };
  return { sent, received };
}

interface LinkStats {
  stats64: { tx: { bytes: number; packets: number }; rx: { bytes: number; packets: number } };
}

describe('tso tun queues', () => {
  it('carry TCP byte for byte both ways: super-segments split on read, runs merged on write', async () => {
    const before = await bridge!.stats();
    const fwd = await transfer(nsA, nsB, B_IP, 24 << 20, 5301);
    expect(fwd.received.bytes).toBe(24 << 20);
    expect(fwd.received.sha).toBe(fwd.sent.sha);
    const rev = await transfer(nsB, nsA, A_IP, 24 << 20, 5302);
    expect(rev.received.sha).toBe(rev.sent.sha);
    const [a, b] = await bridge!.stats();
    for (const [side, was] of [
      [a, before[0]],
      [b, before[1]],
    ] as const) {
      // The kernel handed over super-segments, and what left the reads fit the MTU.
      expect(side.offload.superReads).toBeGreaterThan(was.offload.superReads);
      expect(side.offload.segments - was.offload.segments).toBeGreaterThan(
        4 * (side.offload.superReads - was.offload.superReads),
      );
      expect(side.maxLen).toBeLessThanOrEqual(MTU);
      expect(side.offload.readDropped).toBe(0);
      // Runs went back to the kernel merged, and it never refused one.
      expect(side.offload.mergedPackets - was.offload.mergedPackets).toBeGreaterThan(
        4 * (side.offload.mergedWrites - was.offload.mergedWrites),
      );
      expect(side.offload.mergeRefused).toBe(0);
    }
    // The kernel's own counters: tsoa sent packets far above its MTU (the super-segments).
    const [link] = ipJson<LinkStats[]>(nsA, '-s', 'link', 'show', 'tsoa');
    expect(link!.stats64.tx.bytes / link!.stats64.tx.packets).toBeGreaterThan(MTU);
  });

  it('completes the checksums the kernel leaves partial (UDP arrives, none dropped as bad)', async () => {
    const before = (await bridge!.stats())[0].offload.checksumsCompleted;
    const recv = inNs(nsB, [
      process.execPath,
      '-e',
      `const s = require('node:dgram').createSocket('udp4'); let n = 0;
       s.on('message', () => { if (++n === 200) { console.log(n); process.exit(0); } });
       s.bind(5400, '${B_IP}', () => console.error('bound'));
       setTimeout(() => { console.log(n); process.exit(0); }, 8000);`,
    ]);
    await new Promise((r) => setTimeout(r, 300));
    await inNs(nsA, [
      process.execPath,
      '-e',
      `const s = require('node:dgram').createSocket('udp4'); let i = 0;
       const t = setInterval(() => { s.send(Buffer.alloc(300 + i, i), 5400, '${B_IP}');
         if (++i === 200) { clearInterval(t); setTimeout(() => s.close(), 100); } }, 2);`,
    ]);
    expect(Number((await recv).trim())).toBe(200);
    expect((await bridge!.stats())[0].offload.checksumsCompleted - before).toBeGreaterThanOrEqual(200);
    const udp = await inNs(nsB, ['cat', '/proc/net/snmp']);
    const [head, values] = udp.split('\n').filter((l) => l.startsWith('Udp:'));
    const inCsumErrors = values!.split(/\s+/)[head!.split(/\s+/).indexOf('InCsumErrors')];
    expect(inCsumErrors).toBe('0');
  });

  it('the kernel takes every merged write built from mutated segment runs', async () => {
    let written = 0;
    await fc.assert(
      fc.asyncProperty(segmentBatch(300, 24), async (batch) => {
        const hex = batch.map((p) => Buffer.from(p).toString('hex')).join(',');
        const r = await bridge!.next<{ written: number; error: string | null }>(`inject ${hex}`);
        // Only a packet the kernel finds malformed on its own (say, empty) may be refused.
        if (r.error !== null) expect(r.error).toMatch(/^E[A-Z]+$/);
        expect(r.written).toBeLessThanOrEqual(batch.length);
        written += r.written;
      }),
      { numRuns: Math.min(FUZZ_RUNS, 20_000) / 4 },
    );
    const [, b] = await bridge!.stats();
    expect(b.offload.mergeRefused).toBe(0);
    expect(written).toBeGreaterThan(0);
  });
});
