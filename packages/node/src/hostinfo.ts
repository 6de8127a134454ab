/**
 * A peer as the control path sees it: indexes, remote, certificate, handshake state, queued
 * packets, connection-manager marks. The data path only sees the tunnel-table slot.
 */
import type { Logger } from 'pino';
import { addrToString, ipv4ToString, type UdpAddr } from './addr.js';
import type { NebulaCertificate, NoiseHandshake } from './internal/deps.js';
import type { Cipher } from './internal/io-types.js';

/** A packet waiting for the handshake (dataplane.md §8): tun data or a control message. */
export interface CachedPacket {
  readonly type: number;
  readonly subtype: number;
  readonly payload: Uint8Array;
}

export const MAX_CACHED_PACKETS = 100;

export type CmState = 'idle' | 'testing' | 'pending-deletion';

export class HostInfo {
  localIndex = 0;
  remoteIndex = 0;
  /** Tunnel-table slot once keys are installed, else -1. */
  slot = -1;
  remote: UdpAddr | null = null;
  lastRoam = 0;
  lastRoamRemote: UdpAddr | null = null;
  peerCert: NebulaCertificate | null = null;

  // Handshake state.
  noise: NoiseHandshake | null = null;
  cipher: Cipher = 'aes';
  /** Initiator: the complete stage-1 packet, retransmitted byte-identically. */
  stage1Packet: Uint8Array | null = null;
  /** Responder: the stage-1 Noise body (duplicate detection) and the cached stage-2 reply. */
  stage1Body: Uint8Array | null = null;
  stage2Packet: Uint8Array | null = null;
  handshakeStart = 0n;
  attempts = 0;
  ready = false;
  /** Peer's clock from its handshake, Unix ns. */
  lastHandshakeTime = 0n;
  sendKey: Uint8Array | null = null;
  recvKey: Uint8Array | null = null;
  queue: CachedPacket[] = [];
  timer: NodeJS.Timeout | null = null;
  initiator = false;

  recvErrors = 0;
  cm: CmState = 'idle';
  cmDeadline = 0;
  /** Last connection-manager tick that saw outbound traffic (ms). */
  lastOutAt = 0;

  private cachedLogger: Logger | null = null;
  private cachedLoggerBase: Logger | null = null;

  constructor(readonly vpnIp: number) {}

  get certName(): string | undefined {
    return this.peerCert?.details.name;
  }

  /**
   * Seed (f): a child of `base` carrying `vpnIp` and, once the peer's certificate is known,
   * `certName`. Cached per base logger until the certificate changes.
   */
  logger(base: Logger): Logger {
    if (this.cachedLogger && this.cachedLoggerBase === base) return this.cachedLogger;
    const fields: Record<string, string> = { vpnIp: ipv4ToString(this.vpnIp) };
    const name = this.certName;
    if (name !== undefined) fields.certName = name;
    const l = base.child(fields);
    if (name !== undefined) {
      this.cachedLogger = l;
      this.cachedLoggerBase = base;
    }
    return l;
  }

  /** Invalidate the cached logger (the certificate changed). */
  resetLogger(): void {
    this.cachedLogger = null;
  }

  remoteString(): string | undefined {
    return this.remote ? addrToString(this.remote) : undefined;
  }

  clearTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }
}
