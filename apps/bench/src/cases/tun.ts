/**
 * tun-linux: packets per CPU-second written into and read out of one tun queue, at 64 and 1400
 * bytes (whole IPv4 packets), batch of 64 per native call vs one packet per call.
 *
 * Runs in a network namespace it creates (`ntunb-<pid>`, needs root):
 * - write: UDP packets 203.0.113.2 → 203.0.113.200 written to `bw0`; the kernel routes them to a
 *   blackhole route (cost of the write path without a socket).
 * - read: a generator process writes packets into `bg0` (203.0.113.64/26) addressed to
 *   203.0.113.150; the namespace forwards them out of `br0` (203.0.113.128/25), which this process
 *   reads. Two figures: draining a full ring (the read cost itself) and the event-loop path
 *   (`onReadable` + `read`, paced by the generator, so wake-ups are included). Only the reader's
 *   CPU is counted; the generator is another process.
 *
 * Usage: node --expose-gc dist/cli.js tun [seconds=2]
 */
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { configureNebulaTun, openTun, type TunQueue } from '@nebula-ts/tun-linux';
import { rate } from '../harness.js';

const SLOT = 9040;
const HEADROOM = 16;
const BATCH = 64;
const SIZES = [64, 1400] as const;
const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));

interface Arena {
  buf: Uint8Array;
  offsets: Uint32Array;
  lengths: Uint32Array;
}

function arena(): Arena {
  const offsets = new Uint32Array(BATCH);
  for (let i = 0; i < BATCH; i++) offsets[i] = i * SLOT + HEADROOM;
  return { buf: new Uint8Array(SLOT * BATCH), offsets, lengths: new Uint32Array(BATCH) };
}

