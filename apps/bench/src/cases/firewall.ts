/**
 * firewall: ns per decision for Go 1.6.1's `BenchmarkFirewallTable_match` cases (same rules and
 * peers as firewall_test.go), plus the full Drop path (conntrack hit with and without the
 * routine-local cache, a rule-evaluation miss, a new flow) and two worker threads sharing one
 * conntrack with and without per-routine caches (aggregate decisions/s).
 *
 *   cd apps/bench && pnpm exec tsc -b && node --expose-gc dist/cli.js firewall [--seconds=N]
 */
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import {
  Conntrack,
  ConntrackCache,
  Firewall,
  type FirewallPacket,
  FirewallPeer,
  newFirewallPacket,
  parseFirewallConfig,
  parsePacket,
} from '@nebula-ts/firewall';
import { measure, type OpResult, printTable } from '../harness.js';

const GO_NS: Record<string, number> = {
  fail_on_proto: 10.68,
  fail_on_port: 36.44,
  fail_all_group_name_and_cidr: 246.3,
  pass_on_group: 29.27,
  pass_on_name: 64.72,
  pass_on_ip: 56.42,
  pass_on_ip_with_any_port: 42.01,
};

const ip = (s: string): number => s.split('.').reduce((a, o) => a * 256 + Number(o), 0) >>> 0;

/** The five port-10 TCP rules of Go's benchmark (groups, host good-host, cidr 172.1.1.1/32). */
function goBenchRules(withAnyPort: boolean): unknown {
  const groups = [
    ['good-group'],
    ['good-group2'],
    ['good-group3'],
    ['good-group4'],
    ['good-group, good-group1'],
  ];
  const inbound: unknown[] = groups.map((g) => ({
    port: 10,
    proto: 'tcp',
    groups: g,
    host: 'good-host',
    cidr: '172.1.1.1/32',
  }));
  if (withAnyPort)
    inbound.push({ port: 0, proto: 'tcp', groups: ['good-group'], host: 'good-host', cidr: '172.1.1.1/32' });
  return { inbound };
}

const noIps = { ips: [], subnets: [], issuer: '' };
const peerOf = (name: string, groups: string[], ips: { addr: number; mask: number }[] = []) =>
  new FirewallPeer({ ...noIps, name, groups, ips });

function pkt(over: Partial<FirewallPacket>): FirewallPacket {
  return Object.assign(newFirewallPacket(), over);
}

let sink = 0;

function matchCases(ops: number): OpResult[] {
  const conntrack = Conntrack.create({ capacity: 1024 });
  const fw = new Firewall({ rules: parseFirewallConfig(goBenchRules(false)), conntrack, localNets: [] });
  const fwAny = new Firewall({ rules: parseFirewallConfig(goBenchRules(true)), conntrack, localNets: [] });
  const empty = peerOf('', []);
  const cases: [string, Firewall, FirewallPacket, FirewallPeer, boolean][] = [
    ['fail_on_proto', fw, pkt({ protocol: 17 }), empty, false],
    ['fail_on_port', fw, pkt({ protocol: 6, localPort: 1 }), empty, false],
    [
      'fail_all_group_name_and_cidr',
      fw,
      pkt({ protocol: 6, localPort: 10 }),
      peerOf('nope', ['nope'], [{ addr: ip('9.254.254.254'), mask: 0xffffffff }]),
      false,
    ],
    ['pass_on_group', fw, pkt({ protocol: 6, localPort: 10 }), peerOf('nope', ['good-group']), true],
    ['pass_on_name', fw, pkt({ protocol: 6, localPort: 10 }), peerOf('good-host', ['nope']), true],
    [
      'pass_on_ip',
      fw,
      pkt({ protocol: 6, localPort: 10, remoteIp: ip('172.1.1.1') }),
      peerOf('good-host', ['nope']),
      true,
    ],
    [
      'pass_on_ip_with_any_port',
      fwAny,
      pkt({ protocol: 6, localPort: 100, remoteIp: ip('172.1.1.1') }),
      peerOf('good-host', ['nope']),
      true,
    ],
  ];
  const rows: OpResult[] = [];
  for (const [name, f, p, peer, want] of cases) {
    if (f.matchRules(p, true, peer) !== want) throw new Error(`${name}: wrong result`);
    rows.push(
      measure(`match/${name}`, ops, () => {
        if (f.matchRules(p, true, peer)) sink++;
      }),
    );
  }
  return rows;
}

