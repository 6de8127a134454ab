/**
 * Messages between the main thread (control path) and routine workers. Control path only: data
 * packets never cross (except the rare ones that need a handshake or an unknown-index decision).
 */
import type { FirewallShared } from './firewall-adapter.js';
import type { Cipher } from './internal/io-types.js';
import type { RoutineSettings } from './routine.js';
import type { TunnelTableBuffers } from './tunnel-table.js';

export interface PeerInit {
  readonly name: string;
  readonly groups: readonly string[];
  readonly issuer: string;
  readonly ips: ReadonlyArray<{ addr: number; mask: number }>;
  readonly subnets: ReadonlyArray<{ addr: number; mask: number }>;
}

export interface WorkerInit {
  readonly index: number;
  readonly settings: RoutineSettings;
  readonly table: TunnelTableBuffers;
  readonly firewall: FirewallShared;
  /** tun queue fd opened by the main thread, or -1 for `tun.disabled`. */
  readonly tunFd: number;
  /** The device was opened with `tso`: the worker's queue splits and merges segments too. */
  readonly tunTso: boolean;
  readonly udp: {
    readonly host: string;
    readonly port: number;
    readonly batch: number;
    readonly readBuffer: number;
    readonly writeBuffer: number;
    readonly reusePort: boolean;
  };
  readonly aead: 'native' | 'node';
  /** `cipher`: what the warm-up seals with. */
  readonly cipher: Cipher;
  /** Warm the data path before the routine starts (warmup.ts). */
  readonly warmup: boolean;
  readonly logLevel: string;
  /** eventfd the main thread signals after each message it posts (for the blocking loop), or -1. */
  readonly wakeupFd: number;
}

export type ToWorker =
  | {
      op: 'install';
      slot: number;
      vpnIp: number;
      localIndex: number;
      cipher: Cipher;
      sendKey: Uint8Array;
      recvKey: Uint8Array;
      peer: PeerInit;
    }
  | { op: 'remove'; slot: number; vpnIp: number; localIndex: number }
  | { op: 'send'; bytes: Uint8Array; addr: Uint32Array }
  | { op: 'settings'; settings: RoutineSettings }
  | { op: 'firewall'; firewall: FirewallShared }
  | { op: 'buffers'; readBuffer: number; writeBuffer: number }
  | { op: 'stop' };

export type FromWorker =
  | { op: 'ready'; port: number }
  | { op: 'control'; routine: number; pkt: Uint8Array; addr: Uint32Array }
  | { op: 'need'; vpnIp: number; pkt: Uint8Array }
  | { op: 'roam'; slot: number; addr: Uint32Array }
  | { op: 'exhausted'; slot: number }
  | { op: 'stopped'; stats: { tx: number; rx: number } }
  | { op: 'error'; message: string };
