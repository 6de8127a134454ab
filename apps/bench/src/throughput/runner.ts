/**
 * The interleaved matrix: one Testnet (bridge, Go lighthouse, nodes a and b) for the whole run;
 * each repetition visits every condition once, in an order rotated per repetition, so that the
 * shared machine's background load hits all conditions alike (bench.sh's method).
 */
import type { Testnet } from '@nebula-ts/e2e';
import { sleep } from '../harness.js';
import { runIperf, runPing } from './iperf.js';
import { type Buffers, type Pair, setPath, TEN_MIB, type ThroughputOptions } from './options.js';
import { machineDelta, machineStat, type TreeMemory, treeMemory } from './proc.js';
import type { Condition, ThroughputResults } from './types.js';

export const TUN_DEV = 'nebula1';

export function buildConditions(o: ThroughputOptions): Condition[] {
  const out: Condition[] = [];
  if (o.underlay) out.push({ kind: 'underlay', id: 'underlay' });
  for (const pair of o.pairs)
    for (const routines of o.routines)
      for (const buffers of o.buffers) {
        // listen.batch only exists in the TS node: a dimension of the pairs that have one.
        const batches: (number | null)[] =
          pair !== 'go-go' && o.tsBatches.length > 0 ? [...o.tsBatches] : [null];
        for (const tsBatch of batches) {
          const id = `${pair} r${routines} buf=${buffers}${tsBatch === null ? '' : ` batch=${tsBatch}`}`;
          out.push({ kind: 'overlay', id, pair, routines, buffers, tsBatch });
        }
      }
  return out;
}

/** Rep r starts at a different place in the list; the stride spreads starts over the reps. */
export function rotated<T>(items: readonly T[], rep: number, reps: number): T[] {
  const n = items.length;
  if (n === 0) return [];
  const stride = Math.max(1, Math.floor(n / Math.max(1, reps)));
  const start = (rep * stride) % n;
  return [...items.slice(start), ...items.slice(0, start)];
}

export function implsOf(pair: Pair): { a: 'go' | 'ts'; b: 'go' | 'ts' } {
  if (pair === 'go-go') return { a: 'go', b: 'go' };
  if (pair === 'ts-go') return { a: 'ts', b: 'go' };
  return { a: 'ts', b: 'ts' };
}

export function nodeConfig(
  net: Testnet,
  host: string,
  impl: 'go' | 'ts',
  routines: number,
  buffers: Buffers,
  o: ThroughputOptions,
  tsBatch: number | null = null,
): Record<string, unknown> {
  const cfg = net.baseConfig(host, {
    routines,
    cipher: o.cipher,
    mtu: o.mtu,
    tunDev: TUN_DEV,
    logLevel: 'info',
  });
  if (buffers === '10m') {
    setPath(cfg, 'listen.read_buffer', TEN_MIB);
    setPath(cfg, 'listen.write_buffer', TEN_MIB);
  }
  if (impl === 'ts') {
    if (tsBatch !== null) setPath(cfg, 'listen.batch', tsBatch);
    for (const [k, v] of Object.entries(o.tsSet)) setPath(cfg, k, v);
  }
  return cfg;
}

function tailLines(text: string, n: number): string {
  return text
    .split('\n')
    .slice(-n - 1)
    .join('\n');
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}

function maxMem(a: TreeMemory | null, b: TreeMemory | null | undefined): TreeMemory | null {
  if (!a) return b ?? null;
  if (!b) return a;
  return a.rssKb >= b.rssKb ? a : b;
}

export class Matrix {
  private port = 5201;

  constructor(
    private readonly net: Testnet,
    private readonly o: ThroughputOptions,
    private readonly results: ThroughputResults,
    private readonly log: (line: string) => void,
    private readonly aborted: () => boolean,
  ) {}

  private nextPort(): number {
    // A fresh port per run: a lingering server from a failed run can never be hit again.
    const p = this.port;
    this.port = this.port >= 5700 ? 5201 : this.port + 1;
    return p;
  }

  /** bench.sh's quiet_gate: bounded wait for other tenants' load to drop; returns the last sample. */
  private async quietGate(): Promise<number | null> {
    if (this.o.quietMaxPct === undefined) return null;
    let busy = 100;
    for (let i = 0; i < this.o.quietWaitSec && !this.aborted(); i++) {
      const a = machineStat();
      await sleep(1000);
      busy = machineDelta(a, machineStat()).busyPct;
      if (busy <= this.o.quietMaxPct) break;
    }
    return busy;
  }

  async ensureLighthouse(): Promise<void> {
    if (this.net.isRunning('lh')) return;
    this.net.writeConfig(
      'lh',
      this.net.baseConfig('lh', { cipher: this.o.cipher, mtu: this.o.mtu, tunDev: TUN_DEV }),
    );
    await this.net.start('lh', { impl: 'go', timeoutMs: 15_000 });
  }

  async stopNodes(): Promise<void> {
    await Promise.all([this.net.stop('a'), this.net.stop('b')]);
  }

