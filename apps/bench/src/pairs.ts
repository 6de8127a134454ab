/**
 * The node pairs the netns latency cases (`rtt`, `hops`) compare: pinger a and responder b, each
 * Go 1.6.1 or ours, on one Testnet (lh, a, b). A third kind, `tsb`, is ours from another checkout
 * (`--ts-b DIR`): a before/after comparison inside one run, where the VM's drift cannot tell
 * the two builds apart.
 */
import { join } from 'node:path';
import { type Testnet, type Impl as TestnetImpl, TS_NEBULA_JS } from '@nebula-ts/e2e';
import { runIperf } from './throughput/iperf.js';
import { TUN_DEV } from './throughput/runner.js';

export type Impl = 'go' | 'ts' | 'tsb';
const IMPLS: readonly string[] = ['go', 'ts', 'tsb'];
export type Pair = `${Impl}-${Impl}`;
export const PAIRS: readonly Pair[] = ['go-go', 'ts-go', 'go-ts', 'ts-ts'];

export const implsOf = (pair: Pair): [Impl, Impl] => pair.split('-') as [Impl, Impl];

/** `--pairs go-go,ts-go`: the pairs named, or an error naming the unknown ones. */
export function parsePairs(value: string | undefined, usage: string): Pair[] {
  const pairs = (value ?? '').split(',').filter(Boolean);
  const bad = pairs.filter((p) => {
    const parts = p.split('-');
    return parts.length !== 2 || !parts.every((i) => IMPLS.includes(i));
  });
  if (pairs.length === 0 || bad.length > 0)
    throw new Error(`--pairs: unknown ${bad.join(',') || '(none)'}\n${usage}`);
  return pairs as Pair[];
}

/** `--ts-b DIR`: the checkout whose nebula bin `tsb` runs; an error if a pair needs it and it is not set. */
export function checkTsB(pairs: readonly Pair[], tsB: string | undefined, usage: string): void {
  if (tsB === undefined && pairs.some((p) => implsOf(p).includes('tsb')))
    throw new Error(`--pairs: tsb needs --ts-b DIR (a built checkout)\n${usage}`);
}

/** The command line of one node: Go's `nebula`, ours, or ours from the `tsB` checkout. */
function commandOf(impl: Impl, tsB: string | undefined): string[] {
  if (impl === 'go') return ['nebula'];
  if (impl === 'ts') return [process.execPath, TS_NEBULA_JS];
  if (tsB === undefined) throw new Error('tsb: no --ts-b checkout given');
  return [process.execPath, join(tsB, 'apps/nebula-cli/dist/bin/nebula.js')];
}

/** What Testnet.start runs for `impl`, bound to `cpu` by taskset when given. */
export function nodeImpl(impl: Impl, tsB?: string, cpu?: number): TestnetImpl {
  if (cpu === undefined && impl !== 'tsb') return impl;
  const pin = cpu === undefined ? [] : ['taskset', '-c', String(cpu)];
  return { cmd: [...pin, ...commandOf(impl, tsB), '-config', '{config}'] };
}

/**
 * Restarts a and b as `pair` and waits until a's ping reaches b (the tunnel is up). With `pin`,
 * a runs on CPU 0 and b on CPU 1, whichever implementation each is: a diagnostic that takes the
 * scheduler's choice of CPU (which differs with the peer's thread layout) out of a comparison.
 */
export async function startFreshPair(net: Testnet, pair: Pair, pin = false, tsB?: string): Promise<void> {
  const [ia, ib] = implsOf(pair);
  await net.stop('a').catch(() => undefined);
  await net.stop('b').catch(() => undefined);
  await net.start('b', { impl: nodeImpl(ib, tsB, pin ? 1 : undefined), timeoutMs: 30_000 });
  await net.start('a', { impl: nodeImpl(ia, tsB, pin ? 0 : undefined), timeoutMs: 30_000 });
  const up = await net.ping('a', 'b', { count: 1, timeoutMs: 20_000 });
  if (up.received < 1) throw new Error(`${pair}: tunnel a->b not up within 20 s`);
}

/** One iperf3 TCP stream a → b for `seconds`: the "after traffic" condition of the latency cases. */
export async function trafficBurst(net: Testnet, seconds: number, a = 'a', b = 'b'): Promise<void> {
  await runIperf(net, {
    from: a,
    to: b,
    dst: net.overlayIp(b),
    seconds,
    parallel: 1,
    reverse: false,
    port: 5201,
    pids: { a: net.nodePid(a), b: net.nodePid(b) },
    tunDev: TUN_DEV,
  });
}
