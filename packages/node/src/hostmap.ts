/**
 * Host maps (pending and main), keyed by vpnIp, local index and remote index, and local index
 * allocation (handshake.md §4).
 */
import { randomFillSync } from 'node:crypto';
import type { HostInfo } from './hostinfo.js';

export class HostMap {
  readonly byVpnIp = new Map<number, HostInfo>();
  readonly byIndex = new Map<number, HostInfo>();
  readonly byRemoteIndex = new Map<number, HostInfo>();

  constructor(readonly name: 'main' | 'pending') {}

  get size(): number {
    return this.byVpnIp.size;
  }

  /** Adds or replaces the entry for `h.vpnIp`; returns the replaced one, if any. */
  add(h: HostInfo): HostInfo | undefined {
    const old = this.byVpnIp.get(h.vpnIp);
    if (old && old !== h) this.delete(old);
    this.byVpnIp.set(h.vpnIp, h);
    if (h.localIndex) this.byIndex.set(h.localIndex, h);
    if (h.remoteIndex) this.byRemoteIndex.set(h.remoteIndex, h);
    return old !== h ? old : undefined;
  }

  addIndex(h: HostInfo): void {
    if (h.localIndex) this.byIndex.set(h.localIndex, h);
  }

  delete(h: HostInfo): boolean {
    let removed = false;
    if (this.byVpnIp.get(h.vpnIp) === h) {
      this.byVpnIp.delete(h.vpnIp);
      removed = true;
    }
    if (h.localIndex && this.byIndex.get(h.localIndex) === h) {
      this.byIndex.delete(h.localIndex);
      removed = true;
    }
    if (h.remoteIndex && this.byRemoteIndex.get(h.remoteIndex) === h)
      this.byRemoteIndex.delete(h.remoteIndex);
    return removed;
  }

  has(h: HostInfo): boolean {
    return this.byVpnIp.get(h.vpnIp) === h;
  }
}

const idBuf = new Uint32Array(1);

/** A random non-zero uint32 from the CSPRNG. */
export function randomIndex(): number {
  for (;;) {
    randomFillSync(idBuf);
    if (idBuf[0] !== 0) return idBuf[0]!;
  }
}

/** Initiator index: up to 32 tries for one unused in both maps; 0 on failure. */
export function allocateIndex(main: HostMap, pending: HostMap): number {
  for (let i = 0; i < 32; i++) {
    const id = randomIndex();
    if (!main.byIndex.has(id) && !pending.byIndex.has(id)) return id;
  }
  return 0;
}
