/**
 * Fault scenarios (issue #10), shared by the `faults-*` e2e tests (which assert recovery within a
 * generous bound) and `pnpm bench faults` (which times ours beside Go 1.6.1 in the same setup).
 * Each scenario builds its own Testnet (lh, a, b), runs one fault and measures how long until
 * overlay traffic a -> b flows again.
 */
import { type Impl, Testnet } from '../testnet.js';

export type FaultKind = 'peer-restart' | 'peer-crash' | 'lighthouse-restart' | 'loss10' | 'roam';
export const FAULT_KINDS: readonly FaultKind[] = [
  'peer-restart',
  'peer-crash',
  'lighthouse-restart',
  'loss10',
  'roam',
];

export interface FaultOptions {
  /** Implementation of a and b. */
  readonly impl: 'go' | 'ts';
  /** Implementation of the lighthouse (default: same as impl). */
  readonly lhImpl?: 'go' | 'ts';
  /** Give up waiting for recovery after this long (ms). */
  readonly recoveryTimeoutMs?: number;
  /** Lighthouse update interval (s) used by a and b (the same for both implementations). */
  readonly interval?: number;
  readonly log?: (line: string) => void;
}

export interface FaultResult {
  readonly kind: FaultKind;
  readonly impl: string;
  /** ms from the fault (or from the restarted node being up) to the first a -> b echo reply; null = not recovered. */
  readonly recoveryMs: number | null;
  /** Extra figures (loss: ping loss %, TCP transfer ms; ...). */
  readonly extra: Record<string, number | string | boolean>;
  /** The node logs' tails when it did not recover. */
  readonly diagnostics?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pings from -> to once a second (1 s reply timeout) until a reply; ms elapsed or null. */
export async function timeToPing(
  net: Testnet,
  from: string,
  to: string,
  timeoutMs: number,
  t0 = Date.now(),
): Promise<number | null> {
  for (let i = 0; i < 1000 && Date.now() - t0 < timeoutMs; i++) {
    const r = await net.exec(from, ['ping', '-n', '-c', '1', '-W', '1', net.overlayIp(to)], {
      timeoutMs: 5000,
    });
    if (r.code === 0 && /time=/.test(r.stdout)) return Date.now() - t0;
    await sleep(Math.max(0, 250 - (r.stdout ? 0 : 0)));
  }
  return null;
}

export async function runFault(kind: FaultKind, opts: FaultOptions): Promise<FaultResult> {
  const impl: Impl = opts.impl;
  const lhImpl: Impl = opts.lhImpl ?? opts.impl;
  const timeout = opts.recoveryTimeoutMs ?? 60_000;
  const log = opts.log ?? (() => undefined);
  const net = await Testnet.create({ prefix: 'flt', hosts: ['lh', 'a', 'b'], maxLifetimeSec: 600 });
  const extra: Record<string, number | string | boolean> = {};
  let recoveryMs: number | null = null;
  try {
    await net.makePki({ tool: 'go' });
    for (const h of net.hosts) net.writeConfig(h, net.baseConfig(h, { interval: opts.interval ?? 10 }));
    await net.start('lh', { impl: lhImpl });
    await net.start('a', { impl });
    await net.start('b', { impl });
    if (kind !== 'lighthouse-restart') {
      const warm = await timeToPing(net, 'a', 'b', 30_000);
      if (warm === null) throw new Error(`${impl}: a cannot reach b before the fault\n${tails(net)}`);
      extra.initialMs = warm;
    }
    switch (kind) {
      case 'peer-restart': {
        await net.stop('b');
        await net.start('b', { impl });
        log(`${impl} peer-restart: b restarted`);
        recoveryMs = await timeToPing(net, 'a', 'b', timeout);
        break;
      }
      case 'peer-crash': {
        // SIGKILL: no CloseTunnel reaches a, which keeps a stale tunnel to the old b
        await net.signal('b', 'SIGKILL');
        for (let i = 0; i < 100 && net.isRunning('b'); i++) await sleep(100);
        await net.start('b', { impl });
        log(`${impl} peer-crash: b restarted`);
        recoveryMs = await timeToPing(net, 'a', 'b', timeout);
        break;
      }
      case 'lighthouse-restart': {
        // a and b have not talked yet: after the lighthouse restarts, can a still find b?
        await sleep(2000);
        await net.stop('lh');
        await net.start('lh', { impl: lhImpl });
        const t0 = Date.now();
        recoveryMs = await timeToPing(net, 'a', 'b', timeout, t0);
        // and the lighthouse itself is reachable from both
        extra.lhFromA = (await net.ping('a', 'lh', { count: 1, timeoutMs: 15_000 })).received === 1;
        extra.lhFromB = (await net.ping('b', 'lh', { count: 1, timeoutMs: 15_000 })).received === 1;
        break;
      }
      case 'loss10': {
        await net.dropPercent('a', 10);
        await net.dropPercent('b', 10);
        const t0 = Date.now();
        const p = await net.exec(
          'a',
          ['ping', '-n', '-q', '-c', '100', '-i', '0.05', '-W', '2', net.overlayIp('b')],
          {
            timeoutMs: 60_000,
          },
        );
        const m = /(\d+) packets transmitted, (\d+) received/.exec(p.stdout);
        extra.pingSent = Number(m?.[1] ?? 0);
        extra.pingReceived = Number(m?.[2] ?? 0);
        const tcp = await net.tcpTransfer('a', 'b', { bytes: 1 << 20, timeoutMs: 60_000 });
        extra.tcpMs = tcp.ms;
        extra.tcpShaOk = tcp.sentSha === tcp.receivedSha;
        recoveryMs = extra.tcpShaOk && extra.pingReceived > 0 ? Date.now() - t0 : null;
        await net.dropPercent('a', 0);
        await net.dropPercent('b', 0);
        break;
      }
      case 'roam': {
        // b's underlay address moves .12 -> .40 while the tunnel is up; traffic from b lets a roam.
        const old = net.underlayIp('b');
        const neu = old.replace(/\.\d+$/, '.40');
        const t0 = Date.now();
        // delete first: removing a primary address also removes its secondaries
        await net.exec('b', ['ip', 'addr', 'del', `${old}/24`, 'dev', 'eth0']);
        const add = await net.exec('b', ['ip', 'addr', 'add', `${neu}/24`, 'dev', 'eth0']);
        if (add.code !== 0) throw new Error(`roam: ${add.stderr}`);
        // both directions, as real traffic would be: b -> a makes a roam to the new address
        const [ab, ba] = await Promise.all([
          timeToPing(net, 'a', 'b', timeout, t0),
          timeToPing(net, 'b', 'a', timeout, t0),
        ]);
        recoveryMs = ab;
        extra.bToAMs = ba ?? -1;
        extra.roamedLogged = /roamed/i.test(net.log('a'));
        break;
      }
    }
    log(`${impl} ${kind}: recovery ${recoveryMs} ms ${JSON.stringify(extra)}`);
    return {
      kind,
      impl: `${impl}${lhImpl !== impl ? `/lh:${lhImpl}` : ''}`,
      recoveryMs,
      extra,
      ...(recoveryMs === null ? { diagnostics: tails(net) } : {}),
    };
  } finally {
    await net.destroy();
  }
}

function tails(net: Testnet): string {
  return net.hosts.map((h) => `--- ${h} ---\n${net.log(h).split('\n').slice(-25).join('\n')}`).join('\n');
}
