/**
 * Reads V8 `.cpuprofile` files (written by `node --cpu-prof`, one per thread) and ranks functions
 * by self time. Self time of a sample = the time delta that follows it (Chrome DevTools' rule).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** A CLOCK_MONOTONIC window in µs (V8 profile timestamps and `process.hrtime` share that clock). */
export interface TimeWindowUs {
  readonly startUs: number;
  readonly endUs: number;
}

export interface SelfTimeRow {
  readonly fn: string;
  readonly where: string;
  readonly selfMs: number;
  /** Share of all sampled time across the profiles read. */
  readonly pct: number;
  /** Share of the non-idle time (`(idle)` excluded): where the busy CPU went. */
  readonly busyPct: number;
}

export interface ProfileSummary {
  readonly files: readonly { file: string; sampledMs: number }[];
  readonly totalMs: number;
  readonly idleMs: number;
  readonly rows: readonly SelfTimeRow[];
}

function shortUrl(url: string): string {
  if (url === '') return '';
  const i = url.indexOf('/packages/');
  const j = url.indexOf('/apps/');
  const k = i >= 0 ? i : j;
  return k >= 0 ? url.slice(k + 1) : url.replace(/^file:\/\//, '').replace(/^node:/, 'node:');
}

/**
 * Aggregates self time by function+location over every `.cpuprofile` in `dir`; with `window`, only
 * samples taken inside it (e.g. during the iperf3 run, not start-up).
 */
export function summarizeProfiles(dir: string, window?: TimeWindowUs): ProfileSummary {
  const selfByKey = new Map<string, { fn: string; where: string; us: number }>();
  const files: { file: string; sampledMs: number }[] = [];
  let totalUs = 0;
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith('.cpuprofile'))
    .sort()) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const samples = p.samples ?? [];
    const deltas = p.timeDeltas ?? [];
    let fileUs = 0;
    let t = p.startTime;
    for (let i = 0; i < samples.length; i++) {
      t += deltas[i] ?? 0;
      if (window && (t < window.startUs || t > window.endUs)) continue;
      const node = byId.get(samples[i] as number);
      if (!node) continue;
      const us = Math.max(0, deltas[i + 1] ?? 0);
      const cf = node.callFrame;
      const fn = cf.functionName || '(anonymous)';
      const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : '';
      const key = `${fn}\0${where}`;
      const e = selfByKey.get(key) ?? { fn, where, us: 0 };
      e.us += us;
      selfByKey.set(key, e);
      fileUs += us;
    }
    totalUs += fileUs;
    files.push({ file: f, sampledMs: fileUs / 1000 });
  }
  let idleUs = 0;
  for (const e of selfByKey.values()) if (e.fn === '(idle)') idleUs += e.us;
  const busyUs = totalUs - idleUs;
  const rows = [...selfByKey.values()]
    .sort((a, b) => b.us - a.us)
    .map((e) => ({
      fn: e.fn,
      where: e.where,
      selfMs: e.us / 1000,
      pct: totalUs > 0 ? (e.us / totalUs) * 100 : 0,
      busyPct: e.fn === '(idle)' || busyUs <= 0 ? 0 : (e.us / busyUs) * 100,
    }));
  return { files, totalMs: totalUs / 1000, idleMs: idleUs / 1000, rows };
}