  async runRep(rep: number, conditions: readonly Condition[]): Promise<void> {
    const order = rotated(conditions, rep, this.o.reps);
    for (let i = 0; i < order.length; i++) {
      if (this.aborted()) return;
      const c = order[i] as Condition;
      this.log(`rep ${rep + 1}/${this.o.reps} [${i + 1}/${order.length}] ${c.id}`);
      if (c.kind === 'underlay') await this.runUnderlay(rep, i);
      else await this.runOverlay(rep, i, c);
    }
  }

  /** The RTT series of a condition: `--ping-count` pings from a at `--ping-interval`. */
  private pingFromA(dst: string): ReturnType<typeof runPing> {
    return runPing(this.net, 'a', dst, this.o.pingCount, this.o.pingIntervalSec);
  }

  private async runUnderlay(rep: number, order: number): Promise<void> {
    // Raw path: nodes stopped so that only the machine's reference is measured.
    await this.stopNodes();
    const rtt = await this.pingFromA(this.net.underlayIp('b')).catch(() => null);
    this.results.conditions.push({
      rep,
      order,
      condition: 'underlay',
      pair: 'underlay',
      routines: null,
      buffers: null,
      ok: true,
      tunnelUpMs: null,
      rtt,
      idleMem: null,
      loadedMem: null,
    });
    for (const streams of this.o.streams)
      for (const dir of this.o.directions) {
        if (this.aborted()) return;
        const base = {
          rep,
          condition: 'underlay',
          pair: 'underlay' as const,
          routines: null,
          buffers: null,
          streams,
          dir,
          bgBusyPct: await this.quietGate(),
        };
        try {
          const r = await runIperf(this.net, {
            from: 'a',
            to: 'b',
            dst: this.net.underlayIp('b'),
            seconds: this.o.seconds,
            parallel: streams,
            reverse: dir === 'rev',
            port: this.nextPort(),
            pids: { a: undefined, b: undefined },
            tunDev: TUN_DEV,
          });
          this.results.iperf.push({
            ...base,
            ok: true,
            mbps: r.mbps,
            retransmits: r.retransmits,
            a: r.hosts.a ?? null,
            b: r.hosts.b ?? null,
            machine: r.machine,
          });
          this.log(`  underlay P${streams} ${dir}: ${r.mbps.toFixed(0)} Mbit/s`);
        } catch (e) {
          this.results.iperf.push({
            ...base,
            ok: false,
            mbps: null,
            retransmits: null,
            a: null,
            b: null,
            machine: null,
            error: firstLine(e),
          });
          this.log(`  underlay P${streams} ${dir}: FAILED ${firstLine(e)}`);
        }
      }
  }

