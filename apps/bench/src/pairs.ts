/**
 * The node pairs the netns latency cases (`rtt`, `hops`) compare: pinger a and responder b, each
 * Go 1.6.1 or ours, on one Testnet (lh, a, b).
 */
import { type Testnet, TS_NEBULA_JS } from '@nebula-ts/e2e';

export type Impl = 'go' | 'ts';
export const PAIRS = ['go-go', 'ts-go', 'go-ts', 'ts-ts'] as const;
export type Pair = (typeof PAIRS)[number];

export const implsOf = (pair: Pair): [Impl, Impl] => pair.split('-') as [Impl, Impl];

/** `--pairs go-go,ts-go`: the pairs named, or an error naming the unknown ones. */
export function parsePairs(value: string | undefined, usage: string): Pair[] {
  const pairs = (value ?? '').split(',').filter(Boolean);
  const bad = pairs.filter((p) => !(PAIRS as readonly string[]).includes(p));
  if (pairs.length === 0 || bad.length > 0)
    throw new Error(`--pairs: unknown ${bad.join(',') || '(none)'}\n${usage}`);
  return pairs as Pair[];
}

/** A node command bound to one CPU by taskset, for either implementation. */
function pinned(impl: Impl, cpu: number) {
  const node = impl === 'go' ? ['nebula'] : [process.execPath, TS_NEBULA_JS];
  return { cmd: ['taskset', '-c', String(cpu), ...node, '-config', '{config}'] };
}

/**
 * Restarts a and b as `pair` and waits until a's ping reaches b (the tunnel is up). With `pin`,
 * a runs on CPU 0 and b on CPU 1, whichever implementation each is: a diagnostic that takes the
 * scheduler's choice of CPU (which differs with the peer's thread layout) out of a comparison.
 */
export async function startFreshPair(net: Testnet, pair: Pair, pin = false): Promise<void> {
  const [ia, ib] = implsOf(pair);
  await net.stop('a').catch(() => undefined);
  await net.stop('b').catch(() => undefined);
  await net.start('b', { impl: pin ? pinned(ib, 1) : ib, timeoutMs: 30_000 });
  await net.start('a', { impl: pin ? pinned(ia, 0) : ia, timeoutMs: 30_000 });
  const up = await net.ping('a', 'b', { count: 1, timeoutMs: 20_000 });
  if (up.received < 1) throw new Error(`${pair}: tunnel a->b not up within 20 s`);
}
