/**
 * `nebula-bench rtt` (issue #9, the RTT goal): overlay ping RTT of Go↔Go, TS↔Go, Go↔TS and TS↔TS on
 * fresh nodes. Every condition restarts both nodes, so each series sees what a user's first pings
 * see: a node that has only handshaken and then sat idle. A second series follows a short iperf3
 * burst ("after traffic"). Pairs are interleaved inside each repetition, in an order rotated per
 * repetition, and each TS pair is reported as its ratio to the Go↔Go series of the same repetition.
 * `--interleave` runs every pair at once instead, taking turns in short blocks (src/rtt/interleaved.ts).
 *
 *   cd apps/bench && node dist/cli.js rtt --reps 5
 *   cd apps/bench && node dist/cli.js rtt --interleave --reps 3
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { requireBinary, requireGoNebula, requireRoot, Testnet } from '@nebula-ts/e2e';
import { fixed as fmt, median, parseFlags, parseOrUsage, progress, sleep } from '../harness.js';
import { checkTsB, PAIRS, type Pair, parsePairs, startFreshPair, trafficBurst } from '../pairs.js';
import { interleavedReport, runInterleaved } from '../rtt/interleaved.js';
import { lossCell, type Phase, phasesOf } from '../rtt/phases.js';
import { runPing } from '../throughput/iperf.js';
import { CLK_TCK, treeCpuTicks } from '../throughput/proc.js';

interface RttOptions {
  reps: number;
  count: number;
  intervalSec: number;
  idleSec: number;
  trafficSec: number;
  pairs: Pair[];
  json: string | undefined;
  tsB: string | undefined;
  pin: boolean;
  interleave: boolean;
  rounds: number;
  block: number;
}

const USAGE = `usage: nebula-bench rtt [--reps 5] [--count 300] [--interval 0.01] [--idle 3] [--traffic 2]
                        [--pairs go-go,ts-go,go-ts,ts-ts] [--json FILE] [--pin]
                        [--interleave [--rounds 25] [--block 20]] [--ts-b DIR]
  --idle S      seconds both fresh nodes sit idle after the tunnel is up, before each ping series
  --traffic S   iperf3 a->b seconds before the "after traffic" series; 0 skips that series
  --pin         a on CPU 0 and b on CPU 1 (taskset), for every pair alike: a diagnostic, not a tuning
  --interleave  all pairs' nodes run at once, fresh together; each round every pair pings one block
                of --block pings, and each block is compared with the Go↔Go block of its round
                (--count is then unused)
  --ts-b DIR    a second build of ours (a built checkout) as impl "tsb", e.g. --pairs go-go,ts-go,tsb-go:
                before and after a change in one run`;

function parseOptions(args: string[]): RttOptions {
  const o: RttOptions = {
    reps: 5,
    count: 300,
    intervalSec: 0.01,
    idleSec: 3,
    trafficSec: 2,
    pairs: [...PAIRS],
    json: undefined,
    tsB: undefined,
    pin: false,
    interleave: false,
    rounds: 25,
    block: 20,
  };
  // Numeric flags: the option they set and their least value.
  const numeric = {
    '--reps': ['reps', 1],
    '--count': ['count', 10],
    '--interval': ['intervalSec', 0.002],
    '--idle': ['idleSec', 0],
    '--traffic': ['trafficSec', 0],
    '--rounds': ['rounds', 1],
    '--block': ['block', 5],
  } as const;
  parseFlags(args, USAGE, o, numeric, (flag, v) => {
    if (flag === '--pairs') o.pairs = parsePairs(v, USAGE);
    else if (flag === '--json') {
      if (v === undefined) throw new Error(`--json: expected a file\n${USAGE}`);
      o.json = v;
    } else if (flag === '--ts-b') {
      if (v === undefined) throw new Error(`--ts-b: expected a directory\n${USAGE}`);
      o.tsB = v;
    } else if (flag === '--pin') {
      o.pin = true;
      return 'no value';
    } else if (flag === '--interleave') {
      o.interleave = true;
      return 'no value';
    } else return false;
    return true;
  });
  checkTsB(o.pairs, o.tsB, USAGE);
  if (o.interleave && o.pin) throw new Error(`--pin and --interleave do not combine\n${USAGE}`);
  if (o.interleave && !o.pairs.includes('go-go'))
    throw new Error(`--interleave compares with go-go: include it in --pairs\n${USAGE}`);
  return o;
}

interface Series {
  rep: number;
  pair: Pair;
  phase: Phase;
  received: number;
  sent: number;
  medianMs: number | null;
  avgMs: number | null;
  p90Ms: number | null;
  maxMs: number | null;
  /** Median of the first, second and last third of the replies, in order: a warm-up shows as a slow first third. */
  thirdsMs: (number | null)[];
  /** Node CPU per ping (process tree, clock ticks), µs. */
  cpuUsA: number;
  cpuUsB: number;
}

function thirdMedians(times: readonly number[]): (number | null)[] {
  const n = times.length;
  return [0, 1, 2].map((k) => {
    const part = times.slice(Math.floor((k * n) / 3), Math.floor(((k + 1) * n) / 3));
    return part.length === 0 ? null : median(part);
  });
}

async function pingSeries(
  net: Testnet,
  o: RttOptions,
  rep: number,
  pair: Pair,
  phase: Series['phase'],
): Promise<Series> {
  const pa = net.nodePid('a');
  const pb = net.nodePid('b');
  const t0 = { a: treeCpuTicks(pa), b: treeCpuTicks(pb) };
  const r = await runPing(net, 'a', net.overlayIp('b'), o.count, o.intervalSec);
  const perPingUs = (ticks: number) => ((ticks / CLK_TCK) * 1e6) / Math.max(1, r.received);
  return {
    rep,
    pair,
    phase,
    received: r.received,
    sent: r.sent,
    medianMs: r.medianMs ?? null,
    avgMs: r.avgMs,
    p90Ms: r.p90Ms ?? null,
    maxMs: r.maxMs,
    thirdsMs: thirdMedians(r.timesMs ?? []),
    cpuUsA: perPingUs(treeCpuTicks(pa) - t0.a),
    cpuUsB: perPingUs(treeCpuTicks(pb) - t0.b),
  };
}

