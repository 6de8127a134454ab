/**
 * `rtt --interleave`: every pair runs at once on one Testnet, each on its own two hosts, and the
 * pairs take turns in short ping blocks. On a shared VM the host's own speed drifts by 2× within
 * minutes, which a series-after-series comparison cannot tell from a node's cost; a block and the
 * Go↔Go block next to it see the same host, so their ratio keeps only the nodes' difference.
 */
import { Testnet } from '@nebula-ts/e2e';
import { fixed as fmt, median, progress, quantile, sleep } from '../harness.js';
import { implsOf, nodeImpl, type Pair, trafficBurst } from '../pairs.js';
import { runPing } from '../throughput/iperf.js';
import { lossCell, type Phase, phasesOf } from './phases.js';

export interface InterleaveOptions {
  reps: number;
  rounds: number;
  block: number;
  intervalSec: number;
  idleSec: number;
  trafficSec: number;
  pairs: Pair[];
  /** The checkout `tsb` nodes run from (see pairs.ts). */
  tsB?: string | undefined;
}

/** One block: `block` pings of one pair, in the round's order. */
export interface Block {
  rep: number;
  phase: Phase;
  round: number;
  pair: Pair;
  sent: number;
  received: number;
  medianMs: number | null;
  timesMs: readonly number[];
}

/** The pinger and responder hosts of the k-th pair: a/b, c/d, e/f, g/h. */
export function hostsOf(k: number): [string, string] {
  const a = String.fromCharCode(97 + 2 * k);
  return [a, String.fromCharCode(98 + 2 * k)];
}

async function startFresh(net: Testnet, pairs: readonly Pair[], tsB: string | undefined): Promise<void> {
  const all = pairs.flatMap((_, k) => hostsOf(k));
  for (const h of all) await net.stop(h).catch(() => undefined);
  for (const [k, pair] of pairs.entries()) {
    const [ia, ib] = implsOf(pair);
    const [a, b] = hostsOf(k);
    await net.start(b, { impl: nodeImpl(ib, tsB), timeoutMs: 30_000 });
    await net.start(a, { impl: nodeImpl(ia, tsB), timeoutMs: 30_000 });
  }
  for (const [k, pair] of pairs.entries()) {
    const [a, b] = hostsOf(k);
    const up = await net.ping(a, b, { count: 1, timeoutMs: 20_000 });
    if (up.received < 1) throw new Error(`${pair}: tunnel ${a}->${b} not up within 20 s`);
  }
}

async function blocks(net: Testnet, o: InterleaveOptions, rep: number, phase: Phase): Promise<Block[]> {
  const out: Block[] = [];
  for (let round = 0; round < o.rounds; round++) {
    // Rotated so that no pair always follows the same neighbour.
    for (let i = 0; i < o.pairs.length; i++) {
      const k = (i + round + rep) % o.pairs.length;
      const [a, b] = hostsOf(k);
      const r = await runPing(net, a, net.overlayIp(b), o.block, o.intervalSec);
      out.push({
        rep,
        phase,
        round,
        pair: o.pairs[k] as Pair,
        sent: r.sent,
        received: r.received,
        medianMs: r.medianMs ?? null,
        timesMs: r.timesMs ?? [],
      });
    }
  }
  return out;
}

