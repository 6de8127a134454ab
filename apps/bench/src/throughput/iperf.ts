/**
 * One iperf3 TCP run between two hosts of a Testnet with everything the case reports sampled
 * around exactly the client's lifetime: node CPU (process trees), namespace UDP/tun drop counters,
 * whole-machine busy/steal, and a mid-run RSS sample ("loaded" memory).
 */
import type { Testnet } from '@nebula-ts/e2e';
import { quantile, sleep } from '../harness.js';
import {
  CLK_TCK,
  machineDelta,
  machineStat,
  type NsCounters,
  nsCounters,
  type TreeMemory,
  treeCpuTicks,
  treeMemory,
} from './proc.js';

export interface IperfSpec {
  readonly from: string;
  readonly to: string;
  /** Destination address (overlay or underlay IP of `to`). */
  readonly dst: string;
  readonly seconds: number;
  readonly parallel: number;
  /** -R: `to` sends, `from` receives. */
  readonly reverse: boolean;
  readonly port: number;
  /** Node PIDs to account (undefined for the raw underlay). */
  readonly pids: Readonly<Record<string, number | undefined>>;
  readonly tunDev: string;
}

export interface HostSample {
  /** Node process tree CPU, % of one core over the client's wall time. */
  readonly cpuPct: number | null;
  readonly udpRcvbufErrors: number;
  readonly udpInErrors: number;
  readonly tunDrops: number;
  /** Sampled halfway through the run. */
  readonly loadedMem: TreeMemory | null;
}

export interface IperfResult {
  readonly mbps: number;
  readonly retransmits: number;
  readonly wallSec: number;
  readonly hosts: Readonly<Record<string, HostSample>>;
  readonly machine: { busyPct: number; stealPct: number; softirqPct: number };
}

async function waitListening(net: Testnet, host: string, port: number, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  for (let i = 0; i < 200 && Date.now() < end; i++) {
    const r = await net.exec(host, ['ss', '-Htln', `sport = :${port}`], { timeoutMs: 5000 });
    if (r.stdout.trim() !== '') return true;
    await sleep(50);
  }
  return false;
}

export async function runIperf(net: Testnet, spec: IperfSpec): Promise<IperfResult> {
  const hosts = [spec.from, spec.to];
  const server = net.exec(spec.to, ['iperf3', '-s', '-1', '-B', spec.dst, '-p', String(spec.port)], {
    timeoutMs: (spec.seconds + 30) * 1000,
  });
  if (!(await waitListening(net, spec.to, spec.port, 10_000))) {
    const s = await server;
    throw new Error(`iperf3 server on ${spec.to}:${spec.port} did not listen: ${s.stderr.trim()}`);
  }
  const counters0 = await Promise.all(hosts.map((h) => nsCounters(net, h, spec.tunDev)));
  const cpu0 = hosts.map((h) => treeCpuTicks(spec.pids[h]));
  const m0 = machineStat();
  const t0 = performance.now();

  const args = ['iperf3', '-c', spec.dst, '-p', String(spec.port), '-t', String(spec.seconds)];
  args.push('-P', String(spec.parallel), '-J');
  if (spec.reverse) args.push('-R');
  const client = net.exec(spec.from, args, { timeoutMs: (spec.seconds + 20) * 1000 });
  // "Loaded" memory: halfway through the transfer, when buffers and queues are in use.
  const loaded: Record<string, TreeMemory | null> = {};
  const midSample = sleep((spec.seconds * 1000) / 2).then(() => {
    for (const h of hosts) loaded[h] = spec.pids[h] === undefined ? null : treeMemory(spec.pids[h]);
  });
  const c = await client;
  const wallSec = (performance.now() - t0) / 1000;
  const cpu1 = hosts.map((h) => treeCpuTicks(spec.pids[h]));
  const m1 = machineStat();
  await midSample;
  const counters1 = await Promise.all(hosts.map((h) => nsCounters(net, h, spec.tunDev)));
  await server;

  let json: {
    end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } };
    error?: string;
  };
  try {
    json = JSON.parse(c.stdout);
  } catch {
    throw new Error(
      `iperf3 ${spec.from}->${spec.dst}: exit ${c.code}: ${(c.stderr || c.stdout).trim().slice(0, 500)}`,
    );
  }
  if (json.error || !json.end?.sum_received)
    throw new Error(`iperf3 ${spec.from}->${spec.dst}: ${json.error ?? 'no result'}`);

  const out: Record<string, HostSample> = {};
  hosts.forEach((h, i) => {
    const a = counters0[i] as NsCounters;
    const b = counters1[i] as NsCounters;
    out[h] = {
      cpuPct:
        spec.pids[h] === undefined
          ? null
          : (((cpu1[i] as number) - (cpu0[i] as number)) / CLK_TCK / wallSec) * 100,
      udpRcvbufErrors: b.udpRcvbufErrors - a.udpRcvbufErrors,
      udpInErrors: b.udpInErrors - a.udpInErrors,
      tunDrops: b.tunDrops - a.tunDrops,
      loadedMem: loaded[h] ?? null,
    };
  });
  return {
    mbps: (json.end.sum_received.bits_per_second ?? 0) / 1e6,
    retransmits: json.end.sum_sent?.retransmits ?? 0,
    wallSec,
    hosts: out,
    machine: machineDelta(m0, m1),
  };
}

export interface RttResult {
  readonly sent: number;
  readonly received: number;
  readonly minMs: number | null;
  readonly avgMs: number | null;
  readonly maxMs: number | null;
  readonly mdevMs: number | null;
  /** From the per-reply times: robust against the odd multi-ms outlier that moves the mean. */
  readonly medianMs?: number | null;
  readonly p90Ms?: number | null;
  /** Each reply's time in the order the replies came, ms: where in a series a difference lies. */
  readonly timesMs?: readonly number[];
}

/** `count` pings at `intervalSec` (root allows < 0.2 s): ping's summary line plus per-reply quantiles. */
export async function runPing(
  net: Testnet,
  from: string,
  dst: string,
  count: number,
  intervalSec: number,
): Promise<RttResult> {
  const r = await net.exec(
    from,
    ['ping', '-n', '-c', String(count), '-i', String(intervalSec), '-W', '1', dst],
    { timeoutMs: Math.ceil(count * intervalSec * 1000) + 10_000 },
  );
  const tx = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(r.stdout);
  const inOrder = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  const at = (q: number): number | null => (inOrder.length === 0 ? null : quantile(inOrder, q));
  return {
    medianMs: at(0.5),
    p90Ms: at(0.9),
    sent: tx ? Number(tx[1]) : count,
    received: tx ? Number(tx[2]) : 0,
    minMs: rtt ? Number(rtt[1]) : null,
    avgMs: rtt ? Number(rtt[2]) : null,
    maxMs: rtt ? Number(rtt[3]) : null,
    mdevMs: rtt ? Number(rtt[4]) : null,
    timesMs: inOrder,
  };
}
