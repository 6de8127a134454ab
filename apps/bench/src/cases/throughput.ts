/**
 * `nebula-bench throughput` (issue #9): iperf3 TCP over the overlay for Go↔Go, TS↔Go and TS↔TS in
 * one netns testbed (bridge, Go lighthouse, nodes a and b), all conditions interleaved inside each
 * repetition, with node CPU, UDP/tun drops, ping RTT and RSS; `--profile` for a TS CPU profile.
 * Options: see `--help` or apps/bench/README.md.
 *
 *   cd apps/bench && node --expose-gc dist/cli.js throughput --quick
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary, requireGoNebula, requireRoot, Testnet, TS_NEBULA_JS } from '@nebula-ts/e2e';
import { parseOrUsage, progress } from '../harness.js';
import { runIperf } from '../throughput/iperf.js';
import { parseOptions, type ThroughputOptions } from '../throughput/options.js';
import { summarizeProfiles } from '../throughput/profile.js';
import { renderReport } from '../throughput/report.js';
import { buildConditions, Matrix, nodeConfig, TUN_DEV } from '../throughput/runner.js';
import type { ThroughputResults } from '../throughput/types.js';

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

function goVersion(): string {
  try {
    return execFileSync('nebula', ['-version'], { encoding: 'utf8' }).trim().split('\n')[0] ?? '?';
  } catch {
    return '?';
  }
}

export async function run(args: string[]): Promise<void> {
  const o = parseOrUsage(parseOptions, args);
  if (o === undefined) return;
  if (o.render !== undefined) {
    console.log(renderReport(JSON.parse(readFileSync(o.render, 'utf8')) as ThroughputResults));
    return;
  }
  requireRoot();
  requireGoNebula();
  requireBinary('iperf3', 'iperf3');
  requireBinary('ping', 'iputils-ping');

  const net = await Testnet.create({ prefix: 'tput', hosts: ['lh', 'a', 'b'], maxLifetimeSec: 7200 });
  let aborted = false;
  const hooks: { saveOnAbort?: () => void } = {};
  // Ctrl-C / SIGTERM: stop the nodes and delete the namespaces before exiting (the harness's own
  // exit hook is synchronous SIGKILL only, and a default SIGINT skips 'exit' handlers anyway).
  const onSignal = (sig: NodeJS.Signals) => {
    if (aborted) return;
    aborted = true;
    progress(`${sig}: tearing down ${net.base}`);
    try {
      hooks.saveOnAbort?.(); // partial --json results
    } catch {
      /* best effort */
    }
    void net.destroy().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await net.makePki({ tool: 'go' });
    if (o.profile) await runProfile(net, o);
    else await runMatrix(net, o, () => aborted, hooks);
  } finally {
    await net.destroy();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function runMatrix(
  net: Testnet,
  o: ThroughputOptions,
  aborted: () => boolean,
  hooks: { saveOnAbort?: () => void },
): Promise<void> {
  const results: ThroughputResults = {
    meta: {
      startedAt: new Date().toISOString(),
      loadavgStart: loadavg(),
      nproc: cpus().length,
      node: process.version,
      goNebula: goVersion(),
      options: o,
    },
    conditions: [],
    iperf: [],
  };
  const conditions = buildConditions(o);
  const runsPerRep = conditions.length * o.streams.length * o.directions.length;
  progress(
    `testbed ${net.base}: ${conditions.length} conditions × ${o.streams.length} streams × ${o.directions.length} dirs = ${runsPerRep} iperf runs per rep, ${o.reps} rep(s), ${o.seconds} s each; loadavg ${results.meta.loadavgStart}`,
  );
  const matrix = new Matrix(net, o, results, progress, aborted);
  await matrix.ensureLighthouse();
  const save = () => {
    if (o.json) writeFileSync(o.json, `${JSON.stringify(results, null, 2)}\n`);
  };
  hooks.saveOnAbort = save;
  for (let rep = 0; rep < o.reps && !aborted(); rep++) {
    await matrix.runRep(rep, conditions);
    save(); // partial results survive a later crash
  }
  (results.meta as { finishedAt?: string }).finishedAt = new Date().toISOString();
  (results.meta as { loadavgEnd?: string }).loadavgEnd = loadavg();
  save();
  console.log(renderReport(results));
  if (o.json) progress(`raw results: ${o.json}`);
}

async function runProfile(net: Testnet, o: ThroughputOptions): Promise<void> {
  const routines = o.routines[0] ?? 1;
  const buffers = o.buffers[0] ?? 'default';
  const streams = o.streams[0] ?? 1;
  const dir = o.directions[0] ?? 'fwd';
  const profDir = mkdtempSync(join(tmpdir(), 'nebula-bench-cpuprof-'));
  net.writeConfig('lh', net.baseConfig('lh', { cipher: o.cipher, mtu: o.mtu, tunDev: TUN_DEV }));
  await net.start('lh', { impl: 'go' });
  net.writeConfig('a', nodeConfig(net, 'a', 'ts', routines, buffers, o, o.tsBatches[0] ?? null));
  net.writeConfig('b', nodeConfig(net, 'b', 'go', routines, buffers, o));
  // Worker threads inherit --cpu-prof through execArgv: one .cpuprofile per thread.
  await net.start('a', {
    impl: {
      cmd: [process.execPath, '--cpu-prof', '--cpu-prof-dir', profDir, TS_NEBULA_JS, '-config', '{config}'],
    },
    timeoutMs: 30_000,
  });
  await net.start('b', { impl: 'go' });
  const ping = await net.ping('a', 'b', { count: 1, timeoutMs: 20_000 });
  if (ping.received < 1) throw new Error(`tunnel a->b not up\n${net.log('a').slice(-3000)}`);
  progress(
    `profiling TS node on a (routines ${routines}, buffers ${buffers}) during iperf3 P${streams} ${dir}, ${o.seconds} s`,
  );
  const monoUs = () => Number(process.hrtime.bigint() / 1000n);
  const startUs = monoUs();
  const r = await runIperf(net, {
    from: 'a',
    to: 'b',
    dst: net.overlayIp('b'),
    seconds: o.seconds,
    parallel: streams,
    reverse: dir === 'rev',
    port: 5201,
    pids: { a: net.nodePid('a'), b: net.nodePid('b') },
    tunDev: TUN_DEV,
  });
  const endUs = monoUs();
  const exit = await net.stop('a', 15_000); // the profile is written on a clean exit only
  // Only samples taken during the iperf3 run: start-up (module loading) and idle time would drown it.
  const summary = summarizeProfiles(profDir, { startUs, endUs });
  console.log(`# TS node CPU profile (ts-go, routines ${routines}, buffers ${buffers}, P${streams} ${dir})`);
  console.log();
  console.log(
    `iperf3: ${r.mbps.toFixed(0)} Mbit/s; node a CPU (from /proc) ${r.hosts.a?.cpuPct?.toFixed(0)}% of a core; node exit ${JSON.stringify(exit)}.`,
  );
  console.log(
    `Profiles (one per thread) in ${profDir}: ${
      summary.files.map((f) => `${f.file} (${f.sampledMs.toFixed(0)} ms in window)`).join(', ') ||
      'none (did the node exit cleanly on SIGTERM?)'
    }. Samples during the iperf3 run only: ${summary.totalMs.toFixed(0)} ms sampled, ${summary.idleMs.toFixed(0)} ms idle (summed over threads).`,
  );
  console.log(
    'Self time is time in the function itself (native calls are charged to the JS function that made them). `% busy` excludes `(idle)`.',
  );
  console.log();
  console.log('| # | self ms | % all | % busy | function | location |');
  console.log('|---|---|---|---|---|---|');
  summary.rows.slice(0, o.profileTop).forEach((row, i) => {
    console.log(
      `| ${i + 1} | ${row.selfMs.toFixed(1)} | ${row.pct.toFixed(1)} | ${row.fn === '(idle)' ? '-' : row.busyPct.toFixed(1)} | ${row.fn} | ${row.where} |`,
    );
  });
}
