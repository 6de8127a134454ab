/**
 * Markdown summary of a throughput run: min / median / max per cell over repetitions (as
 * summarize.py), ratios to Go↔Go's best configuration of the same repetition and direction.
 */

import { median } from '../harness.js';
import type { RttResult } from './iperf.js';
import { PAIRS } from './options.js';
import type { ConditionRecord, IperfRecord, ThroughputResults } from './types.js';

function nums(xs: readonly (number | null | undefined)[]): number[] {
  return xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
}

export function mmm(xs: readonly (number | null | undefined)[], digits = 0): string {
  const v = nums(xs);
  if (v.length === 0) return 'n/a';
  if (v.length === 1) return (v[0] as number).toFixed(digits);
  return [Math.min(...v), median(v), Math.max(...v)].map((x) => x.toFixed(digits)).join(' / ');
}

function med(xs: readonly (number | null | undefined)[], digits = 0): string {
  const v = nums(xs);
  return v.length === 0 ? 'n/a' : median(v).toFixed(digits);
}

const pairRank = (p: string) => (p === 'underlay' ? -1 : PAIRS.indexOf(p as never));
/** Kernel defaults first, then the 10 MiB variant. */
const bufRank = (b: string | null) => (b === '10m' ? 1 : 0);

/** Go↔Go's best Mbit/s per (rep, streams, dir), over routines and buffers. */
export function goBest(iperf: readonly IperfRecord[]): Map<string, number> {
  const best = new Map<string, number>();
  for (const r of iperf) {
    if (r.pair !== 'go-go' || !r.ok || r.mbps === null) continue;
    const k = `${r.rep}|${r.streams}|${r.dir}`;
    best.set(k, Math.max(best.get(k) ?? 0, r.mbps));
  }
  return best;
}

function underlayOf(iperf: readonly IperfRecord[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of iperf)
    if (r.pair === 'underlay' && r.ok && r.mbps !== null) m.set(`${r.rep}|${r.streams}|${r.dir}`, r.mbps);
  return m;
}

