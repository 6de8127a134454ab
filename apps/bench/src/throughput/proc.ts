/**
 * /proc readers for the throughput case: CPU ticks and memory of a process tree (root-namespace
 * /proc), and per-namespace counters (`/proc/net/snmp`, `/proc/net/dev`) read through the
 * namespace itself, the way testbed.sh does.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Testnet } from '@nebula-ts/e2e';

/** Clock ticks per second for utime/stime (USER_HZ; 100 on every Linux we target). */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Children of every thread of `pid` (a worker thread could in principle spawn). */
function childrenOf(pid: number): number[] {
  const out = new Set<number>();
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  for (const t of tasks) {
    const text = readText(`/proc/${pid}/task/${t}/children`);
    if (text) for (const c of text.split(' ')) if (c.trim()) out.add(Number(c));
  }
  return [...out];
}

/** `pid` and its descendants (depth-capped: a runaway tree must not hang the bench). */
export function processTree(pid: number | undefined, depth = 0): number[] {
  if (pid === undefined || readText(`/proc/${pid}/stat`) === undefined) return [];
  const out = [pid];
  if (depth >= 8) return out;
  for (const c of childrenOf(pid)) out.push(...processTree(c, depth + 1));
  return out;
}

/** utime+stime (ticks) summed over the tree; all threads are included in a process's stat. */
export function treeCpuTicks(pid: number | undefined): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    const stat = readText(`/proc/${p}/stat`);
    if (!stat) continue;
    // Fields after the parenthesised comm: state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(rest[11]) + Number(rest[12]);
  }
  return ticks;
}

export interface TreeMemory {
  /** Sum of VmRSS over the tree, KiB. */
  readonly rssKb: number;
  /** Sum of VmHWM (peak RSS) over the tree, KiB. */
  readonly hwmKb: number;
  readonly threads: number;
  readonly procs: number;
}

export function treeMemory(pid: number | undefined): TreeMemory {
  let rssKb = 0;
  let hwmKb = 0;
  let threads = 0;
  let procs = 0;
  for (const p of processTree(pid)) {
    const status = readText(`/proc/${p}/status`);
    if (!status) continue;
    procs++;
    rssKb += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    hwmKb += Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    threads += Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  }
  return { rssKb, hwmKb, threads, procs };
}

export interface NsCounters {
  /** `Udp: RcvbufErrors` of the namespace. */
  readonly udpRcvbufErrors: number;
  /** `Udp: InErrors` (includes RcvbufErrors). */
  readonly udpInErrors: number;
  /** rx drop + tx drop of the tun device; 0 when it does not exist. */
  readonly tunDrops: number;
}

/** Parses `/proc/net/snmp`'s `Udp:` header/value line pair. */
export function parseSnmpUdp(snmp: string): Record<string, number> {
  const lines = snmp.split('\n').filter((l) => l.startsWith('Udp: '));
  const out: Record<string, number> = {};
  if (lines.length < 2) return out;
  const keys = (lines[0] as string).split(/\s+/).slice(1);
  const vals = (lines[1] as string).split(/\s+/).slice(1);
  keys.forEach((k, i) => {
    out[k] = Number(vals[i]);
  });
  return out;
}

/** rx+tx drops of `dev` from `/proc/net/dev` (rx drop is field 4, tx drop field 12). */
export function parseDevDrops(dev: string, name: string): number {
  for (const line of dev.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() !== name) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    return (f[3] ?? 0) + (f[11] ?? 0);
  }
  return 0;
}

const COUNTERS_SEPARATOR = '----nebula-bench----';

/** Reads the namespace's counters with one short-lived `cat` inside it. */
export async function nsCounters(net: Testnet, host: string, tunDev: string): Promise<NsCounters> {
  const r = await net.exec(
    host,
    ['sh', '-c', `cat /proc/net/snmp; echo ${COUNTERS_SEPARATOR}; cat /proc/net/dev`],
    {
      timeoutMs: 5000,
    },
  );
  const [snmp = '', dev = ''] = r.stdout.split(COUNTERS_SEPARATOR);
  const udp = parseSnmpUdp(snmp);
  return {
    udpRcvbufErrors: udp.RcvbufErrors ?? 0,
    udpInErrors: udp.InErrors ?? 0,
    tunDrops: parseDevDrops(dev, tunDev),
  };
}

export interface MachineStat {
  readonly total: number;
  readonly idle: number;
  readonly steal: number;
  readonly softirq: number;
}

/** Whole-machine jiffies from /proc/stat's `cpu` line (busy % of the box during a run). */
export function machineStat(): MachineStat {
  const line = (readText('/proc/stat') ?? '').split('\n')[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { total, idle: (f[3] ?? 0) + (f[4] ?? 0), steal: f[7] ?? 0, softirq: f[6] ?? 0 };
}

export function machineDelta(
  a: MachineStat,
  b: MachineStat,
): { busyPct: number; stealPct: number; softirqPct: number } {
  const dt = b.total - a.total || 1;
  return {
    busyPct: ((dt - (b.idle - a.idle)) / dt) * 100,
    stealPct: ((b.steal - a.steal) / dt) * 100,
    softirqPct: ((b.softirq - a.softirq) / dt) * 100,
  };
}
