/**
 * What the firewall needs to know about a tunnel peer, precomputed once per tunnel so the
 * per-packet checks are plain number and Set lookups.
 */
import type { IpNet } from './internal/net.js';

/** What `FirewallPeer.groupMaskFor` needs from a firewall's group index. */
export interface GroupMasker {
  maskOf(groups: readonly string[]): number;
}

export type { IpNet };

export interface FirewallPeerInit {
  readonly name: string;
  readonly groups: readonly string[];
  /** Hex fingerprint of the CA that signed the peer cert (the cert's `issuer`). */
  readonly issuer: string;
  readonly ips: readonly IpNet[];
  readonly subnets: readonly IpNet[];
}

/** Structural view of `@nebula-ts/cert`'s `NebulaCertificate` (flat or with `details`). */
export type CertLike = FirewallPeerInit | { readonly details: FirewallPeerInit };

export class FirewallPeer {
  readonly name: string;
  readonly groups: readonly string[];
  readonly groupSet: ReadonlySet<string>;
  readonly issuer: string;
  readonly ips: readonly IpNet[];
  readonly subnets: readonly IpNet[];
  /** ips[0].addr, the tunnel's vpnIp. */
  readonly vpnIp: number;
  /**
   * Null when the cert has exactly one IP and no subnets (1.6.1 then compares with the vpnIp);
   * otherwise pairs (addr, mask) of the IPs as /32s and the subnets.
   */
  readonly remoteNets: Uint32Array | null;
  // One-entry memo: this peer's groups as a mask for the firewall index last asked (per thread).
  private maskIndex: GroupMasker | null = null;
  private mask = 0;

  constructor(init: FirewallPeerInit) {
    this.name = init.name;
    this.groups = [...init.groups];
    this.groupSet = new Set(init.groups);
    this.issuer = init.issuer;
    this.ips = init.ips.map((n) => ({ addr: n.addr >>> 0, mask: n.mask >>> 0 }));
    this.subnets = init.subnets.map((n) => ({ addr: n.addr >>> 0, mask: n.mask >>> 0 }));
    this.vpnIp = this.ips.length > 0 ? this.ips[0]!.addr : 0;
    if (this.ips.length === 1 && this.subnets.length === 0) {
      this.remoteNets = null;
    } else {
      const nets = [...this.ips.map((n) => ({ addr: n.addr, mask: 0xffffffff })), ...this.subnets];
      this.remoteNets = netsToPairs(nets);
    }
  }

  static fromCert(cert: CertLike): FirewallPeer {
    const d = 'details' in cert ? cert.details : cert;
    return new FirewallPeer({
      name: d.name,
      groups: d.groups,
      issuer: d.issuer,
      ips: d.ips,
      subnets: d.subnets,
    });
  }

  /** The peer's groups as bits of `index` (recomputed only when the index changes, e.g. a reload). */
  groupMaskFor(index: GroupMasker): number {
    if (this.maskIndex !== index) {
      this.mask = index.maskOf(this.groups);
      this.maskIndex = index;
    }
    return this.mask;
  }

  /** 1.6.1's remote address check (`Drop` step 2). */
  remoteAllowed(remoteIp: number): boolean {
    const nets = this.remoteNets;
    if (nets === null) return remoteIp === this.vpnIp;
    for (let i = 0; i < nets.length; i += 2) {
      if ((remoteIp & nets[i + 1]!) >>> 0 === nets[i]) return true;
    }
    return false;
  }
}

/** (addr & mask, mask) pairs. */
export function netsToPairs(nets: readonly IpNet[]): Uint32Array {
  const out = new Uint32Array(nets.length * 2);
  nets.forEach((n, i) => {
    out[2 * i] = (n.addr & n.mask) >>> 0;
    out[2 * i + 1] = n.mask >>> 0;
  });
  return out;
}

/** Our own cert's IPs (as /32s) and subnets: the networks `Drop` accepts as local IPs. */
export function localNetsOf(cert: CertLike): IpNet[] {
  const d = 'details' in cert ? cert.details : cert;
  return [...d.ips.map((n) => ({ addr: n.addr >>> 0, mask: 0xffffffff })), ...d.subnets];
}
