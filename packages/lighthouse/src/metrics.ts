/**
 * Nebula's go-metrics names exported the way 1.6.1's Prometheus exporter does (metrics.md): every
 * counter is a prom-client **Gauge** named `<namespace>_<subsystem>_<name>` with `.`, space, `-` and
 * `=` in the dotted name replaced by `_`, empty prefix parts omitted.
 *
 * Counting itself is a plain number add on a small object (`inc(n)`); prom-client reads the value
 * only at scrape time through the gauge's `collect()`. So counting on a packet path costs an add,
 * never a prom-client call or an allocation.
 */
import { Gauge, type Registry } from 'prom-client';
import { MetaType } from './meta.js';

export interface NebulaCounter {
  inc(n?: number): void;
  readonly value: number;
}

/** A settable gauge (`firewall.conntrack.count`, `hostmap.main.hosts`...). */
export interface NebulaGauge extends NebulaCounter {
  set(v: number): void;
}

class Counter implements NebulaGauge {
  value = 0;
  inc(n = 1): void {
    this.value += n;
  }
  set(v: number): void {
    this.value = v;
  }
}

class NoopCounter implements NebulaGauge {
  get value(): number {
    return 0;
  }
  inc(_n?: number): void {}
  set(_v: number): void {}
}

/** Shared do-nothing counter for disabled metrics, so callers never branch. */
export const NOOP_COUNTER: NebulaGauge = new NoopCounter();

/** Go's prometheus exporter key flattening plus `prometheus.BuildFQName`. */
export function promMetricName(namespace: string, subsystem: string, dotted: string): string {
  const name = dotted.replace(/[. \-=]/g, '_');
  return [namespace, subsystem, name].filter((s) => s !== '').join('_');
}

export interface NebulaMetricsOptions {
  registry: Registry;
  namespace?: string;
  subsystem?: string;
}

export interface NebulaMetrics {
  readonly registry: Registry;
  readonly namespace: string;
  readonly subsystem: string;
  /** go-metrics `GetOrRegisterCounter(name)`: the same object for the same name and registry. */
  counter(dotted: string): NebulaCounter;
  /** go-metrics `GetOrRegisterGauge(name)`. */
  gauge(dotted: string): NebulaGauge;
  /** The exported Prometheus name of a dotted Nebula name. */
  metricName(dotted: string): string;
  /** `<ns>_<sub>_info{version="1.6.1", ...labels} 1`. */
  registerInfo(labels?: Record<string, string>): void;
  /** Seed (e) tables. */
  messageMetrics(enabled: boolean): MessageMetrics;
  lighthouseMetrics(enabled: boolean): LighthouseMetrics;
}

const perRegistry = new WeakMap<Registry, Map<string, Counter>>();

export function createNebulaMetrics(opts: NebulaMetricsOptions): NebulaMetrics {
  const { registry } = opts;
  const namespace = opts.namespace ?? '';
  const subsystem = opts.subsystem ?? '';
  let known = perRegistry.get(registry);
  if (!known) {
    known = new Map();
    perRegistry.set(registry, known);
  }
  const table = known;
  const getOrRegister = (dotted: string): Counter => {
    const name = promMetricName(namespace, subsystem, dotted);
    let c = table.get(name);
    if (c) return c;
    const counter = new Counter();
    new Gauge({
      name,
      help: dotted,
      registers: [registry],
      collect() {
        this.set(counter.value);
      },
    });
    table.set(name, counter);
    c = counter;
    return c;
  };
  const nm: NebulaMetrics = {
    registry,
    namespace,
    subsystem,
    counter: getOrRegister,
    gauge: getOrRegister,
    metricName: (dotted) => promMetricName(namespace, subsystem, dotted),
    registerInfo(labels = {}) {
      const all: Record<string, string> = { version: '1.6.1', ...labels };
      const name = promMetricName(namespace, subsystem, 'info');
      if (registry.getSingleMetric(name)) return;
      const g = new Gauge({
        name,
        help: 'Version information for the Nebula binary',
        labelNames: Object.keys(all),
        registers: [registry],
      });
      g.set(all, 1);
    },
    messageMetrics: (enabled) => new MessageMetrics(nm, enabled),
    lighthouseMetrics: (enabled) => new LighthouseMetrics(nm, enabled),
  };
  return nm;
}

// Header types/subtypes covered by the message table (header.md): type × subtype, stride 2.
const MSG_TYPES = 7;
const MSG_SUBTYPES = 2;

