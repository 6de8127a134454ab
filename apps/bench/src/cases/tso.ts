/**
 * tun-linux `tso`: iperf3 TCP between two network namespaces whose only link is two tun devices
 * joined by a JS wire (read a batch from one, write it to the other), with plain queues and with
 * `tso` queues, interleaved. This isolates what the offload does to the tun side of a data path:
 * super-segments split on read, runs merged on write, against one packet per read and write.
 *
 * The wire runs in namespace a (`ntsob-<pid>-a`) and opens both devices there; the second moves to
 * namespace b with its fd still open. Reported: Gbit/s at the receiver, TCP retransmits, the wire's
 * CPU (% of one core) and its packets per CPU-second (MTU-sized packets handed to the caller).
 *
 * Usage: pnpm bench tso [--seconds S] [--reps N] [--streams P] (needs root and iperf3)
 */
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openTun } from '@nebula-ts/tun-linux';
import { median } from '../harness.js';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
const SLOT = 9088;
const HEADROOM = 16;
const BATCH = 64;
const MTU = 1300;
type Mode = 'plain' | 'tso';

/** The wire itself (`--wire <mode>` inside namespace a). */
function wire(mode: Mode): void {
  const devs = [openTun({ name: 'wa', tso: mode === 'tso' }), openTun({ name: 'wb', tso: mode === 'tso' })];
  let packets = 0;
  const join = (from: number, to: number): void => {
    const q = devs[from]!.queues[0]!;
    const out = devs[to]!.queues[0]!;
    const buf = new Uint8Array(SLOT * BATCH);
    const offsets = new Uint32Array(BATCH);
    const lengths = new Uint32Array(BATCH);
    for (let i = 0; i < BATCH; i++) offsets[i] = i * SLOT + HEADROOM;
    const drain = (): void => {
      for (let round = 0; round < 64; round++) {
        const n = q.read(buf, offsets, lengths, BATCH, SLOT - 2 * HEADROOM);
        if (n === 0) return;
        packets += n;
        try {
          out.write(buf, offsets, lengths, n);
        } catch {
          // EIO while the other device is not up yet
        }
        if (n < BATCH) return;
      }
      setImmediate(drain);
    };
    q.onReadable(() => drain());
  };
  join(0, 1);
  join(1, 0);
  console.log('ready');
  const rl = createInterface({ input: process.stdin });
  rl.on('line', () => {
    const u = process.cpuUsage();
    console.log(JSON.stringify({ cpuUs: u.user + u.system, packets }));
  });
  rl.on('close', () => {
    for (const d of devs) d.close();
    process.exit(0);
  });
}

interface Sample {
  mode: Mode;
  gbps: number;
  retrans: number;
  cpuPct: number;
  pktPerCpuS: number;
}

async function once(mode: Mode, seconds: number, streams: number): Promise<Sample> {
  const base = `ntsob-${process.pid}`;
  const a = `${base}-a`;
  const b = `${base}-b`;
  const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
  ip('netns', 'add', a);
  ip('netns', 'add', b);
  const child = spawn('ip', ['netns', 'exec', a, process.execPath, CLI, 'tso', '--wire', mode], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const next = (): Promise<string> =>
    new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error('tso wire: no answer in 10 s')), 10_000);
      lines.once('line', (l) => {
        clearTimeout(t);
        res(l);
      });
    });
  try {
    await next();
    ip('-n', a, 'link', 'set', 'wb', 'netns', b);
    ip('-n', a, 'addr', 'add', '203.0.113.1/24', 'dev', 'wa');
    ip('-n', a, 'link', 'set', 'wa', 'mtu', String(MTU), 'up');
    ip('-n', b, 'addr', 'add', '203.0.113.2/24', 'dev', 'wb');
    ip('-n', b, 'link', 'set', 'wb', 'mtu', String(MTU), 'up');
    const server = spawn('ip', ['netns', 'exec', b, 'iperf3', '-s', '-1', '-B', '203.0.113.2'], {
      stdio: 'ignore',
    });
    await new Promise((r) => setTimeout(r, 500));
    child.stdin.write('\n');
    const before = JSON.parse(await next()) as { cpuUs: number; packets: number };
    const out = execFileSync(
      'ip',
      ['netns', 'exec', a, 'iperf3', '-c', '203.0.113.2', '-t', String(seconds), '-P', String(streams), '-J'],
      { encoding: 'utf8', timeout: (seconds + 30) * 1000 },
    );
    child.stdin.write('\n');
    const after = JSON.parse(await next()) as { cpuUs: number; packets: number };
    server.kill();
    const j = JSON.parse(out) as {
      end: { sum_received: { bits_per_second: number }; sum_sent: { retransmits: number } };
    };
    const cpuS = (after.cpuUs - before.cpuUs) / 1e6;
    return {
      mode,
      gbps: j.end.sum_received.bits_per_second / 1e9,
      retrans: j.end.sum_sent.retransmits,
      cpuPct: (100 * cpuS) / seconds,
      pktPerCpuS: (after.packets - before.packets) / cpuS,
    };
  } finally {
    child.stdin.end();
    await new Promise((r) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        r(null);
      }, 3000);
      child.once('exit', () => {
        clearTimeout(t);
        r(null);
      });
    });
    for (const ns of [a, b]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  }
}

export async function run(args: string[]): Promise<void> {
  if (args[0] === '--wire') return wire(args[1] === 'tso' ? 'tso' : 'plain');
  const opt = (name: string, def: number): number => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const seconds = opt('--seconds', 5);
  const reps = opt('--reps', 3);
  const streams = opt('--streams', 1);
  if (process.getuid?.() !== 0) throw new Error('the tso bench needs root (namespaces and tun devices)');
  const samples: Sample[] = [];
  for (let rep = 0; rep < reps; rep++)
    for (const mode of (rep % 2 === 0 ? ['plain', 'tso'] : ['tso', 'plain']) as Mode[])
      samples.push(await once(mode, seconds, streams));
  console.log(
    `tun-linux tso: iperf3 -P ${streams} through two tuns (MTU ${MTU}) joined by a JS wire, ${reps} reps × ${seconds} s, medians (min–max)`,
  );
  console.log('| queues | Gbit/s | retransmits | wire CPU % | MTU packets per CPU-s |');
  console.log('|---|---:|---:|---:|---:|');
  for (const mode of ['plain', 'tso'] as Mode[]) {
    const s = samples.filter((x) => x.mode === mode);
    const g = s.map((x) => x.gbps);
    console.log(
      `| ${mode} | ${median(g).toFixed(2)} (${Math.min(...g).toFixed(2)}–${Math.max(...g).toFixed(2)}) | ${median(s.map((x) => x.retrans))} | ${median(s.map((x) => x.cpuPct)).toFixed(0)} | ${(median(s.map((x) => x.pktPerCpuS)) / 1e6).toFixed(2)}M |`,
    );
  }
}
