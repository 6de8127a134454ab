/**
 * The per-vpnIp address cache ("RemoteList", lighthouse.md §4). Per *owner* (who told us) it keeps a
 * learned v4/v6 slot, reported v4/v6 lists (≤ 10 each) and relays; plus blocked addresses. The
 * candidate list (all learned + reported addresses of all owners minus blocked ones) is rebuilt
 * lazily on change and sorted as 1.6.1: preferred ranges first, IPv6 before IPv4, public IPv4
 * before RFC 1918, address bytes, port; then de-duplicated.
 *
 * Storage is pooled: replacing a report overwrites the owner's existing address objects, so a
 * lighthouse absorbing periodic HostUpdateNotifications does not allocate per update.
 * Single-threaded by design (one LightHouse per thread); no locks.
 */
import { ADDR_WORDS, isPrivateV4, UdpAddr } from './addr.js';
import { type CidrSet, EMPTY_CIDR_SET } from './cidr.js';
import type { NebulaMetaDetails } from './meta.js';

/** Nebula's `MaxRemotes`: at most this many reported addresses per owner and family (and relays). */
export const MAX_REMOTES = 10;

/** Decides whether an address may be stored for host `vpnIp` (allow lists, vpn-network rule). */
export type AddrCheck = (vpnIp: number, addr: UdpAddr) => boolean;

const ALLOW_ALL: AddrCheck = () => true;

/** What one owner told us about the host. */
export class OwnerCache {
  hasLearned4 = false;
  readonly learned4 = new UdpAddr();
  hasLearned6 = false;
  readonly learned6 = new UdpAddr();
  /** Pools: the first `reported4Count` / `reported6Count` entries are live. */
  readonly reported4: UdpAddr[] = [];
  reported4Count = 0;
  readonly reported6: UdpAddr[] = [];
  reported6Count = 0;
  readonly relays = new Uint32Array(MAX_REMOTES);
  relayCount = 0;

  constructor(readonly owner: number) {}

  /** True when this owner has nothing at all (Go's cache entry would still exist, though). */
  get empty(): boolean {
    return (
      !this.hasLearned4 &&
      !this.hasLearned6 &&
      this.reported4Count === 0 &&
      this.reported6Count === 0 &&
      this.relayCount === 0
    );
  }
}

function pooled(pool: UdpAddr[], i: number): UdpAddr {
  let a = pool[i];
  if (a === undefined) {
    a = new UdpAddr();
    pool.push(a);
  }
  return a;
}

/** Go's address ordering for the candidate list (without the preferred-range part). */
function compareAddr(a: UdpAddr, b: UdpAddr): number {
  if (a.family !== b.family) return a.family === 6 ? -1 : 1;
  if (a.family === 4) {
    const ap = isPrivateV4(a.w0);
    if (ap !== isPrivateV4(b.w0)) return ap ? 1 : -1;
    if (a.w0 !== b.w0) return a.w0 < b.w0 ? -1 : 1;
  } else {
    if (a.w0 !== b.w0) return a.w0 < b.w0 ? -1 : 1;
    if (a.w1 !== b.w1) return a.w1 < b.w1 ? -1 : 1;
    if (a.w2 !== b.w2) return a.w2 < b.w2 ? -1 : 1;
    if (a.w3 !== b.w3) return a.w3 < b.w3 ? -1 : 1;
  }
  return a.port - b.port;
}

/**
 * A field V8 keeps in "tagged" representation (it has held a non-number): reading it returns the
 * stored heap number itself instead of boxing a copy, as a double-representation field would.
 */
class TaggedNumber {
  constructor(readonly v: unknown) {}
}
new TaggedNumber(null);

export interface CacheDump {
  learned: string[];
  reported: string[];
  relay?: string[];
}

export class RemoteList {
  /** Owner caches; usually 1–3 (the host itself, lighthouses, self for static entries). */
  private readonly owners: OwnerCache[] = [];
  private readonly blocked: UdpAddr[] = [];
  /** Candidate list: references into owner pools, valid until the next mutation. */
  private readonly addrs: UdpAddr[] = [];
  private readonly relayList: number[] = [];
  private dirty = false;
  private sortedFor: CidrSet | null = null;

  private readonly boxed: TaggedNumber;

  /** @param vpnIp the host this list is about (passed to AddrCheck). */
  constructor(readonly vpnIp: number) {
    this.boxed = new TaggedNumber(vpnIp >>> 0);
  }

  /**
   * `vpnIp` as an already-allocated number: handing it to a callback (the sender) never boxes a
   * fresh heap number, even for vpnIps ≥ 2^31.
   */
  get vpnIpValue(): number {
    return this.boxed.v as number;
  }