/**
 * Seed (e): `messages.{rx,tx}.*` indexed by header [type][subtype]. Anything outside the table is
 * `other` (only when enabled; the recv_error-only table drops it, as Go's does). Callers must not
 * count type-1 data packets (Go's table has no row for them: they would land in `other`).
 */
export class MessageMetrics {
  private readonly rxTable: NebulaCounter[];
  private readonly txTable: NebulaCounter[];
  private readonly rxOther: NebulaCounter;
  private readonly txOther: NebulaCounter;
  /** `messages.tx.punchy`: keep-alive punches (registered only with message_metrics). */
  readonly punchyTx: NebulaCounter;

  constructor(
    nm: NebulaMetrics | null,
    readonly enabled: boolean,
  ) {
    const gen = (dir: 'rx' | 'tx', other: NebulaCounter): NebulaCounter[] => {
      const t: NebulaCounter[] = new Array(MSG_TYPES * MSG_SUBTYPES).fill(other);
      const put = (type: number, sub: number, name: string, always = false): void => {
        if (nm && (enabled || always)) t[type * MSG_SUBTYPES + sub] = nm.counter(`messages.${dir}.${name}`);
      };
      put(0, 0, 'handshake_ixpsk0');
      put(2, 0, 'recv_error', true);
      put(3, 0, 'lighthouse');
      put(4, 0, 'test_request');
      put(4, 1, 'test_response');
      put(5, 0, 'close_tunnel');
      return t;
    };
    this.rxOther = nm && enabled ? nm.counter('messages.rx.other') : NOOP_COUNTER;
    this.txOther = nm && enabled ? nm.counter('messages.tx.other') : NOOP_COUNTER;
    this.rxTable = gen('rx', this.rxOther);
    this.txTable = gen('tx', this.txOther);
    this.punchyTx = nm && enabled ? nm.counter('messages.tx.punchy') : NOOP_COUNTER;
  }

  rx(type: number, subtype: number, n = 1): void {
    (type < MSG_TYPES && subtype < MSG_SUBTYPES
      ? this.rxTable[type * MSG_SUBTYPES + subtype]!
      : this.rxOther
    ).inc(n);
  }

  tx(type: number, subtype: number, n = 1): void {
    (type < MSG_TYPES && subtype < MSG_SUBTYPES
      ? this.txTable[type * MSG_SUBTYPES + subtype]!
      : this.txOther
    ).inc(n);
  }
}

const LH_TYPES = 10;

/**
 * Seed (e): `lighthouse.{rx,tx}.<MetaType>` plus `messages.tx.holepunch`, enabled by
 * `stats.lighthouse_metrics`. Disabled: every method is a no-op, so callers do not branch.
 */
export class LighthouseMetrics {
  private readonly rxTable: NebulaCounter[];
  private readonly txTable: NebulaCounter[];
  readonly holepunchTx: NebulaCounter;

  constructor(
    nm: NebulaMetrics | null,
    readonly enabled: boolean,
  ) {
    const on = nm !== null && enabled;
    const gen = (dir: 'rx' | 'tx'): NebulaCounter[] => {
      const other = on ? nm.counter(`lighthouse.${dir}.other`) : NOOP_COUNTER;
      const t: NebulaCounter[] = new Array(LH_TYPES).fill(other);
      if (on) {
        for (const [name, v] of [
          ['HostQuery', MetaType.HostQuery],
          ['HostQueryReply', MetaType.HostQueryReply],
          ['HostUpdateNotification', MetaType.HostUpdateNotification],
          ['HostPunchNotification', MetaType.HostPunchNotification],
        ] as const) {
          t[v] = nm.counter(`lighthouse.${dir}.${name}`);
        }
      }
      // slot LH_TYPES is the "other" fallback for out-of-range (even negative) types
      t.push(other);
      return t;
    };
    this.rxTable = gen('rx');
    this.txTable = gen('tx');
    this.holepunchTx = on ? nm.counter('messages.tx.holepunch') : NOOP_COUNTER;
  }

  rx(metaType: number, n = 1): void {
    this.rxTable[metaType >= 0 && metaType < LH_TYPES ? metaType : LH_TYPES]!.inc(n);
  }

  tx(metaType: number, n = 1): void {
    this.txTable[metaType >= 0 && metaType < LH_TYPES ? metaType : LH_TYPES]!.inc(n);
  }
}

/** A disabled LighthouseMetrics (no registry needed). */
export const NOOP_LIGHTHOUSE_METRICS = new LighthouseMetrics(null, false);
