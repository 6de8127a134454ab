/**
 * `nebula-bench hops` (issue #9, the RTT goal): where a ping's round trip goes inside each node,
 * from syscall tracepoints. For each pair it starts fresh nodes, records
 * `raw_syscalls:sys_enter/sys_exit` of both node processes with `perf record` during a ping series
 * a → b, and reports per data-path thread the user-space gap between consecutive syscalls (the
 * node's own code on a packet's hop: Go's and ours, measured the same way) and the time inside
 * its tun writes and UDP sends. Tracepoints cost ~1 µs per syscall, on both kinds of node alike.
 *
 *   cd apps/bench && node dist/cli.js hops --pairs go-go,ts-go,go-ts,ts-ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary, requireGoNebula, requireRoot, Testnet } from '@nebula-ts/e2e';
import { fixed, median, parseFlags, parseOrUsage, progress, sleep } from '../harness.js';
import { parsePerfScript, type Step, type ThreadHops, threadHops } from '../hops/syscalls.js';
import {
  checkTsB,
  type Impl,
  implsOf,
  PAIRS,
  type Pair,
  parsePairs,
  startFreshPair,
  trafficBurst,
} from '../pairs.js';
import { runPing } from '../throughput/iperf.js';
import { processTree } from '../throughput/proc.js';

interface HopsOptions {
  reps: number;
  pairs: Pair[];
  count: number;
  intervalSec: number;
  idleSec: number;
  trafficSec: number;
  tsB: string | undefined;
}

const USAGE = `usage: nebula-bench hops [--reps 3] [--pairs go-go,ts-go,go-ts,ts-ts] [--count 200] [--interval 0.01] [--idle 2]
                         [--traffic 0] [--ts-b DIR]
  --traffic S   iperf3 a->b seconds (then --idle again) before the traced series: the "after traffic"
                condition of \`rtt\`; 0 traces fresh nodes
  --ts-b DIR    a second build of ours (a built checkout) as impl "tsb", as in \`rtt\``;

function parseOptions(args: string[]): HopsOptions {
  const o: HopsOptions = {
    reps: 3,
    pairs: [...PAIRS],
    count: 200,
    intervalSec: 0.01,
    idleSec: 2,
    trafficSec: 0,
    tsB: undefined,
  };
  const numeric = {
    '--reps': ['reps', 1],
    '--count': ['count', 20],
    '--interval': ['intervalSec', 0.002],
    '--idle': ['idleSec', 0],
    '--traffic': ['trafficSec', 0],
  } as const;
  parseFlags(args, USAGE, o, numeric, (flag, v) => {
    if (flag === '--pairs') o.pairs = parsePairs(v, USAGE);
    else if (flag === '--ts-b') {
      if (v === undefined) throw new Error(`--ts-b: expected a directory\n${USAGE}`);
      o.tsB = v;
    } else return false;
    return true;
  });
  checkTsB(o.pairs, o.tsB, USAGE);
  return o;
}

/** Runs `perf` to completion (bounded), returning stdout. */
function perf(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('perf', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('error', reject);
    p.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out).toString());
      else reject(new Error(`perf ${args[0]} exited ${code}: ${Buffer.concat(err).toString().trim()}`));
    });
  });
}

interface NodeHops {
  readonly node: 'a' | 'b';
  readonly impl: Impl;
  readonly threads: readonly ThreadHops[];
}

async function tracePair(net: Testnet, o: HopsOptions, pair: Pair, dir: string) {
  await startFreshPair(net, pair, false, o.tsB);
  await sleep(o.idleSec * 1000);
  if (o.trafficSec > 0) {
    await trafficBurst(net, o.trafficSec);
    await sleep(o.idleSec * 1000);
  }
  const pids = { a: processTree(net.nodePid('a')), b: processTree(net.nodePid('b')) };
  const data = join(dir, `${pair}.data`);
  const rec = spawn(
    'perf',
    [
      'record',
      '-q',
      '-o',
      data,
      '-e',
      'raw_syscalls:sys_enter,raw_syscalls:sys_exit',
      '-p',
      [...pids.a, ...pids.b].join(','),
    ],
    { stdio: 'ignore' },
  );
  const recorded = new Promise<string>((r) => rec.once('exit', (code, signal) => r(signal ?? String(code))));
  // perf record writes its file and exits 0 on SIGINT, or ends by the signal itself.
  const stopRecording = async (): Promise<boolean> => {
    rec.kill('SIGINT');
    const end = await Promise.race([recorded, sleep(30_000).then(() => 'timeout')]);
    if (end === '0' || end === 'SIGINT') return true;
    rec.kill('SIGKILL');
    return false;
  };
  let ping: Awaited<ReturnType<typeof runPing>>;
  try {
    await sleep(1000); // perf attaches to every thread before the first ping
    ping = await runPing(net, 'a', net.overlayIp('b'), o.count, o.intervalSec);
  } catch (e) {
    await stopRecording();
    throw e;
  }
  if (!(await stopRecording())) throw new Error(`${pair}: perf record did not end cleanly`);
  const calls = parsePerfScript(await perf(['script', '-i', data], 120_000));
  // The nodes are still running: their threads are listed now (a thread that exited is lost).
  const tidsOf = (pidsOf: readonly number[]) =>
    new Set(pidsOf.flatMap((pid) => readdirSync(`/proc/${pid}/task`).map(Number)));
  const tids = { a: tidsOf(pids.a), b: tidsOf(pids.b) };
  const minPacket = Math.floor(o.count / 2);
  const minStep = Math.floor(o.count / 4);
  const nodes: NodeHops[] = (['a', 'b'] as const).map((node) => ({
    node,
    impl: implsOf(pair)[node === 'a' ? 0 : 1],
    threads: threadHops(
      calls.filter((c) => tids[node].has(c.tid)),
      minPacket,
      minStep,
    ),
  }));
  return { pair, ping, nodes };
}