export function renderReport(res: ThroughputResults): string {
  const out: string[] = [];
  const p = (s = '') => out.push(s);
  const o = res.meta.options as { seconds: number; reps: number };
  p(`# nebula-bench throughput (${res.meta.startedAt})`);
  p();
  p(
    `Node ${res.meta.node}, Go ${res.meta.goNebula}, ${res.meta.nproc} vCPUs; loadavg at start ${res.meta.loadavgStart}` +
      (res.meta.loadavgEnd ? `, at end ${res.meta.loadavgEnd}` : '') +
      `. ${o.reps} rep(s) × ${o.seconds} s per iperf3 run. Cells: min / median / max over reps (one value when n = 1).`,
  );
  p();

  const best = goBest(res.iperf);
  const under = underlayOf(res.iperf);
  const groups = new Map<string, IperfRecord[]>();
  for (const r of res.iperf) {
    const k = `${r.streams}|${r.dir}|${r.pair}|${r.routines ?? ''}|${r.buffers ?? ''}|${r.tsBatch ?? ''}`;
    const g = groups.get(k) ?? [];
    g.push(r);
    groups.set(k, g);
  }
  const keys = [...groups.keys()].sort((x, y) => {
    const a = (groups.get(x) as IperfRecord[])[0] as IperfRecord;
    const b = (groups.get(y) as IperfRecord[])[0] as IperfRecord;
    return (
      a.streams - b.streams ||
      a.dir.localeCompare(b.dir) ||
      pairRank(a.pair) - pairRank(b.pair) ||
      (a.routines ?? 0) - (b.routines ?? 0) ||
      bufRank(a.buffers) - bufRank(b.buffers) ||
      (a.tsBatch ?? 0) - (b.tsBatch ?? 0)
    );
  });
  // bench.sh's `bg` column: only when the quiet gate ran (--quiet-max).
  const withBg = res.iperf.some((r) => typeof r.bgBusyPct === 'number');
  const withBatch = res.iperf.some((r) => typeof r.tsBatch === 'number');
  p('## iperf3 TCP throughput (Mbit/s at the receiver)');
  p();
  p(
    'a = iperf3 client (ns a), b = server. fwd: a sends; rev (-R): b sends. ts-go = TS node on a, Go on b; ' +
      'the lighthouse is always Go. `×go best` = Mbit/s ÷ the best Go↔Go configuration (any routines/buffers) of ' +
      'the same rep, streams and direction; `×underlay` = ÷ raw veth path of the same rep (median). CPU = utime+stime ' +
      'of the node process tree, % of one core (medians). `rcvbuf err` = Udp RcvbufErrors delta in the ns, `tun drops` = ' +
      'rx+tx drops of nebula1 (sums over reps). busy/steal = whole machine during the run, % of all cores (medians); bg = machine busy in the 1 s before it (only with --quiet-max).',
  );
  p();
  p(
    `| P | dir | pair | routines | buffers |${withBatch ? ' ts batch |' : ''} n ok | Mbit/s | ×go best | ×underlay | retrans | cpu a % | cpu b % | rcvbuf err a/b | tun drops a/b | busy % | steal % |${withBg ? ' bg % |' : ''} failed |`,
  );
  p(`|${'---|'.repeat(17 + (withBg ? 1 : 0) + (withBatch ? 1 : 0))}`);
  for (const k of keys) {
    const g = groups.get(k) as IperfRecord[];
    const f = g[0] as IperfRecord;
    const ok = g.filter((r) => r.ok);
    const rk = (r: IperfRecord) => `${r.rep}|${r.streams}|${r.dir}`;
    const ratios = ok.map((r) => {
      const b = best.get(rk(r));
      return b && r.mbps !== null ? r.mbps / b : null;
    });
    const uRatios = ok.map((r) => {
      const u = under.get(rk(r));
      return u && r.mbps !== null ? r.mbps / u : null;
    });
    const sum = (xs: readonly (number | null | undefined)[]) => nums(xs).reduce((a, b) => a + b, 0);
    const overlay = f.pair !== 'underlay';
    p(
      `| ${f.streams} | ${f.dir} | ${f.pair} | ${f.routines ?? '-'} | ${f.buffers ?? '-'} |${withBatch ? ` ${f.tsBatch ?? '-'} |` : ''} ${ok.length}/${g.length} ` +
        `| ${mmm(ok.map((r) => r.mbps))} | ${overlay ? mmm(ratios, 2) : '-'} | ${overlay ? med(uRatios, 2) : '-'} ` +
        `| ${med(ok.map((r) => r.retransmits))} | ${overlay ? med(ok.map((r) => r.a?.cpuPct)) : '-'} | ${overlay ? med(ok.map((r) => r.b?.cpuPct)) : '-'} ` +
        `| ${sum(ok.map((r) => r.a?.udpRcvbufErrors))}/${sum(ok.map((r) => r.b?.udpRcvbufErrors))} ` +
        `| ${overlay ? `${sum(ok.map((r) => r.a?.tunDrops))}/${sum(ok.map((r) => r.b?.tunDrops))}` : '-'} ` +
        `| ${med(ok.map((r) => r.machine?.busyPct))} | ${med(ok.map((r) => r.machine?.stealPct))} |` +
        `${withBg ? ` ${med(ok.map((r) => r.bgBusyPct))} |` : ''} ${g.length - ok.length} |`,
    );
  }
  p();

  // Ping RTT per condition.
  const condGroups = new Map<string, ConditionRecord[]>();
  for (const c of res.conditions) {
    const g = condGroups.get(c.condition) ?? [];
    g.push(c);
    condGroups.set(c.condition, g);
  }
  const condKeys = [...condGroups.keys()].sort((x, y) => {
    const a = (condGroups.get(x) as ConditionRecord[])[0] as ConditionRecord;
    const b = (condGroups.get(y) as ConditionRecord[])[0] as ConditionRecord;
    return (
      pairRank(a.pair) - pairRank(b.pair) ||
      (a.routines ?? 0) - (b.routines ?? 0) ||
      bufRank(a.buffers) - bufRank(b.buffers) ||
      (a.tsBatch ?? 0) - (b.tsBatch ?? 0)
    );
  });
  const rttTable = (
    title: string,
    pick: (c: ConditionRecord) => RttResult | null | undefined,
    upCol: boolean,
  ) => {
    p(title);
    p();
    p(
      `| condition | n | avg ms | median ms | p90 ms | min ms | max ms | loss % |${upCol ? ' tunnel up after start, ms |' : ''}`,
    );
    p(`|---|---|---|---|---|---|---|---|${upCol ? '---|' : ''}`);
    for (const k of condKeys) {
      const g = (condGroups.get(k) as ConditionRecord[]).filter((c) => pick(c) != null);
      if (g.length === 0 && !upCol) continue;
      const loss = g.map((c) => {
        const r = pick(c);
        return r && r.sent > 0 ? (1 - r.received / r.sent) * 100 : null;
      });
      p(
        `| ${k} | ${g.length} | ${mmm(
          g.map((c) => pick(c)?.avgMs),
          3,
        )} | ${mmm(
          g.map((c) => pick(c)?.medianMs),
          3,
        )} | ${mmm(
          g.map((c) => pick(c)?.p90Ms),
          3,
        )} | ${mmm(
          g.map((c) => pick(c)?.minMs),
          3,
        )} | ${mmm(
          g.map((c) => pick(c)?.maxMs),
          3,
        )} | ${mmm(loss, 0)} |` +
          (upCol ? ` ${k === 'underlay' ? '-' : mmm(g.map((c) => c.tunnelUpMs))} |` : ''),
      );
    }
    p();
  };
  rttTable(
    '## Ping RTT a→b (overlay; underlay = raw veth), idle tunnel just after start',
    (c) => c.rtt,
    true,
  );
  rttTable(
    '## Ping RTT a→b, idle tunnel after the iperf3 runs (nodes have carried traffic)',
    (c) => c.rttWarm,
    false,
  );

  p('## Memory of the node process trees (MiB)');
  p();
  p(
    'idle = VmRSS 1 s after the tunnel came up; loaded = VmRSS halfway through an iperf3 run (max over the runs of the condition); peak = VmHWM after the runs. Medians over reps (peak: max).',
  );
  p();
  p('| condition | host (impl) | n | idle RSS | loaded RSS | peak (VmHWM) | threads |');
  p('|---|---|---|---|---|---|---|');
  const mib = (kb: number | undefined) => (kb === undefined ? null : kb / 1024);
  for (const k of condKeys) {
    const g = (condGroups.get(k) as ConditionRecord[]).filter((c) => c.idleMem !== null);
    if (g.length === 0) continue;
    const first = g[0] as ConditionRecord;
    for (const host of ['a', 'b'] as const) {
      const impl = first.pair === 'underlay' ? '' : first.pair.split('-')[host === 'a' ? 0 : 1];
      const hwm = nums(g.map((c) => mib(c.loadedMem?.[host]?.hwmKb)));
      p(
        `| ${k} | ${host} (${impl}) | ${g.length} | ${med(
          g.map((c) => mib(c.idleMem?.[host]?.rssKb)),
          1,
        )} ` +
          `| ${med(
            g.map((c) => mib(c.loadedMem?.[host]?.rssKb)),
            1,
          )} | ${hwm.length ? Math.max(...hwm).toFixed(1) : 'n/a'} ` +
          `| ${med(g.map((c) => c.loadedMem?.[host]?.threads ?? c.idleMem?.[host]?.threads))} |`,
      );
    }
  }
  p();

  const failedConds = res.conditions.filter((c) => !c.ok || c.logTail);
  const failedRuns = res.iperf.filter((r) => !r.ok);
  if (failedConds.length > 0 || failedRuns.length > 0) {
    p('## Failures');
    p();
    // Runs of a condition that never came up are covered by the condition's entry below.
    for (const r of failedRuns.filter((x) => !x.error?.startsWith('setup:')))
      p(`- rep ${r.rep + 1} ${r.condition} P${r.streams} ${r.dir}: ${r.error ?? '?'}`);
    for (const c of failedConds) {
      p();
      p(`### rep ${c.rep + 1} ${c.condition}: ${c.error ?? 'iperf run(s) failed'}`);
      if (c.logTail) {
        p('```');
        p(`--- a (tail) ---\n${c.logTail.a.trim()}\n--- b (tail) ---\n${c.logTail.b.trim()}`);
        p('```');
      }
    }
    p();
  }
  return out.join('\n');
}