/** Runs every rep (all nodes restarted, idle, rounds; then traffic, idle, rounds) and returns the blocks. */
export async function runInterleaved(o: InterleaveOptions): Promise<Block[]> {
  const hosts = ['lh', ...o.pairs.flatMap((_, k) => hostsOf(k))];
  const net = await Testnet.create({ prefix: 'rtti', hosts, maxLifetimeSec: 7200 });
  const onSignal = () => void net.destroy().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const out: Block[] = [];
  try {
    await net.makePki({ tool: 'go' });
    for (const h of hosts) net.writeConfig(h, net.baseConfig(h, {}));
    await net.start('lh', { impl: 'go' });
    for (let rep = 0; rep < o.reps; rep++) {
      await startFresh(net, o.pairs, o.tsB);
      await sleep(o.idleSec * 1000);
      out.push(...(await blocks(net, o, rep, 'fresh')));
      progress(`rep ${rep} fresh: ${summary(out, o.pairs, 'fresh', rep)}`);
      if (o.trafficSec <= 0) continue;
      for (const [k] of o.pairs.entries()) {
        const [a, b] = hostsOf(k);
        await trafficBurst(net, o.trafficSec, a, b);
      }
      await sleep(o.idleSec * 1000);
      out.push(...(await blocks(net, o, rep, 'after traffic')));
      progress(`rep ${rep} after traffic: ${summary(out, o.pairs, 'after traffic', rep)}`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await net.destroy();
  }
  return out;
}

/**
 * Each block's median over the Go↔Go block of the same rep, phase and round: the ratios a pair's
 * verdict is the median of.
 */
export function blockRatios(rows: readonly Block[], pair: Pair, phase: Phase, rep?: number): number[] {
  const out: number[] = [];
  for (const r of rows) {
    if (r.pair !== pair || r.phase !== phase || (rep !== undefined && r.rep !== rep)) continue;
    const go = rows.find(
      (g) => g.pair === 'go-go' && g.phase === phase && g.rep === r.rep && g.round === r.round,
    );
    if (r.medianMs && go?.medianMs) out.push(r.medianMs / go.medianMs);
  }
  return out;
}

function summary(rows: readonly Block[], pairs: readonly Pair[], phase: Phase, rep: number): string {
  return pairs
    .filter((p) => p !== 'go-go')
    .map((p) => `${p} ${median(blockRatios(rows, p, phase, rep)).toFixed(3)}`)
    .join(', ');
}

/** The markdown report: per phase and pair, pooled RTT quantiles and the block ratios to Go↔Go. */
export function interleavedReport(o: InterleaveOptions, rows: readonly Block[], nproc: number): string {
  const lines = [
    `# Overlay ping RTT, interleaved (${o.reps} reps × ${o.rounds} rounds × ${o.block} pings at ${o.intervalSec * 1000} ms per pair per round, all pairs' nodes fresh together, ${o.idleSec} s idle; nproc ${nproc}; ${new Date().toISOString()})`,
    '',
    "Pooled over every reply: median / p90, ms. Ratio: each block's median over the Go↔Go block of the same round, then the median of those (with their quartiles, the share of blocks at or under 1, and the first round's median alone, where a warm-up would show).",
  ];
  for (const phase of phasesOf(o.trafficSec)) {
    lines.push(
      '',
      `## ${phase}`,
      '',
      '| pair (a-b) | median | p90 | ratio to go-go | quartiles | blocks ≤ 1 | first round | loss |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const pair of o.pairs) {
      const mine = rows.filter((r) => r.pair === pair && r.phase === phase);
      const times = mine.flatMap((r) => r.timesMs);
      const loss = lossCell(mine);
      const pooled = `${fmt(quantile(times, 0.5))} | ${fmt(quantile(times, 0.9))}`;
      if (pair === 'go-go') {
        lines.push(`| ${pair} | ${pooled} | — | — | — | — | ${loss} |`);
        continue;
      }
      const ratios = blockRatios(rows, pair, phase);
      const first = blockRatios(
        rows.filter((r) => r.round === 0),
        pair,
        phase,
      );
      const under = ratios.filter((x) => x <= 1).length;
      lines.push(
        `| ${pair} | ${pooled} | ${fmt(median(ratios), 3)} | ${fmt(quantile(ratios, 0.25), 2)}–${fmt(quantile(ratios, 0.75), 2)} | ${under}/${ratios.length} | ${fmt(median(first), 2)} | ${loss} |`,
      );
    }
  }
  return lines.join('\n');
}