export async function run(args: string[]): Promise<void> {
  const o = parseOrUsage(parseOptions, args);
  if (o === undefined) return;
  requireRoot();
  requireGoNebula();
  requireBinary('ping', 'iputils-ping');
  requireBinary('perf', 'linux-perf');
  if (o.trafficSec > 0) requireBinary('iperf3', 'iperf3');
  const dir = mkdtempSync(join(tmpdir(), 'nebula-hops-'));
  const net = await Testnet.create({ prefix: 'hops', hosts: ['lh', 'a', 'b'], maxLifetimeSec: 3600 });
  const onSignal = () => void net.destroy().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results = [];
  try {
    await net.makePki({ tool: 'go' });
    for (const h of ['lh', 'a', 'b']) net.writeConfig(h, net.baseConfig(h, {}));
    await net.start('lh', { impl: 'go' });
    for (let rep = 0; rep < o.reps; rep++) {
      // Rotated so that no pair always runs first.
      for (let i = 0; i < o.pairs.length; i++) {
        const pair = o.pairs[(i + rep) % o.pairs.length] as Pair;
        const r = await tracePair(net, o, pair, dir);
        const threads = r.nodes.map((n) => n.threads.length).join('/');
        progress(
          `rep ${rep} ${pair}: ping median ${r.ping.medianMs?.toFixed(3)} ms, ${threads} data-path threads`,
        );
        results.push(r);
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await net.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(report(o, results));
}

type PairTrace = Awaited<ReturnType<typeof tracePair>>;

/** One node's steps over its data-path threads: a step two threads share keeps the busier one. */
function nodeSteps(n: NodeHops, pick: (t: ThreadHops) => readonly Step[]): Map<string, Step> {
  const out = new Map<string, Step>();
  for (const t of n.threads)
    for (const st of pick(t)) {
      const seen = out.get(st.step);
      if (seen === undefined || st.count > seen.count) out.set(st.step, st);
    }
  return out;
}

const fmt = (x: number) => fixed(x, 1);

function report(o: HopsOptions, results: readonly PairTrace[]): string {
  const lines = [
    `# Per-hop time inside the nodes (${o.reps} reps × ${o.count} pings a → b at ${o.intervalSec * 1000} ms, ${o.trafficSec > 0 ? `after ${o.trafficSec} s of iperf3 a → b` : 'fresh nodes'}; syscall tracepoints; ${new Date().toISOString()})`,
    '',
    "Medians over reps. user µs/ping: the data-path threads' user-space time between syscalls, summed, per ping answered. Steps: median µs after one syscall (with its return: >0, =0, =-11 EAGAIN) until the next on the same thread; `in X`: median µs inside tun writes and UDP sends.",
    '',
    '| pair (a-b) | ping median ms | a user µs/ping | b user µs/ping |',
    '|---|---:|---:|---:|',
  ];
  const userPerPing = (r: PairTrace, i: 0 | 1) =>
    (r.nodes[i] as NodeHops).threads.reduce((s, t) => s + t.userUs, 0) / Math.max(1, r.ping.received);
  for (const pair of o.pairs) {
    const mine = results.filter((r) => r.pair === pair);
    const ping = median(mine.flatMap((r) => (typeof r.ping.medianMs === 'number' ? [r.ping.medianMs] : [])));
    lines.push(
      `| ${pair} | ${Number.isFinite(ping) ? ping.toFixed(3) : 'n/a'} | ${fmt(median(mine.map((r) => userPerPing(r, 0))))} | ${fmt(median(mine.map((r) => userPerPing(r, 1))))} |`,
    );
  }
  for (const pair of o.pairs) {
    const mine = results.filter((r) => r.pair === pair);
    for (const i of [0, 1] as const) {
      const first = mine[0]?.nodes[i];
      if (first === undefined) continue;
      lines.push(
        '',
        `## ${pair}, node ${first.node} (${first.impl})`,
        '',
        '| step | median µs | reps |',
        '|---|---:|---:|',
      );
      const perRep = mine.map((r) => {
        const n = r.nodes[i] as NodeHops;
        return new Map([
          ...nodeSteps(n, (t) => t.gaps),
          ...[...nodeSteps(n, (t) => t.inside)].map(([k, v]) => [`in ${k}`, v] as const),
        ]);
      });
      const names = [...new Set(perRep.flatMap((m) => [...m.keys()]))];
      const rows = names.map((name) => {
        const xs = perRep.flatMap((m) => (m.has(name) ? [(m.get(name) as Step).medianUs] : []));
        return { name, us: median(xs), reps: xs.length };
      });
      rows.sort((x, y) => Number(x.name.startsWith('in ')) - Number(y.name.startsWith('in ')) || y.us - x.us);
      for (const row of rows) lines.push(`| ${row.name} | ${fmt(row.us)} | ${row.reps} |`);
    }
  }
  return lines.join('\n');
}