  private async runOverlay(
    rep: number,
    order: number,
    c: Extract<Condition, { kind: 'overlay' }>,
  ): Promise<void> {
    const impls = implsOf(c.pair);
    const logFrom = { a: this.net.logOffset('a'), b: this.net.logOffset('b') };
    const logTail = () => ({
      a: tailLines(this.net.log('a').slice(logFrom.a), 20),
      b: tailLines(this.net.log('b').slice(logFrom.b), 20),
    });
    const condBase = {
      rep,
      order,
      condition: c.id,
      pair: c.pair,
      routines: c.routines,
      buffers: c.buffers,
      tsBatch: c.tsBatch,
    };
    const iperfBase = (streams: number, dir: 'fwd' | 'rev') => ({
      rep,
      condition: c.id,
      pair: c.pair,
      routines: c.routines,
      buffers: c.buffers,
      tsBatch: c.tsBatch,
      streams,
      dir,
    });
    // A run that did not happen (set-up failed or skipped) is still recorded, with why.
    const failedRun = (streams: number, dir: (typeof this.o.directions)[number], error: string) => ({
      ...iperfBase(streams, dir),
      ok: false as const,
      mbps: null,
      retransmits: null,
      a: null,
      b: null,
      machine: null,
      error,
    });
    const failAll = (error: string) => {
      for (const streams of this.o.streams)
        for (const dir of this.o.directions) this.results.iperf.push(failedRun(streams, dir, error));
    };

    let tunnelUpMs: number | null = null;
    let rtt = null;
    let idleMem: { a: TreeMemory | null; b: TreeMemory | null } | null = null;
    const loaded: { a: TreeMemory | null; b: TreeMemory | null } = { a: null, b: null };
    // Set-up is retried: a node can fail to start for reasons outside the condition (e.g. a native
    // addon being rebuilt by a concurrent `pnpm build`); only repeated failure is recorded.
    let setupError: string | undefined;
    for (let attempt = 0; attempt <= this.o.setupRetries && !this.aborted(); attempt++) {
      if (attempt > 0) {
        this.log(`  ${c.id}: set-up attempt ${attempt} failed (${setupError}); retrying in 5 s`);
        await this.stopNodes().catch(() => undefined);
        await sleep(5000);
      }
      setupError = undefined;
      tunnelUpMs = null;
      rtt = null;
      idleMem = null;
      try {
        await this.ensureLighthouse();
        await this.stopNodes();
        for (const h of ['a', 'b'] as const)
          this.net.writeConfig(
            h,
            nodeConfig(this.net, h, impls[h], c.routines, c.buffers, this.o, c.tsBatch),
          );
        const t0 = performance.now();
        await this.net.start('a', { impl: impls.a, timeoutMs: 30_000 });
        await this.net.start('b', { impl: impls.b, timeoutMs: 30_000 });
        const ping = await this.net.ping('a', 'b', { count: 1, timeoutMs: 20_000 });
        if (ping.received < 1) throw new Error('tunnel a->b not up within 20 s (no overlay ping reply)');
        tunnelUpMs = performance.now() - t0;
        await sleep(1000); // let start-up garbage settle before the idle sample
        idleMem = { a: treeMemory(this.net.nodePid('a')), b: treeMemory(this.net.nodePid('b')) };
        rtt = await this.pingFromA(this.net.overlayIp('b'));
        break;
      } catch (e) {
        setupError = firstLine(e);
      }
    }
    if (setupError !== undefined || tunnelUpMs === null || rtt === null || idleMem === null) {
      const error = setupError ?? 'aborted';
      this.log(`  ${c.id}: FAILED to set up: ${error}`);
      this.results.conditions.push({
        ...condBase,
        ok: false,
        tunnelUpMs,
        rtt,
        idleMem,
        loadedMem: null,
        error,
        logTail: logTail(),
      });
      failAll(`setup: ${error}`);
      await this.stopNodes().catch(() => undefined);
      return;
    }
    this.log(
      `  tunnel up in ${tunnelUpMs.toFixed(0)} ms; ping avg ${rtt.avgMs ?? 'n/a'} ms (${rtt.received}/${rtt.sent}); idle RSS a ${((idleMem.a?.rssKb ?? 0) / 1024).toFixed(1)} MiB b ${((idleMem.b?.rssKb ?? 0) / 1024).toFixed(1)} MiB`,
    );

    let condError: string | undefined;
    for (const streams of this.o.streams)
      for (const dir of this.o.directions) {
        if (this.aborted()) break;
        if (condError !== undefined) {
          this.results.iperf.push(failedRun(streams, dir, `skipped: ${condError}`));
          continue;
        }
        const bgBusyPct = await this.quietGate();
        try {
          const r = await runIperf(this.net, {
            from: 'a',
            to: 'b',
            dst: this.net.overlayIp('b'),
            seconds: this.o.seconds,
            parallel: streams,
            reverse: dir === 'rev',
            port: this.nextPort(),
            pids: { a: this.net.nodePid('a'), b: this.net.nodePid('b') },
            tunDev: TUN_DEV,
          });
          loaded.a = maxMem(loaded.a, r.hosts.a?.loadedMem);
          loaded.b = maxMem(loaded.b, r.hosts.b?.loadedMem);
          this.results.iperf.push({
            ...iperfBase(streams, dir),
            bgBusyPct,
            ok: true,
            mbps: r.mbps,
            retransmits: r.retransmits,
            a: r.hosts.a ?? null,
            b: r.hosts.b ?? null,
            machine: r.machine,
          });
          this.log(
            `  P${streams} ${dir}: ${r.mbps.toFixed(0)} Mbit/s, cpu a ${r.hosts.a?.cpuPct?.toFixed(0)}% b ${r.hosts.b?.cpuPct?.toFixed(0)}%, machine busy ${r.machine.busyPct.toFixed(0)}% steal ${r.machine.stealPct.toFixed(0)}%`,
          );
        } catch (e) {
          const error = firstLine(e);
          this.log(`  P${streams} ${dir}: FAILED ${error}`);
          this.results.iperf.push({ ...failedRun(streams, dir, error), bgBusyPct });
          // A dead node fails everything after it; a live one may just have had a bad run.
          if (!this.net.isRunning('a') || !this.net.isRunning('b')) condError = `node exited (${error})`;
        }
      }
    // The idle-tunnel RTT again, now that both nodes have carried traffic (see ConditionRecord).
    let rttWarm = null;
    if (condError === undefined && !this.aborted() && this.net.isRunning('a') && this.net.isRunning('b')) {
      await sleep(1000);
      rttWarm = await this.pingFromA(this.net.overlayIp('b')).catch(() => null);
    }
    // VmHWM is cumulative since start: read it while the nodes still run.
    const hwm = { a: treeMemory(this.net.nodePid('a')), b: treeMemory(this.net.nodePid('b')) };
    const withHwm = (m: TreeMemory | null, h: TreeMemory): TreeMemory | null =>
      m ? { ...m, hwmKb: Math.max(m.hwmKb, h.hwmKb) } : h.procs > 0 ? { ...h } : null;
    const failedHere = this.results.iperf.some((r) => r.rep === rep && r.condition === c.id && !r.ok);
    this.results.conditions.push({
      ...condBase,
      ok: condError === undefined,
      tunnelUpMs,
      rtt,
      rttWarm,
      idleMem,
      loadedMem: { a: withHwm(loaded.a, hwm.a), b: withHwm(loaded.b, hwm.b) },
      ...(condError !== undefined ? { error: condError } : {}),
      ...(failedHere ? { logTail: logTail() } : {}),
    });
    await this.stopNodes();
  }
}