  /** The owner's cache, or undefined. Accepts the uint32 or int32 form of `owner`. */
  ownerCache(owner: number): OwnerCache | undefined {
    const o = this.owners;
    const k = owner | 0;
    for (let i = 0; i < o.length; i++) if ((o[i]!.owner | 0) === k) return o[i];
    return undefined;
  }

  get ownerCount(): number {
    return this.owners.length;
  }

  private getOrMake(owner: number): OwnerCache {
    let c = this.ownerCache(owner);
    if (c === undefined) {
      c = new OwnerCache(owner);
      this.owners.push(c);
    }
    return c;
  }

  /** Sets the learned slot of its family for `owner` (handshake / roaming). */
  learnRemote(owner: number, addr: UdpAddr): void {
    const c = this.getOrMake(owner);
    if (addr.family === 4) {
      c.learned4.copyFrom(addr);
      c.hasLearned4 = true;
    } else {
      c.learned6.copyFrom(addr);
      c.hasLearned6 = true;
    }
    this.dirty = true;
  }

  private readonly scratch = new UdpAddr();

  /** `learnRemote` from a node address slot (`[family, port, w0..w3]`). */
  learnRemoteSlot(owner: number, addrs: Uint32Array, slot: number): void {
    this.learnRemote(owner, this.scratch.readFrom(addrs, slot));
  }

  /**
   * Replaces `owner`'s reported lists and relays with what `d` carries: the first 10 of each
   * family, each kept only if `check` accepts it (Go's `unlockedSetV4/V6/Relay`).
   */
  setReportedFromMeta(owner: number, d: NebulaMetaDetails, check: AddrCheck = ALLOW_ALL): void {
    const c = this.getOrMake(owner);
    const s = this.scratch;
    let n = 0;
    const n4 = Math.min(d.ip4Count, MAX_REMOTES);
    for (let i = 0; i < n4; i++) {
      const a = d.ip4[i]!;
      s.setV4(a.ip | 0, a.port & 0xffff);
      if (check(this.vpnIpValue, s)) pooled(c.reported4, n++).copyFrom(s);
    }
    c.reported4Count = n;
    n = 0;
    const n6 = Math.min(d.ip6Count, MAX_REMOTES);
    for (let i = 0; i < n6; i++) {
      const a = d.ip6[i]!;
      s.setV6(a.w0 | 0, a.w1 | 0, a.w2 | 0, a.w3 | 0, a.port & 0xffff);
      if (check(this.vpnIpValue, s)) pooled(c.reported6, n++).copyFrom(s);
    }
    c.reported6Count = n;
    const nr = Math.min(d.relayCount, MAX_REMOTES);
    for (let i = 0; i < nr; i++) c.relays[i] = d.relays[i]!;
    c.relayCount = nr;
    this.dirty = true;
  }

  /** Static host entries: prepends to `owner`'s reported list of the family, keeps at most 10. */
  prependReported(owner: number, addr: UdpAddr): void {
    const c = this.getOrMake(owner);
    const pool = addr.family === 4 ? c.reported4 : c.reported6;
    const count = addr.family === 4 ? c.reported4Count : c.reported6Count;
    const n = Math.min(count + 1, MAX_REMOTES);
    // rotate: the last live (or a fresh) object becomes slot 0
    const moved = pooled(pool, n - 1);
    for (let i = n - 1; i > 0; i--) pool[i] = pool[i - 1]!;
    pool[0] = moved.copyFrom(addr);
    if (addr.family === 4) c.reported4Count = n;
    else c.reported6Count = n;
    this.dirty = true;
  }

  /** Replaces `owner`'s relay list (first 10). */
  setRelays(owner: number, relays: ArrayLike<number>): void {
    const c = this.getOrMake(owner);
    const n = Math.min(relays.length, MAX_REMOTES);
    for (let i = 0; i < n; i++) c.relays[i] = relays[i]!;
    c.relayCount = n;
    this.dirty = true;
  }

  /** Excludes `addr` from candidates (it answered a handshake with the wrong certificate). */
  blockRemote(addr: UdpAddr): void {
    for (const b of this.blocked) if (b.equals(addr)) return;
    this.blocked.push(addr.clone());
    this.dirty = true;
  }

  blockedRemotes(): UdpAddr[] {
    return this.blocked.map((a) => a.clone());
  }

  /** Clears blocked addresses (after a completed handshake). Unlike 1.6.1 this also re-collects. */
  resetBlockedRemotes(): void {
    if (this.blocked.length === 0) return;
    this.blocked.length = 0;
    this.dirty = true;
  }

  private isBlocked(a: UdpAddr): boolean {
    const b = this.blocked;
    for (let i = 0; i < b.length; i++) if (b[i]!.equals(a)) return true;
    return false;
  }

  private push(a: UdpAddr): void {
    if (!this.isBlocked(a)) this.addrs.push(a);
  }

