/** Raw result records of the throughput case (what `--json` writes). */

import type { HostSample, RttResult } from './iperf.js';
import type { Buffers, Direction, Pair } from './options.js';
import type { TreeMemory } from './proc.js';

/** One node configuration of the matrix; the raw underlay is a pseudo-condition. */
export type Condition =
  | {
      readonly kind: 'overlay';
      readonly id: string;
      readonly pair: Pair;
      readonly routines: number;
      readonly buffers: Buffers;
      /** `listen.batch` of the TS node(s); null = their default (and always for go-go). */
      readonly tsBatch: number | null;
    }
  | { readonly kind: 'underlay'; readonly id: 'underlay' };

export interface IperfRecord {
  readonly rep: number;
  readonly condition: string;
  readonly pair: Pair | 'underlay';
  readonly routines: number | null;
  readonly buffers: Buffers | null;
  readonly tsBatch?: number | null;
  readonly streams: number;
  readonly dir: Direction;
  readonly ok: boolean;
  readonly mbps: number | null;
  readonly retransmits: number | null;
  readonly a: HostSample | null;
  readonly b: HostSample | null;
  readonly machine: { busyPct: number; stealPct: number; softirqPct: number } | null;
  /** Machine busy % in the last 1 s sample before the run (only with `--quiet-max`). */
  readonly bgBusyPct?: number | null;
  readonly error?: string;
}

export interface ConditionRecord {
  readonly rep: number;
  /** Position of this condition in the repetition's (rotated) order. */
  readonly order: number;
  readonly condition: string;
  readonly pair: Pair | 'underlay';
  readonly routines: number | null;
  readonly buffers: Buffers | null;
  readonly tsBatch?: number | null;
  readonly ok: boolean;
  /** Node start (a, b) until the first a->b overlay ping reply. */
  readonly tunnelUpMs: number | null;
  /** Pings right after the tunnel came up: the node's code has not run much yet (JIT still cold). */
  readonly rtt: RttResult | null;
  /** The same pings after the iperf3 runs, on the now idle tunnel: a node that has carried traffic. */
  readonly rttWarm?: RttResult | null;
  readonly idleMem: { a: TreeMemory | null; b: TreeMemory | null } | null;
  /** Max over this condition's iperf runs of the mid-run sample. */
  readonly loadedMem: { a: TreeMemory | null; b: TreeMemory | null } | null;
  readonly error?: string;
  readonly logTail?: { a: string; b: string };
}

export interface RunMeta {
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly loadavgStart: string;
  readonly loadavgEnd?: string;
  readonly nproc: number;
  readonly node: string;
  readonly goNebula: string;
  readonly options: unknown;
}

export interface ThroughputResults {
  meta: RunMeta;
  conditions: ConditionRecord[];
  iperf: IperfRecord[];
}
