/**
 * UDP on loopback: `@nebula-ts/udp` (recvmmsg/sendmmsg, GSO/GRO on and off) against `node:dgram`,
 * at 64 and 1400 bytes. Sender and receiver are separate processes (forked from this file), so
 * neither shares the other's event loop or CPU accounting. Rates are packets per CPU-second of
 * the process doing the work (harness convention), plus wall-clock rates and loss for context.
 *
 * `pnpm bench udp [--seconds 2] [--sizes 64,1400] [--only native,native-gso,native-nogso,dgram]`
 */
import { type ChildProcess, fork } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { createSlots, openUdpSocket, parseAddr } from '@nebula-ts/udp';
import { measure, type OpResult, printTable } from '../harness.js';

// native: GSO send + GRO receive; native-gso: GSO send, receiver without GRO (the kernel splits
// on delivery); native-nogso: plain sendmmsg/recvmmsg.
type Impl = 'native' | 'native-gso' | 'native-nogso' | 'dgram';
const ROLE_FLAG = '--udp-bench-role';
const BATCH = 64;
const BUF = 8 << 20;

interface SendReport {
  sent: number;
  cpuUs: number;
  wallMs: number;
  gsoSends?: number;
}
interface RecvReport {
  received: number;
  cpuUs: number;
  wallMs: number;
  batches: number;
  groCoalesced?: number;
}

function cpuUs(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return c.user + c.system;
}

// ---- child roles -------------------------------------------------------------------------------

async function receiver(impl: Impl): Promise<void> {
  const send = (m: unknown) => process.send!(m);
  let received = 0;
  let batches = 0;
  let cpu0 = process.cpuUsage();
  let t0 = 0;
  let tLast = 0;
  let report: () => RecvReport;
  if (impl === 'dgram') {
    const s = dgram.createSocket({ type: 'udp4', recvBufferSize: BUF });
    s.on('message', () => {
      if (received === 0) t0 = Date.now();
      received++;
      tLast = Date.now();
    });
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    send({ port: s.address().port });
    report = () => ({ received, cpuUs: cpuUs(cpu0), wallMs: tLast - t0, batches: received });
  } else {
    const gro = impl === 'native';
    const s = openUdpSocket({ host: '127.0.0.1', readBuffer: BUF, gro });
    const slots = createSlots(BATCH);
    s.onBatch(slots, (n) => {
      if (received === 0) t0 = Date.now();
      received += n;
      batches++;
      tLast = Date.now();
    });
    send({ port: s.port });
    report = () => ({
      received,
      cpuUs: cpuUs(cpu0),
      wallMs: tLast - t0,
      batches,
      groCoalesced: s.stats().groCoalesced,
    });
  }
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'start') cpu0 = process.cpuUsage();
    if (m.cmd === 'report') send(report());
    if (m.cmd === 'exit') process.exit(0);
  });
}

async function sender(impl: Impl, port: number, size: number, seconds: number): Promise<void> {
  const payload = new Uint8Array(size).fill(0xab);
  const end = Date.now() + seconds * 1000;
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  let sent = 0;
  if (impl === 'dgram') {
    const s = dgram.createSocket({ type: 'udp4', sendBufferSize: BUF });
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    const buf = Buffer.from(payload);
    let inflight = 0;
    // 256 sends in flight, refilled from setImmediate (refilling from the callback starves timers).
    await new Promise<void>((done) => {
      const onSent = () => {
        inflight--;
        sent++;
      };
      const pump = () => {
        if (Date.now() >= end) {
          if (inflight === 0) done();
          else setImmediate(pump);
          return;
        }
        while (inflight < 256) {
          inflight++;
          s.send(buf, port, '127.0.0.1', onSent);
        }
        setImmediate(pump);
      };
      pump();
    });
    s.close();
    process.send!({ sent, cpuUs: cpuUs(cpu0), wallMs: Date.now() - t0 } satisfies SendReport);
    return;
  }
  const s = openUdpSocket({ host: '127.0.0.1', writeBuffer: BUF, gso: impl !== 'native-nogso' });
  const out = createSlots(BATCH);
  for (let i = 0; i < BATCH; i++) {
    out.buf.set(payload, out.offsets[i]!);
    out.lengths[i] = size;
    parseAddr(`127.0.0.1:${port}`, out.addrs, i);
  }
  // Synchronous loop: this process does nothing else; blocking sends give back-pressure.
  while (Date.now() < end) {
    for (let k = 0; k < 16; k++) sent += s.sendBatch(out.buf, out.offsets, out.lengths, out.addrs, BATCH);
  }
  const gsoSends = s.stats().gsoSends;
  s.close();
  process.send!({ sent, cpuUs: cpuUs(cpu0), wallMs: Date.now() - t0, gsoSends } satisfies SendReport);
}

// ---- parent ------------------------------------------------------------------------------------

const self = fileURLToPath(import.meta.url);

function spawn(args: string[]): ChildProcess {
  return fork(self, [ROLE_FLAG, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function next<T>(child: ChildProcess, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`bench child silent for ${ms} ms`)), ms);
    child.once('message', (m) => {
      clearTimeout(t);
      resolve(m as T);
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`bench child exited with ${code}`));
    });
  });
}

interface Row {
  impl: Impl;
  size: number;
  send: SendReport;
  recv: RecvReport;
}

