/**
 * The node's metrics, on `@nebula-ts/lighthouse`'s `createNebulaMetrics` (Nebula's dotted names as
 * prom-client Gauges read at scrape time). Seed (e): `MessageMetrics` counts non-data packets only;
 * the data path counts per batch into the shared stats block, folded in here every
 * connection-manager tick.
 */
import {
  createNebulaMetrics,
  type LighthouseMetrics,
  type MessageMetrics,
  type NebulaCounter,
  type NebulaGauge,
} from '@nebula-ts/lighthouse';
import { Gauge, Registry } from 'prom-client';
import type { HostMap } from './hostmap.js';
import { MessageType, type TcpRttSamples } from './internal/deps.js';
import { Stat, type TunnelTable } from './tunnel-table.js';

export interface StatsSettings {
  readonly message_metrics: boolean;
  readonly lighthouse_metrics: boolean;
  readonly namespace: string;
  readonly subsystem: string;
}

const GAUGES = [
  'firewall.incoming.dropped.local_ip',
  'firewall.incoming.dropped.remote_ip',
  'firewall.incoming.dropped.no_rule',
  'firewall.outgoing.dropped.local_ip',
  'firewall.outgoing.dropped.remote_ip',
  'firewall.outgoing.dropped.no_rule',
  'network.packets.lost',
  'network.packets.duplicate',
  'network.packets.out_of_window',
  'hostmap.main.hosts',
  'hostmap.main.indexes',
  'hostmap.main.remoteIndexes',
  'hostmap.main.relayIndexes',
  'hostmap.pending.hosts',
  'hostmap.pending.indexes',
  'hostmap.pending.remoteIndexes',
  'hostmap.pending.relayIndexes',
  'routines',
  'firewall.conntrack.count',
  'firewall.rules.version',
] as const;

/**
 * A go-metrics histogram as Nebula's Prometheus exporter shows it: one gauge with a `type` label
 * (count, min, max, mean, stddev, variance, sum, perc75/95/99/999), computed at scrape time.
 */
function histogramGauge(
  registry: Registry,
  name: string,
  dotted: string,
  read: () => { count: number; values: readonly number[] },
): void {
  if (registry.getSingleMetric(name)) return;
  new Gauge({
    name,
    help: dotted,
    labelNames: ['type'],
    registers: [registry],
    collect() {
      const { count, values } = read();
      const d = [...values].sort((x, y) => x - y);
      const n = d.length;
      const q = (p: number) => (n === 0 ? 0 : d[Math.min(n - 1, Math.floor(p * n))]!);
      const sum = d.reduce((a, b) => a + b, 0);
      const mean = n === 0 ? 0 : sum / n;
      const variance = n === 0 ? 0 : d.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
      const out: Record<string, number> = {
        count,
        min: n ? d[0]! : 0,
        max: n ? d[n - 1]! : 0,
        mean,
        stddev: Math.sqrt(variance),
        variance,
        sum,
        perc75: q(0.75),
        perc95: q(0.95),
        perc99: q(0.99),
        perc999: q(0.999),
      };
      for (const [type, v] of Object.entries(out)) this.set({ type }, v);
    },
  });
}

export class NodeMetrics {
  readonly registry: Registry;
  readonly messages: MessageMetrics;
  readonly lighthouse: LighthouseMetrics;
  readonly handshake: { initiated: NebulaCounter; timedOut: NebulaCounter; onDuration(ns: number): void };
  readonly cachedSent: NebulaCounter;
  readonly cachedDropped: NebulaCounter;
  private readonly gauges = new Map<string, NebulaGauge>();
  private routineRecvErrors = 0;
  private readonly replay = { lost: 0, duplicate: 0, outOfWindow: 0 };
  /** Last handshake durations (ns), newest last; the histogram is not exported yet. */
  readonly handshakeDurations: number[] = [];

  private readonly tunMessages: { rx: NebulaGauge; tx: NebulaGauge } | null;