const LOCAL = ip('203.0.113.1');
const REMOTE = ip('203.0.113.2');
const PEER_INIT = {
  name: 'host1',
  groups: ['default-group'],
  issuer: 'ca',
  ips: [{ addr: REMOTE, mask: 0xffffff00 }],
  subnets: [],
};
const LOCAL_NETS = [{ addr: LOCAL, mask: 0xffffffff }];
const OPEN_IN = { inbound: [{ port: 22, proto: 'tcp', group: 'default-group' }] };

function dropCases(ops: number): OpResult[] {
  const conntrack = Conntrack.create({ capacity: 1 << 18 });
  const fw = new Firewall({ rules: parseFirewallConfig(OPEN_IN), conntrack, localNets: LOCAL_NETS });
  const peer = new FirewallPeer(PEER_INIT);
  const cache = new ConntrackCache(conntrack);
  const est = pkt({ localIp: LOCAL, remoteIp: REMOTE, localPort: 22, remotePort: 40000, protocol: 6 });
  if (fw.drop(est, true, peer, null) !== 0) throw new Error('setup');
  fw.drop(est, true, peer, cache); // global hit → cached
  const miss = pkt({ localIp: LOCAL, remoteIp: REMOTE, localPort: 23, remotePort: 40000, protocol: 6 });
  // a new flow every op (ports walk), passing the rules: lookup miss + rules + insert
  const fresh = pkt({ localIp: LOCAL, remoteIp: REMOTE, localPort: 22, remotePort: 0, protocol: 6 });
  const buf = new Uint8Array(64);
  buf.set([0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 203, 0, 113, 2, 203, 0, 113, 1, 0x9c, 0x40, 0, 22]);
  const parsed = newFirewallPacket();
  const rows = [
    measure('parsePacket (tcp, incoming)', ops, () => {
      sink += parsePacket(buf, 0, 40, true, parsed);
    }),
    measure('drop/conntrack_hit_no_cache', ops, () => {
      sink += fw.drop(est, true, peer, null);
    }),
    measure('drop/conntrack_hit_cache', ops, () => {
      sink += fw.drop(est, true, peer, cache);
    }),
    measure('drop/rule_miss (no_rule)', ops, () => {
      sink += fw.drop(miss, true, peer, cache);
    }),
    measure(
      'drop/new_flow (rules pass + insert)',
      Math.min(ops, 60_000),
      (i) => {
        fresh.remotePort = 1024 + (i % 60_000);
        sink += fw.drop(fresh, true, peer, null);
      },
      1,
    ),
  ];
  const s = conntrack.stats();
  console.log(`conntrack after drop cases: count=${s.count} evicted=${s.evicted} capacity=${s.capacity}`);
  return rows;
}

interface WorkerJob {
  firewallBench: true;
  sab: SharedArrayBuffer;
  useCache: boolean;
  flows: number;
  ms: number;
  gate: SharedArrayBuffer;
}

/** Worker side: one routine hammering the shared table over the same established flows. */
function workerMain(job: WorkerJob): void {
  const conntrack = Conntrack.fromShared(job.sab);
  const fw = new Firewall({ rules: parseFirewallConfig(OPEN_IN), conntrack, localNets: LOCAL_NETS });
  const peer = new FirewallPeer(PEER_INIT);
  const cache = job.useCache ? new ConntrackCache(conntrack) : null;
  const p = pkt({ localIp: LOCAL, remoteIp: REMOTE, localPort: 22, protocol: 6 });
  const gate = new Int32Array(job.gate);
  Atomics.add(gate, 1, 1);
  while (Atomics.load(gate, 0) === 0) Atomics.wait(gate, 0, 0, 1);
  let decisions = 0;
  let dropped = 0;
  const end = performance.now() + job.ms;
  while (performance.now() < end) {
    for (let i = 0; i < 4096; i++) {
      p.remotePort = 40000 + (i % job.flows);
      dropped += fw.drop(p, true, peer, cache);
    }
    decisions += 4096;
  }
  parentPort!.postMessage({ decisions, dropped });
}