async function pair(impl: Impl, size: number, seconds: number): Promise<Row> {
  const rx = spawn(['recv', impl]);
  let tx: ChildProcess | undefined;
  try {
    const { port } = await next<{ port: number }>(rx, 10_000);
    rx.send({ cmd: 'start' });
    tx = spawn(['send', impl, String(port), String(size), String(seconds)]);
    const send = await next<SendReport>(tx, seconds * 1000 + 15_000);
    await new Promise((r) => setTimeout(r, 300)); // let the receiver drain its queue
    rx.send({ cmd: 'report' });
    const recv = await next<RecvReport>(rx, 10_000);
    return { impl, size, send, recv };
  } finally {
    rx.kill();
    tx?.kill();
  }
}

function k(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`;
}

/**
 * In-process round trip (send 64 then drain 64, GSO/GRO off) through `measure`: ns and heap bytes
 * per batch, showing the path allocates nothing per packet.
 */
function micro(size: number, gro: boolean): OpResult {
  const rx = openUdpSocket({ host: '127.0.0.1', readBuffer: BUF, gro });
  const tx = openUdpSocket({ host: '127.0.0.1', writeBuffer: BUF, gso: false });
  const out = createSlots(BATCH);
  const inn = createSlots(BATCH);
  for (let i = 0; i < BATCH; i++) {
    out.lengths[i] = size;
    parseAddr(`127.0.0.1:${rx.port}`, out.addrs, i);
  }
  const res = measure(
    `send+recv ${BATCH} x ${size} B, no GSO, GRO ${gro ? 'on (scratch + copy)' : 'off (in place)'}`,
    2_000,
    () => {
      tx.sendBatch(out.buf, out.offsets, out.lengths, out.addrs, BATCH);
      let got = 0;
      for (let k = 0; k < 8 && got < BATCH; k++)
        got += rx.recvBatch(inn.buf, inn.offsets, inn.lengths, inn.addrs, BATCH - got, inn.slotCapacity);
    },
    3,
  );
  rx.close();
  tx.close();
  return res;
}

export async function run(args: string[]): Promise<void> {
  const opt = (name: string, dflt: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
  };
  const seconds = Number(opt('seconds', '2'));
  const sizes = opt('sizes', '64,1400').split(',').map(Number);
  const impls = opt('only', 'native,native-gso,native-nogso,dgram').split(',') as Impl[];
  const rows: Row[] = [];
  for (const size of sizes) for (const impl of impls) rows.push(await pair(impl, size, seconds));
  console.log(
    `udp loopback, ${seconds} s per pair, batch ${BATCH}, sender and receiver in separate processes`,
  );
  console.log(
    '| impl | size | send pkt/CPU-s | send pkt/s wall | recv pkt/CPU-s | recv pkt/s wall | loss | pkts/recv callback | GSO sends | GRO coalesced |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const sendCpu = r.send.sent / (r.send.cpuUs / 1e6);
    const sendWall = r.send.sent / (r.send.wallMs / 1e3);
    const recvCpu = r.recv.received / (r.recv.cpuUs / 1e6);
    const recvWall = r.recv.received / (Math.max(1, r.recv.wallMs) / 1e3);
    const loss = 1 - r.recv.received / Math.max(1, r.send.sent);
    const name = {
      native: 'native sendmmsg+GSO / recvmmsg+GRO',
      'native-gso': 'native sendmmsg+GSO / recvmmsg, no GRO',
      'native-nogso': 'native sendmmsg / recvmmsg, no GSO/GRO',
      dgram: 'node:dgram',
    }[r.impl];
    console.log(
      `| ${name} | ${r.size} | ${k(sendCpu)} | ${k(sendWall)} | ${k(recvCpu)} | ${k(recvWall)} | ${(loss * 100).toFixed(1)}% | ${(r.recv.received / Math.max(1, r.recv.batches)).toFixed(1)} | ${r.send.gsoSends ?? '-'} | ${r.recv.groCoalesced ?? '-'} |`,
    );
  }
  if (!args.includes('--no-micro')) {
    console.log('in-process round trip, one op = one batch of 64:');
    printTable(sizes.flatMap((size) => [micro(size, false), micro(size, true)]));
  }
  for (const size of sizes) {
    const d = rows.find((r) => r.impl === 'dgram' && r.size === size);
    if (d === undefined) continue;
    const dS = d.send.sent / d.send.cpuUs;
    const dR = d.recv.received / d.recv.cpuUs;
    for (const r of rows.filter((x) => x.size === size && x.impl !== 'dgram')) {
      console.log(
        `ratio ${r.impl} / dgram @${size} B: send ${(r.send.sent / r.send.cpuUs / dS).toFixed(1)}x, recv ${(r.recv.received / r.recv.cpuUs / dR).toFixed(1)}x (per CPU-second)`,
      );
    }
  }
}

// Forked child: `udp.js --udp-bench-role recv <impl>` / `send <impl> <port> <size> <seconds>`.
if (process.argv[2] === ROLE_FLAG) {
  const [role, impl, port, size, seconds] = process.argv.slice(3);
  if (role === 'recv') await receiver(impl as Impl);
  else await sender(impl as Impl, Number(port), Number(size), Number(seconds));
}
