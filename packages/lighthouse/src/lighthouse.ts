/**
 * The lighthouse, server and client side (lighthouse.md §2–3, Go `lighthouse.go` 1.6.1).
 *
 * Everything that leaves goes through an injected {@link LighthouseSender}; time goes through an
 * injected {@link Scheduler}, so tests drive timers by hand. Incoming lighthouse packets are
 * handled by a {@link LightHouseHandler} (seed g): one per receive loop, owning a reused
 * `NebulaMeta` and an MTU-sized output buffer, so a HostQuery allocates nothing in steady state.
 * Not thread-safe by design: a LightHouse and its handlers live on one thread.
 */
import { lookup } from 'node:dns/promises';
import { type NetworkInterfaceInfo, networkInterfaces as osNetworkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import { type Observable, Subject } from 'rxjs';
import { formatIp4, parseIp4, parseIpInto, splitHostPort, UdpAddr } from './addr.js';
import {
  type LocalAllowList,
  parseLocalAllowList,
  parseRemoteAllowList,
  type RemoteAllowList,
} from './allow-list.js';
import { CidrSet } from './cidr.js';
import { LighthouseError } from './errors.js';
import {
  changed,
  getBool,
  getDurationMs,
  getInt,
  getPath,
  getStringSlice,
  isSet,
  type RawConfig,
} from './internal/raw.js';
import { U32Map } from './internal/u32-map.js';
import { decodeMetaInto, encodeMeta, MetaType, metaTypeName, NebulaMeta } from './meta.js';
import { type LighthouseMetrics, NOOP_LIGHTHOUSE_METRICS } from './metrics.js';
import { coalesceInto, RemoteList } from './remote-list.js';

/** Nebula's MTU-sized scratch buffers (9001, the largest tun MTU). */
export const MTU = 9001;

/** What the lighthouse needs from the node. */
export interface LighthouseSender {
  /**
   * Send `bytes[0, len)` to `vpnIp` as an encrypted type 3 / subtype 0 packet (through the normal
   * send path: may start a handshake). The bytes are only valid during the call.
   */
  sendMeta(vpnIp: number, bytes: Uint8Array, len: number): void;
  /** Send the single byte `byte` as a raw UDP datagram to the address in slot `i` of `addrs`. */
  punch(addrs: Uint32Array, i: number, byte: number): void;
  /** Send an encrypted Test request (type 4/0) to `vpnIp` (starts a handshake if needed). */
  sendTest(vpnIp: number): void;
  /** Non-blocking trigger of an immediate handshake send to `vpnIp`. */
  triggerHandshake(vpnIp: number): void;
}

export type TimerHandle = unknown;

/** Clock and timers, injectable so tests control time. */
export interface Scheduler {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(h: TimerHandle): void;
}

export const realScheduler: Scheduler = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export type LighthouseEvent =
  | { type: 'update-sent'; lighthouses: number; v4: number; v6: number; relays: number }
  | { type: 'query-sent'; vpnIp: number; lighthouses: number }
  | { type: 'reply-received'; vpnIp: number; from: number; v4: number; v6: number; relays: number }
  | { type: 'punch-notification'; vpnIp: number; from: number; addresses: number }
  | { type: 'update-received'; vpnIp: number; v4: number; v6: number; relays: number }
  | { type: 'update-rejected'; vpnIp: number; claimed: number }
  | { type: 'query-answered'; vpnIp: number; from: number; punched: boolean }
  | { type: 'reloaded'; changed: string[] };

export interface LightHouseOptions {
  /** Our vpnIp (cert ips[0]) and its network mask, both uint32. */
  myVpnIp: number;
  myVpnMask: number;
  /** The raw YAML root map (reads `lighthouse.*`, `static_host_map`, `punchy*`, `relay.*`, `preferred_ranges`, `listen.port`). */
  raw: RawConfig;
  sender: LighthouseSender;
  logger: Logger;
  /** Actual UDP port (kernel-assigned when `listen.port: 0`); defaults to `listen.port`. */
  listenPort?: number;
  metrics?: LighthouseMetrics;
  scheduler?: Scheduler;
  /** Defaults to `os.networkInterfaces`. */
  networkInterfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** Hostname → IP text; defaults to `dns.lookup` (first address, like Go's `ResolveIPAddr`). */
  resolveHost?: (host: string) => Promise<string>;
  /** A query for a vpnIp is not re-sent within this window unless forced (default 500 ms). */
  queryDedupMs?: number;
}

interface AdvertiseAddr {
  readonly addr: UdpAddr;
}

/** Parsed, reloadable settings. */
interface Settings {
  interval: number;
  hosts: number[];
  advertise: AdvertiseAddr[];
  remoteAllow: RemoteAllowList | null;
  localAllow: LocalAllowList | null;
  relaysForMe: number[];
  punchDelayMs: number;
  respond: boolean;
  respondDelayMs: number;
}

function configError(message: string, path: string, cause?: unknown): LighthouseError {
  return new LighthouseError('ERR_LIGHTHOUSE_CONFIG', message, { path, cause });
}

export class LightHouse {
  readonly amLighthouse: boolean;
  readonly myVpnIp: number;
  readonly myVpnMask: number;
  readonly listenPort: number;
  /** Top-level `preferred_ranges` (+ deprecated `local_range`); not reloadable, as in 1.6.1. */
  readonly preferredRanges: CidrSet;
  /** Whether `punchy.punch` (or deprecated top-level `punchy: true`) is on; not reloadable. */
  readonly punch: boolean;

  /** @internal */ readonly addrMap = new U32Map<RemoteList>();
  /** @internal */ readonly sender: LighthouseSender;
  /** @internal */ readonly metrics: LighthouseMetrics;
  /** @internal */ readonly log: Logger;
  /** @internal */ readonly events = new Subject<LighthouseEvent>();
  /** Lighthouse/control events (hot; completes on stop()). */
  readonly events$: Observable<LighthouseEvent> = this.events.asObservable();

  private raw: RawConfig;
  private settings: Settings;
  private readonly lighthouseSet = new U32Map<true>();
  private readonly staticList = new Set<number>();
  private readonly scheduler: Scheduler;
  private readonly netIfs: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  private readonly resolveHost: (host: string) => Promise<string>;
  private readonly queryDedupMs: number;
  private readonly outstanding = new U32Map<number>();
  private readonly timers = new Set<TimerHandle>();
  private updateTimer: TimerHandle | undefined;
  private started = false;
  private stopped = false;
  // client-side scratch (queries, updates); the request path uses handler-owned scratch instead
  private readonly clientMeta = new NebulaMeta();
  private readonly clientBuf = new Uint8Array(MTU);
  /** Bound check for addresses we store (allow lists + not inside our vpn network for IPv4). */
  readonly shouldAdd = (vpnIp: number, a: UdpAddr): boolean => {
    const al = this.settings.remoteAllow;
    if (al !== null && !al.allow(vpnIp, a)) return false;
    return a.family !== 4 || !this.inMyNetwork(a.w0);
  };

  constructor(opts: LightHouseOptions) {
    this.myVpnIp = opts.myVpnIp >>> 0;
    this.myVpnMask = opts.myVpnMask >>> 0;
    this.raw = opts.raw;
    this.sender = opts.sender;
    this.log = opts.logger.child({ component: 'lighthouse' });
    this.metrics = opts.metrics ?? NOOP_LIGHTHOUSE_METRICS;
    this.scheduler = opts.scheduler ?? realScheduler;
    this.netIfs = opts.networkInterfaces ?? osNetworkInterfaces;
    this.resolveHost = opts.resolveHost ?? (async (h) => (await lookup(h)).address);
    this.queryDedupMs = opts.queryDedupMs ?? 500;
    this.amLighthouse = getBool(opts.raw, 'lighthouse.am_lighthouse', false);
    const cfgPort = getInt(opts.raw, 'listen.port', 0);
    this.listenPort = opts.listenPort ?? cfgPort;
    if (this.amLighthouse && cfgPort === 0 && opts.listenPort === undefined) {
      throw configError(
        'lighthouse.am_lighthouse enabled on node but no port number is set in config',
        'listen.port',
      );
    }
    const pr = [...getStringSlice(opts.raw, 'preferred_ranges')];
    const localRange = getPath(opts.raw, 'local_range');
    if (typeof localRange === 'string' && localRange !== '') pr.push(localRange);
    try {
      this.preferredRanges = CidrSet.parse(pr);
    } catch (e) {
      throw configError('Failed to parse preferred ranges', 'preferred_ranges', e);
    }
    this.punch = isSet(opts.raw, 'punchy.punch')
      ? getBool(opts.raw, 'punchy.punch', false)
      : getBool(opts.raw, 'punchy', false);
    this.settings = this.parseSettings(opts.raw);
    if (this.amLighthouse && this.settings.hosts.length > 0) {
      this.log.warn('lighthouse.am_lighthouse enabled on node but upstream lighthouses exist in config');
    } else if (!this.amLighthouse && this.settings.hosts.length === 0) {
      this.log.warn(
        'No lighthouse.hosts configured, this host will only be able to initiate tunnels with static_host_map entries',
      );
    }
  }

  inMyNetwork(ip: number): boolean {
    return (ip & this.myVpnMask) >>> 0 === (this.myVpnIp & this.myVpnMask) >>> 0;
  }

  private parseSettings(raw: RawConfig): Settings {
    const remoteAllow = parseRemoteAllowList(
      getPath(raw, 'lighthouse.remote_allow_list'),
      getPath(raw, 'lighthouse.remote_allow_ranges'),
    );
    const localAllow = parseLocalAllowList(getPath(raw, 'lighthouse.local_allow_list'));
    const hosts: number[] = [];
    for (const [i, h] of getStringSlice(raw, 'lighthouse.hosts').entries()) {
      const ip = parseIp4(h);
      if (ip < 0)
        throw configError(`Unable to parse lighthouse host entry ${i + 1}: ${h}`, 'lighthouse.hosts');
      if (!this.inMyNetwork(ip)) {
        throw configError(`lighthouse host is not in our subnet, invalid: ${h}`, 'lighthouse.hosts');
      }
      hosts.push(ip);
    }
    const advertise: AdvertiseAddr[] = [];
    for (const [i, text] of getStringSlice(raw, 'lighthouse.advertise_addrs').entries()) {
      const a = new UdpAddr();
      const hp = splitHostPort(text);
      if (!hp || !parseIpInto(hp.host, a)) {
        throw configError(
          `Unable to parse lighthouse.advertise_addrs entry ${i + 1}: ${text}`,
          'lighthouse.advertise_addrs',
        );
      }
      a.port = hp.port === 0 ? this.listenPort : hp.port;
      if (a.family === 4 && this.inMyNetwork(a.w0)) {
        this.log.warn(
          { addr: text, entry: i + 1 },
          'Ignoring lighthouse.advertise_addrs report because it is within the nebula network range',
        );
        continue;
      }
      advertise.push({ addr: a });
    }
    const relaysForMe: number[] = [];
    if (getBool(raw, 'relay.am_relay', false)) {
      if (getStringSlice(raw, 'relay.relays').length > 0) {
        this.log.warn('Ignoring relays from config because am_relay is true');
      }
    } else {
      for (const r of getStringSlice(raw, 'relay.relays')) {
        const ip = parseIp4(r);
        if (ip >= 0) relaysForMe.push(ip);
      }
    }
    const respond = isSet(raw, 'punchy.respond')
      ? getBool(raw, 'punchy.respond', false)
      : getBool(raw, 'punch_back', false);
    return {
      interval: getInt(raw, 'lighthouse.interval', 10),
      hosts,
      advertise,
      remoteAllow,
      localAllow,
      relaysForMe,
      punchDelayMs: getDurationMs(raw, 'punchy.delay', 1000),
      respond,
      respondDelayMs: getDurationMs(raw, 'punchy.respond_delay', 5000),
    };
  }

  private setLighthouses(hosts: readonly number[]): void {
    this.lighthouseSet.clear();
    for (const h of hosts) this.lighthouseSet.set(h, true);
  }

  /** Loads `static_host_map` (resolving names), checks every lighthouse has an entry, starts the update worker. */
  async start(): Promise<void> {
    if (this.started) return;
    await this.loadStaticMap(this.raw);
    this.checkLighthousesStatic(this.settings.hosts);
    this.setLighthouses(this.settings.hosts);
    this.started = true;
    this.startUpdateWorker();
  }

  /** Stops timers and completes `events$`. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopUpdateWorker();
    for (const t of this.timers) this.scheduler.clearTimeout(t);
    this.timers.clear();
    this.events.complete();
  }

  private checkLighthousesStatic(hosts: readonly number[]): void {
    for (const h of hosts) {
      if (!this.staticList.has(h)) {
        throw configError(
          `lighthouse ${formatIp4(h)} does not have a static_host_map entry`,
          'lighthouse.hosts',
        );
      }
    }
  }

  private async loadStaticMap(raw: RawConfig): Promise<void> {
    const shm = getPath(raw, 'static_host_map');
    if (shm === undefined || shm === null) return;
    if (typeof shm !== 'object' || Array.isArray(shm))
      throw configError('static_host_map has invalid type', 'static_host_map');
    let entry = 0;
    for (const [key, value] of Object.entries(shm as Record<string, unknown>)) {
      entry++;
      const vpnIp = parseIp4(key);
      if (vpnIp < 0)
        throw configError(`Unable to parse static_host_map entry ${entry}: ${key}`, 'static_host_map');
      if (!this.inMyNetwork(vpnIp)) {
        throw configError(
          `static_host_map key is not in our subnet, invalid: ${key}`,
          `static_host_map.${key}`,
        );
      }
      const list = Array.isArray(value) ? value : [value];
      for (const v of list) {
        const text = String(v);
        const hp = splitHostPort(text);
        const a = new UdpAddr();
        if (!hp)
          throw configError(`Static host address could not be parsed: ${text}`, `static_host_map.${key}`);
        if (!parseIpInto(hp.host, a)) {
          let resolved: string;
          try {
            resolved = await this.resolveHost(hp.host);
          } catch (e) {
            throw configError(
              `Static host address could not be parsed: ${text}`,
              `static_host_map.${key}`,
              e,
            );
          }
          if (!parseIpInto(resolved, a)) {
            throw configError(`Static host address could not be parsed: ${text}`, `static_host_map.${key}`);
          }
        }
        a.port = hp.port;
        this.addStaticRemote(vpnIp, a);
      }
    }
  }

  /** Adds a static address for `vpnIp` (owner = us, prepended, allow-list and vpn-network checked). */
  addStaticRemote(vpnIp: number, addr: UdpAddr): void {
    const rl = this.queryCache(vpnIp);
    if (!this.shouldAdd(vpnIp, addr)) return;
    rl.prependReported(this.myVpnIp, addr);
    this.staticList.add(vpnIp >>> 0);
  }

  isStatic(vpnIp: number): boolean {
    return this.staticList.has(vpnIp >>> 0);
  }

  isLighthouse(vpnIp: number): boolean {
    return this.lighthouseSet.get(vpnIp) === true;
  }

  get lighthouses(): readonly number[] {
    return this.settings.hosts;
  }

  get remoteAllowList(): RemoteAllowList | null {
    return this.settings.remoteAllow;
  }

  get localAllowList(): LocalAllowList | null {
    return this.settings.localAllow;
  }

  get interval(): number {
    return this.settings.interval;
  }

  get relaysForMe(): readonly number[] {
    return this.settings.relaysForMe;
  }

  get punchRespond(): boolean {
    return this.settings.respond;
  }

  /** The RemoteList for `vpnIp`, created if missing (Go's `QueryCache`). */
  queryCache(vpnIp: number): RemoteList {
    let rl = this.addrMap.get(vpnIp);
    if (rl === undefined) {
      rl = new RemoteList(vpnIp >>> 0);
      this.addrMap.set(vpnIp, rl);
    }
    return rl;
  }

  /** The RemoteList for `vpnIp` if any (no side effect). */
  remoteList(vpnIp: number): RemoteList | undefined {
    return this.addrMap.get(vpnIp);
  }

  /** Go's `Query`: asks the lighthouses (unless `vpnIp` is one) and returns what we know now. */
  query(vpnIp: number): RemoteList | undefined {
    if (!this.isLighthouse(vpnIp)) this.queryServer(vpnIp);
    return this.addrMap.get(vpnIp);
  }

  /**
   * Sends HostQuery for `vpnIp` to every lighthouse. Never on a lighthouse, never for a lighthouse;
   * suppressed while an earlier query is outstanding within `queryDedupMs` unless `force`
   * (handshake retries force).
   */
  queryServer(vpnIp: number, force = false): void {
    if (this.amLighthouse || this.isLighthouse(vpnIp)) return;
    const hosts = this.settings.hosts;
    if (hosts.length === 0) return;
    const now = this.scheduler.now();
    const last = this.outstanding.get(vpnIp);
    if (!force && last !== undefined && now - last < this.queryDedupMs) return;
    this.outstanding.set(vpnIp, now);
    const m = this.clientMeta;
    m.reset();
    m.type = MetaType.HostQuery;
    m.details.vpnIp = vpnIp >>> 0;
    const n = encodeMeta(m, this.clientBuf, 0);
    this.metrics.tx(MetaType.HostQuery, hosts.length);
    for (const h of hosts) this.sender.sendMeta(h, this.clientBuf, n);
    if (this.events.observed)
      this.events.next({ type: 'query-sent', vpnIp: vpnIp >>> 0, lighthouses: hosts.length });
  }

  /** Stores the underlay address a tunnel to `vpnIp` came up on (or roamed to): learned, owner = `vpnIp`. */
  onTunnelUp(vpnIp: number, addrs: Uint32Array, slot: number): void {
    this.queryCache(vpnIp).learnRemoteSlot(vpnIp >>> 0, addrs, slot);
  }

  /** Same as onTunnelUp: a roam updates the learned slot. */
  onRoam(vpnIp: number, addrs: Uint32Array, slot: number): void {
    this.onTunnelUp(vpnIp, addrs, slot);
  }

  /** Tunnel closed/deleted: drop the whole cache entry unless it is a static host (Go's `DeleteVpnIp`). */
  onTunnelDown(vpnIp: number): void {
    if (this.isStatic(vpnIp)) return;
    this.addrMap.delete(vpnIp);
    this.outstanding.delete(vpnIp);
  }

  /** A per-receive-loop handler with its own scratch memory (seed g). */
  newRequestHandler(opts: { reuse?: boolean } = {}): LightHouseHandler {
    return new LightHouseHandler(this, opts.reuse ?? true);
  }

  // ---- update worker --------------------------------------------------------------------------

  private startUpdateWorker(): void {
    const interval = this.settings.interval;
    if (this.amLighthouse || interval <= 0 || this.stopped) return;
    const tick = (): void => {
      this.updateTimer = undefined;
      if (this.stopped) return;
      try {
        this.sendUpdate();
      } catch (e) {
        this.log.error({ err: e }, 'Failed to send lighthouse update');
      }
      this.updateTimer = this.scheduler.setTimeout(tick, interval * 1000);
    };
    tick();
  }

  private stopUpdateWorker(): void {
    if (this.updateTimer !== undefined) {
      this.scheduler.clearTimeout(this.updateTimer);
      this.updateTimer = undefined;
    }
  }

  /** Our own addresses as reported to lighthouses: advertise_addrs, then local interfaces. */
  localAddresses(): UdpAddr[] {
    const out: UdpAddr[] = this.settings.advertise.map((a) => a.addr.clone());
    const lal = this.settings.localAllow;
    const ifs = this.netIfs();
    for (const [name, infos] of Object.entries(ifs)) {
      if (!infos || (lal !== null && !lal.allowName(name))) continue;
      for (const info of infos) {
        const a = new UdpAddr();
        const text = info.address.split('%')[0]!;
        if (!parseIpInto(text, a)) continue;
        if (isLoopback(a) || isLinkLocalUnicast(a)) continue;
        if (lal !== null && !lal.allow(a)) continue;
        // only addresses that are not our vpn (tun) addresses
        if (a.family === 4 && this.inMyNetwork(a.w0)) continue;
        a.port = this.listenPort;
        out.push(a);
      }
    }
    return out;
  }

  /** Sends one HostUpdateNotification to every lighthouse (what the worker does every interval). */
  sendUpdate(): void {
    const m = this.clientMeta;
    m.reset();
    m.type = MetaType.HostUpdateNotification;
    m.details.vpnIp = this.myVpnIp;
    for (const a of this.localAddresses()) {
      if (a.family === 4) m.details.addIp4(a.w0, a.port);
      else m.details.addIp6(a.w0, a.w1, a.w2, a.w3, a.port);
    }
    for (const r of this.settings.relaysForMe) m.details.addRelay(r);
    const hosts = this.settings.hosts;
    this.metrics.tx(MetaType.HostUpdateNotification, hosts.length);
    const n = encodeMeta(m, this.clientBuf, 0);
    for (const h of hosts) this.sender.sendMeta(h, this.clientBuf, n);
    if (this.events.observed) {
      this.events.next({
        type: 'update-sent',
        lighthouses: hosts.length,
        v4: m.details.ip4Count,
        v6: m.details.ip6Count,
        relays: m.details.relayCount,
      });
    }
  }

  // ---- message handlers (called by LightHouseHandler) ----------------------------------------

  /** @internal Client: HostQueryReply from a configured lighthouse. */
  handleHostQueryReply(m: NebulaMeta, from: number): void {
    if (!this.isLighthouse(from)) return;
    const d = m.details;
    const target = d.vpnIp;
    this.queryCache(target).setReportedFromMeta(from >>> 0, d, this.shouldAdd);
    this.outstanding.delete(target);
    this.sender.triggerHandshake(target);
    if (this.events.observed) {
      this.events.next({
        type: 'reply-received',
        vpnIp: target,
        from: from >>> 0,
        v4: d.ip4Count,
        v6: d.ip6Count,
        relays: d.relayCount,
      });
    }
  }

  /** @internal Server: HostUpdateNotification; only about the sender itself. */
  handleHostUpdateNotification(m: NebulaMeta, from: number): void {
    const d = m.details;
    if (!this.amLighthouse) {
      if (this.log.isLevelEnabled('debug'))
        this.log.debug({ vpnIp: formatIp4(from) }, 'I am not a lighthouse, do not take host updates');
      return;
    }
    if (d.vpnIp !== from >>> 0) {
      if (this.log.isLevelEnabled('debug')) {
        this.log.debug({ vpnIp: formatIp4(from), answer: formatIp4(d.vpnIp) }, 'Host sent invalid update');
      }
      if (this.events.observed)
        this.events.next({ type: 'update-rejected', vpnIp: from >>> 0, claimed: d.vpnIp });
      return;
    }
    this.queryCache(from).setReportedFromMeta(from >>> 0, d, this.shouldAdd);
    if (this.events.observed) {
      this.events.next({
        type: 'update-received',
        vpnIp: from >>> 0,
        v4: d.ip4Count,
        v6: d.ip6Count,
        relays: d.relayCount,
      });
    }
  }

  /** @internal Client: HostPunchNotification from a configured lighthouse. */
  handleHostPunchNotification(m: NebulaMeta, from: number): void {
    if (!this.isLighthouse(from)) return;
    const d = m.details;
    const count = d.ip4Count + d.ip6Count;
    // copied: the meta is reused before the delayed punches fire
    const addrs = new Uint32Array(count * 6);
    const a = new UdpAddr();
    let slot = 0;
    for (let i = 0; i < d.ip4Count; i++)
      a.setV4(d.ip4[i]!.ip, d.ip4[i]!.port & 0xffff).writeTo(addrs, slot++);
    for (let i = 0; i < d.ip6Count; i++) {
      const x = d.ip6[i]!;
      a.setV6(x.w0, x.w1, x.w2, x.w3, x.port & 0xffff).writeTo(addrs, slot++);
    }
    if (count > 0) {
      this.later(this.settings.punchDelayMs, () => {
        for (let i = 0; i < count; i++) {
          this.metrics.holepunchTx.inc();
          this.sender.punch(addrs, i, 0);
        }
      });
    }
    const queryVpnIp = d.vpnIp;
    if (this.settings.respond) {
      this.later(this.settings.respondDelayMs, () => this.sender.sendTest(queryVpnIp));
    }
    if (this.events.observed)
      this.events.next({ type: 'punch-notification', vpnIp: queryVpnIp, from: from >>> 0, addresses: count });
  }

  private later(ms: number, fn: () => void): void {
    if (this.stopped) return;
    const h = this.scheduler.setTimeout(() => {
      this.timers.delete(h);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(h);
  }

  // ---- reload ---------------------------------------------------------------------------------

  /**
   * Applies the reloadable keys (lighthouse.md §7) from a new raw config; returns the keys that
   * changed. On error nothing is applied.
   */
  async reload(raw: RawConfig): Promise<string[]> {
    const keys = [
      'lighthouse.advertise_addrs',
      'lighthouse.interval',
      'lighthouse.remote_allow_list',
      'lighthouse.remote_allow_ranges',
      'lighthouse.local_allow_list',
      'static_host_map',
      'lighthouse.hosts',
      'relay.relays',
      'relay.am_relay',
      'punchy.respond',
      'punch_back',
      'punchy.delay',
      'punchy.respond_delay',
    ];
    const changedKeys = keys.filter((k) => changed(this.raw, raw, k));
    if (changedKeys.length === 0) {
      this.raw = raw;
      return [];
    }
    const next = this.parseSettings(raw);
    const prev = this.settings;
    const prevRaw = this.raw;
    // allow lists must be in place before static entries are (re)checked against them
    this.settings = next;
    this.raw = raw;
    try {
      if (changedKeys.includes('static_host_map')) await this.loadStaticMap(raw);
      if (changedKeys.includes('lighthouse.hosts')) this.checkLighthousesStatic(next.hosts);
    } catch (e) {
      this.settings = prev;
      this.raw = prevRaw;
      throw e;
    }
    this.setLighthouses(next.hosts);
    if (changedKeys.includes('lighthouse.interval') && this.started) {
      this.log.info({ interval: next.interval }, 'Lighthouse interval changed');
      this.stopUpdateWorker();
      this.startUpdateWorker();
    }
    if (this.events.observed) this.events.next({ type: 'reloaded', changed: changedKeys });
    return changedKeys;
  }

  /** Go's `CopyCache`-like dump of every entry (debug / ssh surface). */
  dump(): Record<string, ReturnType<RemoteList['copyCache']>> {
    const out: Record<string, ReturnType<RemoteList['copyCache']>> = {};
    for (const [vpnIp, rl] of this.addrMap.entries()) out[formatIp4(vpnIp)] = rl.copyCache(formatIp4);
    return out;
  }
}

function isLoopback(a: UdpAddr): boolean {
  return a.family === 4 ? a.w0 >>> 24 === 127 : a.w0 === 0 && a.w1 === 0 && a.w2 === 0 && a.w3 === 1;
}

function isLinkLocalUnicast(a: UdpAddr): boolean {
  return a.family === 4 ? a.w0 >>> 16 === 0xa9fe : a.w0 >>> 22 === 0x3fa;
}

/**
 * Handles decrypted lighthouse payloads for one receive loop (seed g). Owns a reused `NebulaMeta`
 * (decode target and reply builder) and an MTU-sized output buffer; no locks (one per loop).
 * With `reuse: false` it allocates a fresh meta and buffer per request, like pre-1.4 Nebula (for
 * the benchmark's comparison only).
 */
export class LightHouseHandler {
  private meta = new NebulaMeta();
  private out = new Uint8Array(MTU);

  constructor(
    private readonly lh: LightHouse,
    private readonly reuse: boolean,
  ) {}

  /**
   * One decrypted lighthouse packet from `fromVpnIp`, received from the address in slot
   * `fromSlot` of `fromAddrs` (used for logs only, as in Go).
   */
  handleRequest(
    fromVpnIp: number,
    fromAddrs: Uint32Array | null,
    fromSlot: number,
    payload: Uint8Array,
    off: number,
    len: number,
  ): void {
    if (!this.reuse) {
      this.meta = new NebulaMeta();
      this.out = new Uint8Array(MTU);
    }
    const m = this.meta;
    const lh = this.lh;
    if (!decodeMetaInto(payload, off, len, m)) {
      lh.log.error(
        { vpnIp: formatIp4(fromVpnIp), udpAddr: fmtFrom(fromAddrs, fromSlot) },
        'Failed to unmarshal lighthouse packet',
      );
      return;
    }
    if (!m.hasDetails) {
      lh.log.error(
        { vpnIp: formatIp4(fromVpnIp), udpAddr: fmtFrom(fromAddrs, fromSlot) },
        'Invalid lighthouse update',
      );
      return;
    }
    lh.metrics.rx(m.type);
    switch (m.type) {
      case MetaType.HostQuery:
        // passed through untouched: `>>> 0` on a vpnIp ≥ 2^31 would box a new heap number per call
        this.handleHostQuery(fromVpnIp);
        break;
      case MetaType.HostQueryReply:
        lh.handleHostQueryReply(m, fromVpnIp);
        break;
      case MetaType.HostUpdateNotification:
        lh.handleHostUpdateNotification(m, fromVpnIp);
        break;
      case MetaType.HostPunchNotification:
        lh.handleHostPunchNotification(m, fromVpnIp);
        break;
      default:
        // HostMovedNotification and everything else: ignored, as 1.6.1 does
        if (lh.log.isLevelEnabled('debug')) {
          lh.log.debug(
            { vpnIp: formatIp4(fromVpnIp), type: metaTypeName(m.type) },
            'Ignoring lighthouse message',
          );
        }
    }
  }

  private handleHostQuery(from: number): void {
    const lh = this.lh;
    if (!lh.amLighthouse) {
      if (lh.log.isLevelEnabled('debug'))
        lh.log.debug({ vpnIp: formatIp4(from) }, "I don't answer queries, but received from");
      return;
    }
    const m = this.meta;
    // int32 view: always a small integer, so passing it around never allocates
    const target = m.details.vpnIp | 0;
    // unknown host, or nothing the host itself told us / we learned from it: silence
    const rl = lh.addrMap.get(target);
    if (rl === undefined) return;
    const c = rl.ownerCache(target);
    if (c === undefined) return;
    m.reset();
    m.type = MetaType.HostQueryReply;
    m.details.vpnIp = target >>> 0;
    coalesceInto(c, m.details);
    let n = encodeMeta(m, this.out, 0);
    lh.metrics.tx(MetaType.HostQueryReply);
    lh.sender.sendMeta(from, this.out, n);

    // tell the target about the querier, so it punches towards it
    let punched = false;
    const qrl = lh.addrMap.get(from);
    const qc = qrl === undefined ? undefined : qrl.ownerCache(from);
    if (qc !== undefined) {
      m.reset();
      m.type = MetaType.HostPunchNotification;
      m.details.vpnIp = from;
      coalesceInto(qc, m.details);
      n = encodeMeta(m, this.out, 0);
      lh.metrics.tx(MetaType.HostPunchNotification);
      lh.sender.sendMeta(rl.vpnIpValue, this.out, n);
      punched = true;
    }
    if (lh.events.observed) lh.events.next({ type: 'query-answered', vpnIp: target >>> 0, from, punched });
  }
}

function fmtFrom(addrs: Uint32Array | null, slot: number): string | undefined {
  return addrs === null ? undefined : new UdpAddr().readFrom(addrs, slot).toString();
}
