/**
 * The node's use of `@nebula-ts/firewall`: one shared Conntrack (SharedArrayBuffer, so worker
 * routines share it), the main thread's Firewall (queued packets, reload), per-routine
 * ConntrackCaches (seed a) and FirewallPeers built once per tunnel.
 */
import {
  Conntrack,
  ConntrackCache,
  ConntrackTicker,
  Firewall,
  FirewallPeer,
  type FirewallRules,
  localNetsOf,
  parseFirewallConfig,
  type TcpRttSamples,
} from '@nebula-ts/firewall';
import type { Logger } from 'pino';
import type { NodeConfig } from './config-types.js';
import type { NebulaCertificate } from './internal/deps.js';

/** What a worker needs to build its own Firewall over the shared conntrack. */
export interface FirewallShared {
  readonly conntrack: SharedArrayBuffer;
  readonly firewallRaw: unknown;
  readonly rulesVersion: number;
  readonly localNets: ReadonlyArray<{ addr: number; mask: number }>;
  readonly cacheTimeoutMs: number;
  readonly caNames: Record<string, string>;
}

export interface FirewallBundle {
  readonly mainFirewall: Firewall;
  shared: FirewallShared;
  routineFirewall(i: number): Firewall;
  cache(i: number, dir: 'in' | 'out'): ConntrackCache | null;
  peerFor(cert: NebulaCertificate): FirewallPeer;
  rebuild(
    rules: { outbound: readonly unknown[]; inbound: readonly unknown[] },
    routine: number,
  ): Firewall | null;
  reloadMain(rules: { outbound: readonly unknown[]; inbound: readonly unknown[] }): void;
  conntrackCount(): number;
  /** `network.tcp.rtt` samples from the shared conntrack (every routine's measurements). */
  tcpRtt(): TcpRttSamples;
  stop(): void;
}

/** The firewall subtree in the shape `parseFirewallConfig` reads (Go duration strings). */
export function firewallRawOf(
  cfg: NodeConfig,
  rules?: { outbound: readonly unknown[]; inbound: readonly unknown[] },
): unknown {
  const ct = cfg.firewall.conntrack;
  return {
    conntrack: {
      tcp_timeout: `${ct.tcp_timeout}ms`,
      udp_timeout: `${ct.udp_timeout}ms`,
      default_timeout: `${ct.default_timeout}ms`,
      routine_cache_timeout: `${ct.routine_cache_timeout}ms`,
    },
    outbound: rules?.outbound ?? cfg.firewall.outbound,
    inbound: rules?.inbound ?? cfg.firewall.inbound,
  };
}

export function buildFirewall(shared: FirewallShared, conntrack: Conntrack, rules?: FirewallRules): Firewall {
  const names = shared.caNames;
  return new Firewall({
    rules: rules ?? parseFirewallConfig(shared.firewallRaw),
    conntrack,
    localNets: shared.localNets,
    caNameForIssuer: (fp: string) => names[fp],
    rulesVersion: shared.rulesVersion,
  } as ConstructorParameters<typeof Firewall>[0]);
}

export async function createFirewallBundle(
  cfg: NodeConfig,
  cert: NebulaCertificate,
  routines: number,
  log: Logger,
  caNames: Record<string, string> = {},
): Promise<FirewallBundle> {
  const conntrack = Conntrack.create();
  const firewallRaw = firewallRawOf(cfg);
  const rules = parseFirewallConfig(firewallRaw);
  for (const w of rules.warnings) log.warn(w);
  const cacheTimeoutMs = cfg.firewall.conntrack.routine_cache_timeout;
  let shared: FirewallShared = {
    conntrack: conntrack.buffer,
    firewallRaw,
    rulesVersion: 0,
    localNets: localNetsOf(cert as unknown as Parameters<typeof localNetsOf>[0]),
    cacheTimeoutMs,
    caNames,
  };
  let main = buildFirewall(shared, conntrack, rules);
  log.info({ firewallHash: main.hash }, 'Firewall started');
  if (cacheTimeoutMs > 0)
    log.info({ duration: `${cacheTimeoutMs}ms` }, 'Using routine-local conntrack cache');
  const ticker = new ConntrackTicker(conntrack, { cacheTimeoutMs }).start();
  const caches = new Map<string, ConntrackCache | null>();
  const peers = new WeakMap<object, FirewallPeer>();
  const routineFws: Firewall[] = [];
  void routines;
  return {
    get mainFirewall() {
      return main;
    },
    get shared() {
      return shared;
    },
    set shared(s: FirewallShared) {
      shared = s;
    },
    routineFirewall(i: number): Firewall {
      // The inline routine shares the main thread's instance.
      routineFws[i] = main;
      return main;
    },
    cache(i: number, dir: 'in' | 'out'): ConntrackCache | null {
      const k = `${i}:${dir}`;
      if (!caches.has(k)) caches.set(k, cacheTimeoutMs > 0 ? new ConntrackCache(conntrack) : null);
      return caches.get(k)!;
    },
    peerFor(c: NebulaCertificate): FirewallPeer {
      let p = peers.get(c);
      if (!p) {
        p = FirewallPeer.fromCert(c as unknown as Parameters<typeof FirewallPeer.fromCert>[0]);
        peers.set(c, p);
      }
      return p;
    },
    rebuild(_rules, _routine): Firewall | null {
      return main;
    },
    reloadMain(r) {
      const raw = firewallRawOf(cfg, r);
      const parsed = parseFirewallConfig(raw);
      const next = main.reload(parsed);
      shared = { ...shared, firewallRaw: raw, rulesVersion: next.rulesVersion };
      main = next;
      log.info({ firewallHash: next.hash }, 'Firewall rules reloaded');
    },
    conntrackCount() {
      return conntrack.stats().count;
    },
    tcpRtt() {
      return conntrack.tcpRtt();
    },
    stop() {
      ticker.stop();
    },
  };
}