function checksum(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i] << 8) | b[off + i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Fills every slot with an IPv4/UDP packet of `size` bytes (UDP checksum 0, varied ports). */
function fillUdp(a: Arena, size: number, src: number, dst: number): void {
  const v = new DataView(a.buf.buffer);
  for (let i = 0; i < BATCH; i++) {
    const o = a.offsets[i];
    a.buf.fill(0, o, o + size);
    v.setUint8(o, 0x45);
    v.setUint16(o + 2, size);
    v.setUint8(o + 8, 64);
    v.setUint8(o + 9, 17);
    v.setUint32(o + 12, src);
    v.setUint32(o + 16, dst);
    v.setUint16(o + 10, checksum(a.buf, o, 20));
    v.setUint16(o + 20, 40000 + i);
    v.setUint16(o + 22, 5000 + i);
    v.setUint16(o + 24, size - 20);
    a.lengths[i] = size;
  }
}

const ip = (s: string): number => s.split('.').reduce((x, o) => x * 256 + Number(o), 0) >>> 0;
const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`);

/** Reads through the event loop for `seconds`; returns packets per CPU-second and per wall-second. */
function readFor(
  q: TunQueue,
  a: Arena,
  perCall: number,
  seconds: number,
): Promise<{ pps: number; wall: number; packets: number }> {
  return new Promise((resolve) => {
    let packets = 0;
    const cap = SLOT - 2 * HEADROOM;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    q.onReadable(() => {
      // Drain to EAGAIN in calls of `perCall` packets.
      for (let guard = 0; guard < 1024; guard++) {
        const n = q.read(a.buf, a.offsets, a.lengths, perCall, cap);
        packets += n;
        if (n < perCall) break;
      }
    });
    setTimeout(() => {
      q.pause();
      const cpu = process.cpuUsage(cpu0);
      const wall = (performance.now() - t0) / 1000;
      resolve({ pps: packets / ((cpu.user + cpu.system) / 1e6), wall: packets / wall, packets });
    }, seconds * 1000);
  });
}

/**
 * Lets the generator fill the queue's ring (txqueuelen), then drains it to EAGAIN in calls of
 * `perCall`; only the drains are timed, so this is the read cost with packets waiting.
 */
async function drainFor(q: TunQueue, a: Arena, perCall: number, seconds: number): Promise<number> {
  const cap = SLOT - 2 * HEADROOM;
  let packets = 0;
  let cpuUs = 0;
  const end = Date.now() + seconds * 1000;
  for (let round = 0; round < 1000 && Date.now() < end; round++) {
    await new Promise((res) => setTimeout(res, 150));
    const cpu0 = process.cpuUsage();
    for (let guard = 0; guard < 1_000_000; guard++) {
      const n = q.read(a.buf, a.offsets, a.lengths, perCall, cap);
      packets += n;
      if (n < perCall) break;
    }
    const cpu = process.cpuUsage(cpu0);
    cpuUs += cpu.user + cpu.system;
  }
  return packets / (cpuUs / 1e6);
}

async function generator(size: number, seconds: number): Promise<void> {
  const dev = openTun({ name: 'bg0' });
  configureNebulaTun(dev, { vpnIp: '203.0.113.65', prefixLen: 26, txQueueLen: 1000 });
  const a = arena();
  fillUdp(a, size, ip('203.0.113.70'), ip('203.0.113.150'));
  process.stdout.write('ready\n');
  const end = Date.now() + seconds * 1000;
  const q = dev.queues[0];
  while (Date.now() < end) {
    for (let i = 0; i < 16; i++) q.write(a.buf, a.offsets, a.lengths, BATCH);
    // Yield now and then so a SIGTERM or stdin close is noticed.
    await new Promise((r) => setImmediate(r));
  }
  dev.close();
}

async function inner(seconds: number): Promise<void> {
  const rows: string[] = [];
  const a = arena();

  // Write path.
  const w = openTun({ name: 'bw0' });
  configureNebulaTun(w, { vpnIp: '203.0.113.1', prefixLen: 25 });
  execFileSync('ip', ['route', 'add', 'blackhole', '203.0.113.200/32']);
  for (const size of SIZES) {
    fillUdp(a, size, ip('203.0.113.2'), ip('203.0.113.200'));
    const q = w.queues[0];
    for (const perCall of [BATCH, 1]) {
      const r = rate(`write ${size} B x${perCall}`, seconds, perCall, () =>
        q.write(a.buf, a.offsets, a.lengths, perCall),
      );
      rows.push(`| write | ${size} | ${perCall} | ${fmt(r.pps)} | – |`);
    }
  }
  w.close();

  // Read path.
  execFileSync('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  const r = openTun({ name: 'br0' });
  // A long ring so each drain round reads thousands of packets.
  configureNebulaTun(r, { vpnIp: '203.0.113.129', prefixLen: 25, txQueueLen: 16384 });
  for (const size of SIZES) {
    for (const perCall of [BATCH, 1]) {
      const gen = spawn(process.execPath, [CLI, 'tun', '--gen', String(size), String(2 * seconds + 3)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((res, rej) => {
        gen.stdout.once('data', () => res());
        gen.once('exit', (c) => rej(new Error(`generator exited ${c}`)));
      });
      await new Promise((res) => setTimeout(res, 200));
      const drained = await drainFor(r.queues[0], a, perCall, seconds);
      const res = await readFor(r.queues[0], a, perCall, seconds);
      gen.kill('SIGTERM');
      await new Promise((res2) => gen.once('exit', res2));
      rows.push(`| read (drain a full ring) | ${size} | ${perCall} | ${fmt(drained)} | – |`);
      rows.push(
        `| read (onReadable, generator-paced) | ${size} | ${perCall} | ${fmt(res.pps)} | ${fmt(res.wall)} |`,
      );
    }
  }
  r.close();

  console.log(
    `tun-linux, one queue, ${seconds} s per case (kernel ${execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()}, Node ${process.version})`,
  );
  console.log('| path | packet B | per call | pkt per CPU-s | pkt per wall-s |');
  console.log('|---|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
}

export async function run(args: string[]): Promise<void> {
  if (args[0] === '--gen') return generator(Number(args[1]), Number(args[2]));
  const seconds = Number(args.find((x) => /^\d+(\.\d+)?$/.test(x)) ?? 2);
  if (args.includes('--inner')) return inner(seconds);
  if (process.getuid?.() !== 0)
    throw new Error('the tun bench needs root (it creates a network namespace and tun devices)');
  const ns = `ntunb-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync(
      'ip',
      ['netns', 'exec', ns, process.execPath, '--expose-gc', CLI, 'tun', '--inner', String(seconds)],
      {
        stdio: 'inherit',
        timeout: (seconds * 8 + 60) * 1000,
      },
    );
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}