async function twoWorkers(
  useCache: boolean,
  ms: number,
  flows: number,
): Promise<{ name: string; perSec: number; perCpuSec: number; dropped: number }> {
  const conntrack = Conntrack.create({ capacity: 1 << 16 });
  const fw = new Firewall({ rules: parseFirewallConfig(OPEN_IN), conntrack, localNets: LOCAL_NETS });
  const peer = new FirewallPeer(PEER_INIT);
  const p = pkt({ localIp: LOCAL, remoteIp: REMOTE, localPort: 22, protocol: 6 });
  for (let i = 0; i < flows; i++) {
    p.remotePort = 40000 + i;
    fw.drop(p, true, peer, null);
  }
  const gate = new SharedArrayBuffer(8);
  const g = new Int32Array(gate);
  const self = fileURLToPath(import.meta.url);
  const job = (): WorkerJob => ({ firewallBench: true, sab: conntrack.buffer, useCache, flows, ms, gate });
  const ws = [new Worker(self, { workerData: job() }), new Worker(self, { workerData: job() })];
  const done = ws.map(
    (w) =>
      new Promise<{ decisions: number; dropped: number }>((res, rej) => {
        w.once('message', res);
        w.once('error', rej);
      }),
  );
  while (Atomics.load(g, 1) < 2) await new Promise((r) => setTimeout(r, 1));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  Atomics.store(g, 0, 1);
  Atomics.notify(g, 0);
  const results = await Promise.all(done);
  const wall = (performance.now() - t0) / 1000;
  // process-wide CPU: both workers (the main thread only sleeps meanwhile)
  const cpuUsed = process.cpuUsage(cpu0);
  const cpu = (cpuUsed.user + cpuUsed.system) / 1e6;
  await Promise.all(ws.map((w) => w.terminate()));
  const total = results.reduce((a, r) => a + r.decisions, 0);
  return {
    name: `2 workers, ${flows} shared flows, ${useCache ? 'routine cache' : 'no cache'}`,
    perSec: total / wall,
    perCpuSec: total / cpu,
    dropped: results.reduce((a, r) => a + r.dropped, 0),
  };
}

export async function run(args: string[]): Promise<void> {
  const secArg = args.find((a) => a.startsWith('--seconds='));
  const seconds = secArg ? Number(secArg.slice(10)) : 2;
  const ops = Number(args.find((a) => a.startsWith('--ops='))?.slice(6) ?? 2_000_000);
  const match = matchCases(ops);
  console.log('\n## BenchmarkFirewallTable_match equivalents (Firewall.matchRules)\n');
  console.log('| case | TS ns/op | TS heap B/op | Go 1.6.1 ns/op (median) |');
  console.log('|---|---:|---:|---:|');
  for (const r of match) {
    const go = GO_NS[r.name.slice(6)];
    console.log(`| ${r.name} | ${r.nsPerOp.toFixed(1)} | ${r.bytesPerOp.toFixed(2)} | ${go ?? '-'} |`);
  }
  console.log('\n## Drop path\n');
  printTable(dropCases(ops));
  console.log(
    `\n## Two worker threads, shared conntrack (${seconds}s each; wall clock and process CPU time)\n`,
  );
  console.log('| case | decisions/s wall (aggregate) | decisions per CPU-second | drops |');
  console.log('|---|---:|---:|---:|');
  for (const flows of [64, 4096]) {
    for (const useCache of [false, true]) {
      const r = await twoWorkers(useCache, seconds * 1000, flows);
      console.log(
        `| ${r.name} | ${(r.perSec / 1e6).toFixed(2)} M | ${(r.perCpuSec / 1e6).toFixed(2)} M | ${r.dropped} |`,
      );
    }
  }
  if (sink === -1) console.log(sink);
}

if (!isMainThread && (workerData as { firewallBench?: boolean } | null)?.firewallBench) {
  workerMain(workerData as WorkerJob);
}
