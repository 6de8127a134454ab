/**
 * Compiled rule tables (firewall.md §2). Per direction: four protocol buckets; per bucket a
 * 65536-entry port index (ranges are segmented, not expanded rule by rule), the port-0 ("any") entry
 * and the fragment entry; per entry the any-CA rule set and the ca_sha / ca_name maps.
 */
import { type FirewallRule, PROTO_ANY, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from './config.js';
import type { FirewallPacket } from './packet.js';
import type { FirewallPeer } from './peer.js';

/** Looks up the Name of the CA with this fingerprint (1.6.1: `caPool.GetCAForCert`). */
export type CaNameForIssuer = (issuer: string) => string | undefined;

/**
 * Bit numbers for the group names the rules use (at most 31), so a group list becomes one mask and
 * "all of them present" one AND against the peer's mask (computed once per peer and index).
 */
export class GroupIndex {
  readonly bits = new Map<string, number>();

  /** Null when the rules name more than 31 groups (the string path is used then). */
  static of(rules: readonly FirewallRule[]): GroupIndex | null {
    const index = new GroupIndex();
    for (const r of rules) {
      for (const g of r.groups ?? []) {
        if (!index.bits.has(g)) {
          if (index.bits.size === 31) return null;
          index.bits.set(g, 1 << index.bits.size);
        }
      }
    }
    return index;
  }

  maskOf(groups: readonly string[]): number {
    let mask = 0;
    for (const g of groups) mask |= this.bits.get(g) ?? 0;
    return mask;
  }
}

/** The selector part of rules at one (proto, port, CA) point: any, or groups OR hosts OR cidrs. */
export class RuleSet {
  any = false;
  groupLists: string[][] = [];
  hosts = new Set<string>();
  cidrs: number[] = [];
  /** Flattened at freeze(): (addr, mask) pairs. */
  cidrPairs = new Uint32Array(0);
  /** Set at freeze() when every group is indexed: one mask per group list. */
  groupIndex: GroupIndex | null = null;
  groupMasks = new Int32Array(0);

  add(r: FirewallRule): void {
    if (this.any) return;
    const groups = r.groups ?? [];
    if (
      (groups.length === 0 && r.host === '' && r.cidr === null) ||
      groups.includes('any') ||
      r.host === 'any' ||
      (r.cidr !== null && r.cidr.containsZero)
    ) {
      this.any = true;
      this.groupLists = [];
      this.hosts.clear();
      this.cidrs = [];
      return;
    }
    if (groups.length > 0) this.groupLists.push([...groups]);
    if (r.host !== '') this.hosts.add(r.host);
    if (r.cidr !== null) this.cidrs.push(r.cidr.addr, r.cidr.mask);
  }

  freeze(index: GroupIndex | null): void {
    this.cidrPairs = Uint32Array.from(this.cidrs);
    if (index !== null) {
      this.groupIndex = index;
      this.groupMasks = Int32Array.from(this.groupLists, (list) => index.maskOf(list));
    }
  }

  match(p: FirewallPacket, peer: FirewallPeer): boolean {
    if (this.any) return true;
    // Go checks groups, hosts, then cidrs; the result is their OR, so the cheapest tests go first.
    const masks = this.groupMasks;
    if (masks.length > 0) {
      const have = peer.groupMaskFor(this.groupIndex!);
      for (let i = 0; i < masks.length; i++) {
        if ((masks[i]! & have) === masks[i]) return true;
      }
    }
    if (this.hosts.size > 0 && this.hosts.has(peer.name)) return true;
    if (masks.length === 0 && this.groupLists.length > 0) {
      const lists = this.groupLists;
      const have = peer.groupSet;
      for (let i = 0; i < lists.length; i++) {
        const list = lists[i]!;
        let all = true;
        for (let j = 0; j < list.length; j++) {
          if (!have.has(list[j]!)) {
            all = false;
            break;
          }
        }
        if (all) return true;
      }
    }
    const cidrs = this.cidrPairs;
    if (cidrs.length > 0) {
      const ip = p.remoteIp;
      for (let i = 0; i < cidrs.length; i += 2) {
        if ((ip & cidrs[i + 1]!) >>> 0 === cidrs[i]) return true;
      }
    }
    return false;
  }
}

function ruleSetFor(map: Map<string, RuleSet>, key: string): RuleSet {
  let set = map.get(key);
  if (set === undefined) {
    set = new RuleSet();
    map.set(key, set);
  }
  return set;
}

/** 1.6.1's FirewallCA: rules at one (proto, port). */
export class PortEntry {
  anyCa: RuleSet | null = null;
  caShas: Map<string, RuleSet> | null = null;
  caNames: Map<string, RuleSet> | null = null;

  add(r: FirewallRule): void {
    if (r.caSha === '' && r.caName === '') {
      this.anyCa ??= new RuleSet();
      this.anyCa.add(r);
      return;
    }
    if (r.caSha !== '') {
      this.caShas ??= new Map();
      ruleSetFor(this.caShas, r.caSha).add(r);
    }
    if (r.caName !== '') {
      this.caNames ??= new Map();
      ruleSetFor(this.caNames, r.caName).add(r);
    }
  }

  freeze(index: GroupIndex | null): void {
    this.anyCa?.freeze(index);
    for (const s of this.caShas?.values() ?? []) s.freeze(index);
    for (const s of this.caNames?.values() ?? []) s.freeze(index);
  }

  match(p: FirewallPacket, peer: FirewallPeer, caName: CaNameForIssuer | null): boolean {
    if (this.anyCa !== null && this.anyCa.match(p, peer)) return true;
    if (this.caShas !== null) {
      const s = this.caShas.get(peer.issuer);
      if (s !== undefined && s.match(p, peer)) return true;
    }
    if (this.caNames !== null && caName !== null) {
      const name = caName(peer.issuer);
      if (name === undefined) return false;
      const s = this.caNames.get(name);
      if (s !== undefined && s.match(p, peer)) return true;
    }
    return false;
  }
}

/** One protocol bucket (1.6.1's firewallPort map). */
export class PortTable {
  /** 0 = no entry for that port; i = entries[i]. Null when no rule names a port in 1..65535. */
  portIndex: Uint16Array | Uint32Array | null = null;
  entries: (PortEntry | null)[] = [null];
  anyPort: PortEntry | null = null;
  fragment: PortEntry | null = null;
  empty = true;

  static build(rules: readonly FirewallRule[], index: GroupIndex | null): PortTable {
    const t = new PortTable();
    if (rules.length === 0) return t;
    t.empty = false;
    const ranged: FirewallRule[] = [];
    for (const r of rules) {
      // Go expands [start, end] port by port; -1 (fragment) and 0 (any) are ordinary keys there.
      if (r.startPort <= -1 && r.endPort >= -1) {
        t.fragment ??= new PortEntry();
        t.fragment.add(r);
      }
      if (r.startPort <= 0 && r.endPort >= 0) {
        t.anyPort ??= new PortEntry();
        t.anyPort.add(r);
      }
      if (r.endPort >= 1 && r.startPort <= 65535) ranged.push(r);
    }
    if (ranged.length > 0) {
      // Segment 1..65535 at every range boundary; identical rule sets share one entry.
      const cuts = new Set<number>([1, 65536]);
      for (const r of ranged) {
        cuts.add(Math.max(1, r.startPort));
        cuts.add(Math.min(65535, r.endPort) + 1);
      }
      const bounds = [...cuts].sort((a, b) => a - b);
      const byKey = new Map<string, number>();
      const index = new Uint32Array(65536);
      for (let s = 0; s + 1 < bounds.length; s++) {
        const lo = bounds[s]!;
        const hi = bounds[s + 1]! - 1;
        const covering: number[] = [];
        ranged.forEach((r, i) => {
          if (r.startPort <= lo && r.endPort >= hi) covering.push(i);
        });
        if (covering.length === 0) continue;
        const key = covering.join(',');
        let idx = byKey.get(key);
        if (idx === undefined) {
          const e = new PortEntry();
          for (const i of covering) e.add(ranged[i]!);
          idx = t.entries.length;
          t.entries.push(e);
          byKey.set(key, idx);
        }
        index.fill(idx, lo, hi + 1);
      }
      t.portIndex = t.entries.length <= 65536 ? Uint16Array.from(index) : index;
    }
    for (const e of t.entries) e?.freeze(index);
    t.anyPort?.freeze(index);
    t.fragment?.freeze(index);
    return t;
  }

  match(p: FirewallPacket, incoming: boolean, peer: FirewallPeer, caName: CaNameForIssuer | null): boolean {
    if (this.empty) return false;
    let e: PortEntry | null = null;
    if (p.fragment) {
      e = this.fragment;
    } else if (this.portIndex !== null) {
      // Always the destination port of the original direction.
      e = this.entries[this.portIndex[incoming ? p.localPort : p.remotePort]!]!;
    }
    if (e !== null && e.match(p, peer, caName)) return true;
    return this.anyPort !== null && this.anyPort.match(p, peer, caName);
  }
}

/** One direction's table (1.6.1's FirewallTable). */
export class RuleTable {
  readonly anyProto: PortTable;
  readonly tcp: PortTable;
  readonly udp: PortTable;
  readonly icmp: PortTable;

  constructor(rules: readonly FirewallRule[], index: GroupIndex | null = GroupIndex.of(rules)) {
    const by = (proto: number) =>
      PortTable.build(
        rules.filter((r) => r.proto === proto),
        index,
      );
    this.anyProto = by(PROTO_ANY);
    this.tcp = by(PROTO_TCP);
    this.udp = by(PROTO_UDP);
    this.icmp = by(PROTO_ICMP);
  }

  match(p: FirewallPacket, incoming: boolean, peer: FirewallPeer, caName: CaNameForIssuer | null): boolean {
    if (this.anyProto.match(p, incoming, peer, caName)) return true;
    switch (p.protocol) {
      case PROTO_TCP:
        return this.tcp.match(p, incoming, peer, caName);
      case PROTO_UDP:
        return this.udp.match(p, incoming, peer, caName);
      case PROTO_ICMP:
        return this.icmp.match(p, incoming, peer, caName);
      default:
        return false;
    }
  }
}
