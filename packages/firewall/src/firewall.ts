/**
 * The Drop decision of Go Nebula 1.6.1 (`firewall.go` Firewall.Drop / inConns / addConn), see
 * firewall.md §3–§5. One Firewall per thread (rules are plain JS objects); the Conntrack it uses is
 * shared. Returns a reason code; the caller counts metrics per batch.
 */
import { type FirewallRules, PROTO_TCP, PROTO_UDP } from './config.js';
import type { Conntrack, ConntrackCache, ConntrackRevalidator } from './conntrack.js';
import type { IpNet } from './internal/net.js';
import type { FirewallPacket } from './packet.js';
import { type FirewallPeer, netsToPairs } from './peer.js';
import { type CaNameForIssuer, GroupIndex, RuleTable } from './rules.js';

export const DROP_NONE = 0;
/** "remote IP is not in remote certificate subnets" */
export const DROP_REMOTE_IP = 1;
/** "local IP is not in list of handled local IPs" */
export const DROP_LOCAL_IP = 2;
/** "no matching rule in firewall table" */
export const DROP_NO_RULE = 3;

export const DropReason = {
  PASS: DROP_NONE,
  REMOTE_IP: DROP_REMOTE_IP,
  LOCAL_IP: DROP_LOCAL_IP,
  NO_RULE: DROP_NO_RULE,
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

export const DROP_MESSAGES: Readonly<Record<number, string>> = {
  [DROP_REMOTE_IP]: 'remote IP is not in remote certificate subnets',
  [DROP_LOCAL_IP]: 'local IP is not in list of handled local IPs',
  [DROP_NO_RULE]: 'no matching rule in firewall table',
};

export interface FirewallOptions {
  readonly rules: FirewallRules;
  readonly conntrack: Conntrack;
  /** Our cert's IPs as /32s and its subnets (see `localNetsOf`). */
  readonly localNets: readonly IpNet[];
  /** CA Name by fingerprint, for `ca_name` rules. */
  readonly caNameForIssuer?: CaNameForIssuer;
  /** uint16; 0 for the first firewall, then `nextRulesVersion`. */
  readonly rulesVersion?: number;
}

/** 1.6.1: uint16 increment on reload; 0 means "conntrack starts empty". */
export function nextRulesVersion(v: number): number {
  return (v + 1) & 0xffff;
}

export class Firewall implements ConntrackRevalidator {
  readonly rules: FirewallRules;
  readonly conntrack: Conntrack;
  readonly rulesVersion: number;
  readonly inRules: RuleTable;
  readonly outRules: RuleTable;
  private readonly localNets: Uint32Array;
  private readonly caName: CaNameForIssuer | null;
  private readonly tcpUnits: number;
  private readonly udpUnits: number;
  private readonly otherUnits: number;

  constructor(opts: FirewallOptions) {
    this.rules = opts.rules;
    this.conntrack = opts.conntrack;
    this.rulesVersion = (opts.rulesVersion ?? 0) & 0xffff;
    const groups = GroupIndex.of([...opts.rules.inbound, ...opts.rules.outbound]);
    this.inRules = new RuleTable(opts.rules.inbound, groups);
    this.outRules = new RuleTable(opts.rules.outbound, groups);
    this.localNets = netsToPairs(opts.localNets);
    this.caName = opts.caNameForIssuer ?? null;
    const ct = opts.rules.conntrack;
    this.tcpUnits = opts.conntrack.unitsFor(ct.tcpTimeoutMs);
    this.udpUnits = opts.conntrack.unitsFor(ct.udpTimeoutMs);
    this.otherUnits = opts.conntrack.unitsFor(ct.defaultTimeoutMs);
  }

  /** `firewallHash` for logs. */
  get hash(): string {
    return this.rules.hash;
  }

  /**
   * The firewall for reloaded rules: same conntrack, version + 1 (uint16). When the version wraps
   * to 0 the shared table is emptied, as 1.6.1 starts a new one. With several worker threads, give
   * the new version to each worker's `new Firewall` and let one thread call this (or `clear()`).
   */
  reload(rules: FirewallRules): Firewall {
    const rulesVersion = nextRulesVersion(this.rulesVersion);
    if (rulesVersion === 0) this.conntrack.clear();
    const opts: FirewallOptions = {
      rules,
      conntrack: this.conntrack,
      localNets: pairsToNets(this.localNets),
      rulesVersion,
      ...(this.caName !== null ? { caNameForIssuer: this.caName } : {}),
    };
    return new Firewall(opts);
  }

  /** Rule match only (§2), no conntrack, no address checks. */
  matchRules(p: FirewallPacket, incoming: boolean, peer: FirewallPeer): boolean {
    return (incoming ? this.inRules : this.outRules).match(p, incoming, peer, this.caName);
  }

  /** For conntrack: re-run the entry's original direction against the current rules. */
  revalidate(p: FirewallPacket, incoming: boolean, peer: FirewallPeer): boolean {
    return (incoming ? this.inRules : this.outRules).match(p, incoming, peer, this.caName);
  }

  private timeoutUnits(protocol: number): number {
    return protocol === PROTO_TCP ? this.tcpUnits : protocol === PROTO_UDP ? this.udpUnits : this.otherUnits;
  }

  /** The local-IP check (§3 step 3). */
  localAllowed(localIp: number): boolean {
    const nets = this.localNets;
    for (let i = 0; i < nets.length; i += 2) {
      if ((localIp & nets[i + 1]!) >>> 0 === nets[i]) return true;
    }
    return false;
  }

  /**
   * 0 = pass, else DROP_REMOTE_IP / DROP_LOCAL_IP / DROP_NO_RULE. `cache` is the calling routine's
   * ConntrackCache, or null (e.g. for packets flushed from the handshake queue).
   */
  drop(p: FirewallPacket, incoming: boolean, peer: FirewallPeer, cache: ConntrackCache | null): number {
    if (cache !== null && cache.has(p)) return DROP_NONE;
    const timeout = this.timeoutUnits(p.protocol);
    if (this.conntrack.lookup(p, timeout, this.rulesVersion, this, peer, incoming)) {
      if (cache !== null) cache.add(p);
      return DROP_NONE;
    }
    if (!peer.remoteAllowed(p.remoteIp)) return DROP_REMOTE_IP;
    if (!this.localAllowed(p.localIp)) return DROP_LOCAL_IP;
    if (!(incoming ? this.inRules : this.outRules).match(p, incoming, peer, this.caName)) return DROP_NO_RULE;
    this.conntrack.insert(p, incoming, this.rulesVersion, timeout);
    return DROP_NONE;
  }
}

function pairsToNets(pairs: Uint32Array): IpNet[] {
  const out: IpNet[] = [];
  for (let i = 0; i < pairs.length; i += 2) out.push({ addr: pairs[i]!, mask: pairs[i + 1]! });
  return out;
}