async function runCondition(net: Testnet, o: RttOptions, rep: number, pair: Pair): Promise<Series[]> {
  await startFreshPair(net, pair, o.pin, o.tsB);
  await sleep(o.idleSec * 1000);
  const out = [await pingSeries(net, o, rep, pair, 'fresh')];
  if (o.trafficSec > 0) {
    await trafficBurst(net, o.trafficSec);
    await sleep(o.idleSec * 1000);
    out.push(await pingSeries(net, o, rep, pair, 'after traffic'));
  }
  return out;
}

function report(o: RttOptions, rows: readonly Series[]): string {
  const lines: string[] = [];
  lines.push(
    `# Overlay ping RTT, fresh nodes (${o.reps} reps × ${o.count} pings at ${o.intervalSec * 1000} ms after ${o.idleSec} s idle${o.pin ? '; a pinned to CPU 0, b to CPU 1' : ''}; nproc ${cpus().length}; ${new Date().toISOString()})`,
  );
  lines.push('');
  lines.push(
    "Medians over reps of each series' median / mean / p90 / max, ms; ratio = the median over reps of the series median divided by the same rep's Go↔Go median; CPU = node process tree per ping, µs (pinger a / responder b).",
  );
  for (const phase of phasesOf(o.trafficSec)) {
    lines.push(
      '',
      `## ${phase}`,
      '',
      '| pair (a-b) | median | mean | p90 | max | ratio to go-go | ratio by thirds | CPU a / b µs | loss |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const pair of o.pairs) {
      const mine = rows.filter((r) => r.pair === pair && r.phase === phase);
      const goOf = (r: Series) =>
        rows.find((g) => g.pair === 'go-go' && g.phase === phase && g.rep === r.rep);
      const ratioOf = (mineMs: number | null | undefined, goMs: number | null | undefined) =>
        mineMs && goMs ? [mineMs / goMs] : [];
      const ratios = mine.flatMap((r) => ratioOf(r.medianMs, goOf(r)?.medianMs));
      const thirdRatios = [0, 1, 2].map((k) =>
        fmt(median(mine.flatMap((r) => ratioOf(r.thirdsMs[k], goOf(r)?.thirdsMs[k]))), 2),
      );
      const pick = (f: (r: Series) => number | null) =>
        median(mine.flatMap((r) => (f(r) === null ? [] : [f(r) as number])));
      lines.push(
        `| ${pair} | ${fmt(pick((r) => r.medianMs))} | ${fmt(pick((r) => r.avgMs))} | ${fmt(pick((r) => r.p90Ms))} | ${fmt(
          pick((r) => r.maxMs),
          2,
        )} | ${pair === 'go-go' ? '—' : fmt(median(ratios), 2)} | ${pair === 'go-go' ? '—' : thirdRatios.join(' / ')} | ${fmt(
          pick((r) => r.cpuUsA),
          0,
        )} / ${fmt(
          pick((r) => r.cpuUsB),
          0,
        )} | ${lossCell(mine)} |`,
      );
    }
  }
  lines.push('', 'Per series (rep, pair, phase: median ms):', '');
  for (const r of rows)
    lines.push(
      `- ${r.rep} ${r.pair} ${r.phase}: ${fmt(r.medianMs)} (thirds ${r.thirdsMs.map((m) => fmt(m)).join(' / ')}, mean ${fmt(r.avgMs)}, max ${fmt(r.maxMs, 2)})`,
    );
  return lines.join('\n');
}

export async function run(args: string[]): Promise<void> {
  const o = parseOrUsage(parseOptions, args);
  if (o === undefined) return;
  requireRoot();
  requireGoNebula();
  requireBinary('ping', 'iputils-ping');
  if (o.trafficSec > 0) requireBinary('iperf3', 'iperf3');
  if (o.interleave) {
    const blocks = await runInterleaved(o);
    if (o.json) writeFileSync(o.json, `${JSON.stringify({ options: o, blocks }, null, 2)}\n`);
    console.log(interleavedReport(o, blocks, cpus().length));
    return;
  }
  const net = await Testnet.create({ prefix: 'rtt', hosts: ['lh', 'a', 'b'], maxLifetimeSec: 7200 });
  const onSignal = () => void net.destroy().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const rows: Series[] = [];
  try {
    await net.makePki({ tool: 'go' });
    for (const h of ['lh', 'a', 'b']) net.writeConfig(h, net.baseConfig(h, {}));
    await net.start('lh', { impl: 'go' });
    for (let rep = 0; rep < o.reps; rep++) {
      // Rotated so that no pair always runs first (or right after the same neighbour).
      const order = o.pairs.map((_, i) => o.pairs[(i + rep) % o.pairs.length] as Pair);
      for (const pair of order) {
        const series = await runCondition(net, o, rep, pair);
        for (const s of series)
          progress(
            `rep ${rep} ${pair} ${s.phase}: median ${fmt(s.medianMs)} mean ${fmt(s.avgMs)} max ${fmt(s.maxMs, 2)} ms`,
          );
        rows.push(...series);
        if (o.json) writeFileSync(o.json, `${JSON.stringify({ options: o, rows }, null, 2)}\n`);
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await net.destroy();
  }
  console.log(report(o, rows));
}