  constructor(registry: Registry | undefined, stats: StatsSettings | undefined, tunDisabled = false) {
    this.registry = registry ?? new Registry();
    const nm = createNebulaMetrics({
      registry: this.registry,
      namespace: stats?.namespace ?? '',
      subsystem: stats?.subsystem ?? '',
    });
    this.messages = nm.messageMetrics(stats?.message_metrics ?? false);
    this.lighthouse = nm.lighthouseMetrics(stats?.lighthouse_metrics ?? false);
    const durations = this.handshakeDurations;
    this.handshake = {
      initiated: nm.counter('handshake_manager.initiated'),
      timedOut: nm.counter('handshake_manager.timed_out'),
      onDuration(ns: number) {
        durations.push(ns);
        if (durations.length > 256) durations.shift();
      },
    };
    this.cachedSent = nm.counter('hostinfo.cached_packets.sent');
    this.cachedDropped = nm.counter('hostinfo.cached_packets.dropped');
    for (const g of GAUGES) this.gauges.set(g, nm.gauge(g));
    // The disabled tun counts what it delivers and answers (metrics.md), with message_metrics.
    this.tunMessages =
      tunDisabled && stats?.message_metrics
        ? { rx: nm.gauge('messages.rx.message'), tx: nm.gauge('messages.tx.message') }
        : null;
    // Initiator handshake durations and the firewall's TCP RTTs (ns), as go-metrics histograms.
    histogramGauge(this.registry, nm.metricName('handshakes'), 'handshakes', () => ({
      count: durations.length,
      values: durations,
    }));
    histogramGauge(this.registry, nm.metricName('network.tcp.rtt'), 'network.tcp.rtt', () => {
      const r = this.tcpRttSource?.();
      return r ? { count: r.count, values: r.samplesNs } : { count: 0, values: [] };
    });
  }

  /** Where `network.tcp.rtt` reads its samples (the firewall's shared conntrack), once it exists. */
  tcpRttSource: (() => TcpRttSamples) | null = null;

  rx(type: number, subtype: number, n: number): void {
    // Data packets are never counted here (seed e).
    if (type !== MessageType.Message) this.messages.rx(type, subtype, n);
  }

  tx(type: number, subtype: number, n: number): void {
    if (type !== MessageType.Message) this.messages.tx(type, subtype, n);
  }

  private set(name: (typeof GAUGES)[number], v: number): void {
    this.gauges.get(name)!.set(v);
  }

  /** Folds the routines' shared counters in (every connection-manager tick). */
  collectFrom(
    table: TunnelTable,
    main: HostMap,
    pending: HostMap,
    conntrackCount = 0,
    rulesVersion = 0,
  ): void {
    this.set('firewall.conntrack.count', conntrackCount);
    this.set('firewall.rules.version', rulesVersion);
    if (this.tunMessages) {
      this.tunMessages.rx.set(table.stat(Stat.RxMessage));
      this.tunMessages.tx.set(table.stat(Stat.TxMessage));
    }
    this.set('firewall.incoming.dropped.local_ip', table.stat(Stat.FwInLocalIp));
    this.set('firewall.incoming.dropped.remote_ip', table.stat(Stat.FwInRemoteIp));
    this.set('firewall.incoming.dropped.no_rule', table.stat(Stat.FwInNoRule));
    this.set('firewall.outgoing.dropped.local_ip', table.stat(Stat.FwOutLocalIp));
    this.set('firewall.outgoing.dropped.remote_ip', table.stat(Stat.FwOutRemoteIp));
    this.set('firewall.outgoing.dropped.no_rule', table.stat(Stat.FwOutNoRule));
    const r = this.replay;
    for (const h of main.byVpnIp.values()) if (h.slot >= 0) table.windows[h.slot]!.takeCounters(r);
    this.set('network.packets.lost', r.lost);
    this.set('network.packets.duplicate', r.duplicate);
    this.set('network.packets.out_of_window', r.outOfWindow);
    this.set('hostmap.main.hosts', main.byVpnIp.size);
    this.set('hostmap.main.indexes', main.byIndex.size);
    this.set('hostmap.main.remoteIndexes', main.byRemoteIndex.size);
    this.set('hostmap.pending.hosts', pending.byVpnIp.size);
    this.set('hostmap.pending.indexes', pending.byIndex.size);
    this.set('hostmap.pending.remoteIndexes', pending.byRemoteIndex.size);
    this.set('routines', table.buffers.routines);
    // recv_errors the routines sent themselves (replay-check failures).
    const sent = table.stat(Stat.TxRecvError);
    if (sent > this.routineRecvErrors)
      this.messages.tx(MessageType.RecvError, 0, sent - this.routineRecvErrors);
    this.routineRecvErrors = sent;
  }
}
