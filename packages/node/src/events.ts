/**
 * Control-path events, as discriminated unions on hot RxJS Subjects (completed on `stop()`).
 * Addresses are dotted quads / `ip:port` text so subscribers never need the binary forms.
 */

export type HandshakeEvent =
  | { readonly type: 'started'; readonly vpnIp: string; readonly initiatorIndex: number }
  | {
      readonly type: 'completed';
      readonly role: 'initiator' | 'responder';
      readonly vpnIp: string;
      readonly certName: string;
      readonly udpAddr: string;
      readonly localIndex: number;
      readonly remoteIndex: number;
      readonly durationNs?: number;
    }
  | {
      readonly type: 'failed';
      readonly stage: number;
      readonly reason: string;
      readonly vpnIp?: string;
      readonly udpAddr?: string;
      readonly certName?: string;
    };

export type TunnelDownReason =
  | 'close-tunnel'
  | 'recv-error'
  | 'dead'
  | 'replaced'
  | 'stop'
  | 'counter-exhausted'
  | 'invalid-cert';

export type TunnelEvent =
  | {
      readonly type: 'up';
      readonly vpnIp: string;
      readonly certName: string;
      readonly udpAddr: string;
      readonly localIndex: number;
      readonly remoteIndex: number;
    }
  | {
      readonly type: 'down';
      readonly vpnIp: string;
      readonly certName?: string;
      readonly reason: TunnelDownReason;
    }
  | {
      readonly type: 'roamed';
      readonly vpnIp: string;
      readonly from: string | undefined;
      readonly to: string;
    };

export type RecvErrorEvent = {
  readonly type: 'recv-error';
  readonly udpAddr: string;
  readonly remoteIndex: number;
  readonly vpnIp?: string;
  /** What was done: counted (1st–3rd), tunnel torn down (4th+), ignored as possible spoofing, unknown index. */
  readonly action: 'counted' | 'teardown' | 'spoofed' | 'unknown';
};

/** The lighthouse's own events (`@nebula-ts/lighthouse`), re-emitted on `lighthouse$`. */
export type { LighthouseEvent } from '@nebula-ts/lighthouse';

export type ReloadEvent =
  | { readonly type: 'applied'; readonly changed: readonly string[] }
  | { readonly type: 'rejected'; readonly section: string; readonly error: string };