  /** Rebuilds the candidate list if anything changed or the preferred ranges are a new object. */
  rebuild(preferred: CidrSet = EMPTY_CIDR_SET): void {
    if (!this.dirty && this.sortedFor === preferred) return;
    if (this.dirty) {
      this.addrs.length = 0;
      this.relayList.length = 0;
      for (const c of this.owners) {
        if (c.hasLearned4) this.push(c.learned4);
        for (let i = 0; i < c.reported4Count; i++) this.push(c.reported4[i]!);
        if (c.hasLearned6) this.push(c.learned6);
        for (let i = 0; i < c.reported6Count; i++) this.push(c.reported6[i]!);
        for (let i = 0; i < c.relayCount; i++) {
          const r = c.relays[i]!;
          if (!this.relayList.includes(r)) this.relayList.push(r);
        }
      }
      this.dirty = false;
    }
    const addrs = this.addrs;
    if (addrs.length > 1) {
      addrs.sort((a, b) => {
        const ap = preferred.contains(a);
        if (ap !== preferred.contains(b)) return ap ? -1 : 1;
        return compareAddr(a, b);
      });
      let w = 0;
      for (let r = 1; r < addrs.length; r++) if (!addrs[r]!.equals(addrs[w]!)) addrs[++w] = addrs[r]!;
      addrs.length = w + 1;
    }
    this.sortedFor = preferred;
  }

  /** Number of de-duplicated candidates. */
  len(preferred: CidrSet = EMPTY_CIDR_SET): number {
    this.rebuild(preferred);
    return this.addrs.length;
  }

  /** Candidate `i` (after `len()`/`rebuild()`); the object is shared: copy it to keep it. */
  candidate(i: number): UdpAddr {
    return this.addrs[i]!;
  }

  /** Copies candidate `i` into a node address slot; returns false past the end. */
  writeCandidate(i: number, addrs: Uint32Array, slot: number): boolean {
    const a = this.addrs[i];
    if (a === undefined || (slot + 1) * ADDR_WORDS > addrs.length) return false;
    a.writeTo(addrs, slot);
    return true;
  }

  forEach(preferred: CidrSet, fn: (addr: UdpAddr, preferred: boolean) => void): void {
    this.rebuild(preferred);
    for (const a of this.addrs) fn(a, preferred.contains(a));
  }

  /** Copies of the candidates (allocates; control path). */
  copyAddrs(preferred: CidrSet = EMPTY_CIDR_SET): UdpAddr[] {
    this.rebuild(preferred);
    return this.addrs.map((a) => a.clone());
  }

  /** De-duplicated relay vpnIps of all owners. */
  relays(): readonly number[] {
    this.rebuild(this.sortedFor ?? EMPTY_CIDR_SET);
    return this.relayList;
  }

  /** Go's `CopyCache` (keyed by owner vpnIp text), for logs, the ssh/debug surface and tests. */
  copyCache(format: (vpnIp: number) => string): Record<string, CacheDump> {
    const out: Record<string, CacheDump> = {};
    for (const c of this.owners) {
      const d: CacheDump = { learned: [], reported: [] };
      if (c.hasLearned4) d.learned.push(c.learned4.toString());
      for (let i = 0; i < c.reported4Count; i++) d.reported.push(c.reported4[i]!.toString());
      if (c.hasLearned6) d.learned.push(c.learned6.toString());
      for (let i = 0; i < c.reported6Count; i++) d.reported.push(c.reported6[i]!.toString());
      if (c.relayCount > 0) d.relay = Array.from(c.relays.subarray(0, c.relayCount), format);
      out[format(c.owner)] = d;
    }
    return out;
  }
}

/**
 * Go's `coalesceAnswers`: appends owner `c`'s learned v4 then reported v4, learned v6 then reported
 * v6, then relays, to `d` (no de-duplication: a learned address also reported appears twice).
 */
export function coalesceInto(c: OwnerCache, d: NebulaMetaDetails): void {
  // `| 0`: see meta.ts (no heap-number boxing for addresses ≥ 128.0.0.0)
  if (c.hasLearned4) d.addIp4(c.learned4.w0 | 0, c.learned4.port);
  for (let i = 0; i < c.reported4Count; i++) {
    const a = c.reported4[i]!;
    d.addIp4(a.w0 | 0, a.port);
  }
  if (c.hasLearned6) addV6(d, c.learned6);
  for (let i = 0; i < c.reported6Count; i++) addV6(d, c.reported6[i]!);
  for (let i = 0; i < c.relayCount; i++) d.addRelay(c.relays[i]! | 0);
}

function addV6(d: NebulaMetaDetails, a: UdpAddr): void {
  // a v4-mapped address reported over Ip6AndPort was normalised to family 4: send it back mapped
  if (a.family === 4) d.addIp6(0, 0, 0xffff, a.w0 | 0, a.port);
  else d.addIp6(a.w0 | 0, a.w1 | 0, a.w2 | 0, a.w3 | 0, a.port);
}
