/**
 * `NebulaNode`: wires PKI, tun, udp, routines, the host maps, the handshake manager, the
 * lighthouse, the connection manager and reloads together (the Go `Interface` + `Control`).
 *
 * The main thread runs the control path; data packets stay in the routines (inline on the main
 * thread when `routines: 1`, worker threads otherwise). Events are typed RxJS Subjects.
 */
import { readFileSync } from 'node:fs';
import { createBatchAead } from '@nebula-ts/aead';
import {
  type DnsCertDetails,
  DnsRecords,
  dnsListenFromRaw,
  LighthouseDnsServer,
  type LighthouseSender,
} from '@nebula-ts/lighthouse';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Subject } from 'rxjs';
import {
  ADDR_WORDS,
  addrFromWords,
  addrToString,
  addrToWords,
  ipv4ToString,
  parseIpv4,
  sameAddr,
  type UdpAddr,
} from './addr.js';
import type { NodeConfig } from './config-types.js';
import { DisabledTun } from './disabled-tun.js';
import { NodeError } from './errors.js';
import type {
  HandshakeEvent,
  LighthouseEvent,
  RecvErrorEvent,
  ReloadEvent,
  TunnelDownReason,
  TunnelEvent,
} from './events.js';
import { createFirewallBundle, type FirewallBundle } from './firewall-adapter.js';
import { errMsg, HandshakeManager } from './handshake-manager.js';
import type { HostInfo } from './hostinfo.js';
import { HostMap } from './hostmap.js';
import {
  aeadOpen,
  aeadSeal,
  CAPool,
  HEADER_LEN,
  ipNetToString,
  loadX25519PrivateKey,
  MessageType,
  NebulaCertificate,
  newFirewallPacket,
  parsePacket,
  readCounter,
  readU32,
  TestReply,
  TestRequest,
  writeHeader,
  x25519PublicKey,
} from './internal/deps.js';
import type { BatchAead, TunQueueLike, UdpSocketLike } from './internal/io-types.js';
import { LighthouseAdapter, type RawConfig } from './lighthouse-adapter.js';
import { NodeMetrics } from './metrics.js';
import { type ControlSink, Routine, type RoutineSettings } from './routine.js';
import { allocateTunnelTable, STATE_READY, Stat, TunnelTable } from './tunnel-table.js';
import { WorkerRoutines } from './worker-host.js';

export interface NebulaNodeOptions {
  readonly config: NodeConfig;
  /** The raw YAML tree (kept for reload diffs and the CLI). */
  readonly raw?: unknown;
  readonly logger: Logger;
  readonly registry?: Registry;
  /** Data-path AEAD: the native batch addon (default when it loads) or node:crypto. */
  readonly aead?: 'native' | 'node';
  /**
   * Run the single routine of `routines: 1` on a worker thread too. Default: yes when there is a
   * tun device, whose routine then blocks in poll() on its own thread and answers a lone packet
   * sooner than the main thread's event loop can (Routine.startBlocking); false keeps it on the
   * main thread (one thread and ~25 MiB of RSS less).
   */
  readonly workersForSingleRoutine?: boolean;
  /** Tunnel slots in shared memory (default 4096). */
  readonly tunnelCapacity?: number;
  /**
   * Before a routine worker's first packet, carry private traffic through its data path so V8
   * compiles it on full feedback (see warmup.ts; ~0.3 s of one CPU at start). Default true.
   */
  readonly dataPathWarmup?: boolean;
}

export interface PkiState {
  readonly caPool: CAPool;
  readonly cert: NebulaCertificate;
  readonly priv: Uint8Array;
  readonly pub: Uint8Array;
  readonly certNoKey: Uint8Array;
}

/** Where control-path packets leave: routine 0's socket (inline) or a message to worker 0. */
export interface RoutineLinks {
  readonly count: number;
  /** How the routines learn of readable fds: their own blocking poll() loop, or libuv callbacks. */
  readonly loop: 'poll' | 'libuv';
  sendRaw(bytes: Uint8Array, addr: UdpAddr): void;
  install(slot: number, h: HostInfo): void;
  remove(slot: number, vpnIp: number, localIndex: number): void;
  updateSettings(s: RoutineSettings): void;
  setFirewall(rules: { outbound: readonly unknown[]; inbound: readonly unknown[] }): void;
  /** `listen.read_buffer` / `write_buffer` (bytes; 0 = leave as is), reapplied on reload. */
  setBuffers(readBuffer: number, writeBuffer: number): void;
  stop(): Promise<void>;
}

const SLOT_QUARANTINE_MS = 2000;
/** Connection-manager ticks (500 ms) between "promote best remote" probes. */
const PROMOTE_EVERY_TICKS = 20;

function readPemValue(v: string, what: string): string {
  if (v.includes('-----BEGIN')) return v;
  try {
    return readFileSync(v, 'utf8');
  } catch (e) {
    throw new NodeError('ERR_NODE_PKI', `unable to read ${what} file ${v}: ${errMsg(e)}`, { cause: e });
  }
}

export function loadPki(config: NodeConfig, nowSeconds: number, log?: Logger): PkiState {
  let caPool: CAPool;
  try {
    const loaded = CAPool.fromPem(readPemValue(config.pki.ca, 'pki.ca'), { nowSeconds });
    caPool = loaded.pool;
    for (const c of loaded.expired)
      log?.warn(
        { fingerprint: c.fingerprint(), name: c.details.name },
        'expired certificate present in CA pool',
      );
  } catch (e) {
    throw new NodeError('ERR_NODE_PKI', `error while adding CA certificate to CA trust store: ${errMsg(e)}`, {
      cause: e,
    });
  }
  for (const fp of config.pki.blocklist) caPool.blocklist(fp);
  let cert: NebulaCertificate;
  let priv: Uint8Array;
  try {
    cert = NebulaCertificate.fromPem(readPemValue(config.pki.cert, 'pki.cert')).cert;
  } catch (e) {
    throw new NodeError('ERR_NODE_PKI', `error while unmarshaling pki.cert: ${errMsg(e)}`, { cause: e });
  }
  try {
    priv = loadX25519PrivateKey(readPemValue(config.pki.key, 'pki.key')).key;
  } catch (e) {
    throw new NodeError('ERR_NODE_PKI', `error while unmarshaling pki.key: ${errMsg(e)}`, { cause: e });
  }
  if (cert.expired(nowSeconds))
    throw new NodeError('ERR_NODE_PKI', 'nebula certificate for this host is expired');
  if (cert.details.ips.length === 0) throw new NodeError('ERR_NODE_PKI', 'no IPs encoded in certificate');
  const pub = x25519PublicKey(priv);
  if (Buffer.compare(Buffer.from(pub), Buffer.from(cert.details.publicKey)) !== 0) {
    throw new NodeError('ERR_NODE_PKI', "public key in cert and private key supplied don't match");
  }
  return { caPool, cert, priv, pub, certNoKey: cert.bytesWithoutPublicKey() };
}

export class NebulaNode {
  readonly handshakes$ = new Subject<HandshakeEvent>();
  readonly tunnels$ = new Subject<TunnelEvent>();
  readonly recvErrors$ = new Subject<RecvErrorEvent>();
  readonly lighthouse$ = new Subject<LighthouseEvent>();
  readonly reloads$ = new Subject<ReloadEvent>();

  readonly log: Logger;
  private config: NodeConfig;
  private raw: unknown;
  private readonly opts: NebulaNodeOptions;
  readonly main = new HostMap('main');
  private pkiState!: PkiState;
  private hm!: HandshakeManager;
  private lh!: LighthouseAdapter;
  /** `lighthouse.serve_dns` (lighthouse.md §10): names of hosts with a tunnel to us, and the server. */
  private dnsRecords: DnsRecords | null = null;
  private dns: LighthouseDnsServer | null = null;
  private table!: TunnelTable;
  private links!: RoutineLinks;
  private fw!: FirewallBundle;
  private tunDevice: { close(): void; name: string; tso?: boolean } | null = null;
  private udpClose: (() => void) | null = null;
  private listenPort = 0;
  private readonly slotHosts: Array<HostInfo | undefined> = [];
  private freeSlots: number[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private cmTimer: NodeJS.Timeout | null = null;
  private punchyTimer: NodeJS.Timeout | null = null;
  private cmTicks = 0;
  private started = false;
  private stopping = false;
  /** Control packets that arrived while routines were still starting (replayed once up). */
  private early: Array<() => void> | null = [];
  readonly metrics: NodeMetrics;
  private unsafeRoutes: Array<{ addr: number; mask: number; via: number }> = [];
  private netAddr = 0;
  private netMask = 0;
  private readonly fwPkt = newFirewallPacket();

  constructor(opts: NebulaNodeOptions) {
    this.opts = opts;
    this.config = opts.config;
    this.raw = opts.raw;
    this.log = opts.logger;
    this.metrics = new NodeMetrics(opts.registry, this.config.stats, this.config.tun.disabled);
    this.early = [];
  }

  // ---- public state ----

  get vpnIp(): number {
    return this.pkiState.cert.vpnIp ?? 0;
  }
  get port(): number {
    return this.listenPort;
  }
  get tunName(): string | null {
    return this.tunDevice?.name ?? null;
  }
  get cert(): NebulaCertificate {
    return this.pkiState.cert;
  }
  /** Established tunnels (a snapshot, for status output and tests). */
  hosts(): Array<{
    vpnIp: string;
    certName?: string;
    remote?: string;
    localIndex: number;
    remoteIndex: number;
  }> {
    return [...this.main.byVpnIp.values()].map((h) => {
      const o: {
        vpnIp: string;
        certName?: string;
        remote?: string;
        localIndex: number;
        remoteIndex: number;
      } = {
        vpnIp: ipv4ToString(h.vpnIp),
        localIndex: h.localIndex,
        remoteIndex: h.remoteIndex,
      };
      if (h.certName !== undefined) o.certName = h.certName;
      const r = h.remoteString();
      if (r !== undefined) o.remote = r;
      return o;
    });
  }
  pendingHosts(): string[] {
    return [...this.hm.pending.byVpnIp.keys()].map(ipv4ToString);
  }
  hostInfo(vpnIp: string | number): HostInfo | undefined {
    const ip = typeof vpnIp === 'number' ? vpnIp : parseIpv4(vpnIp);
    return ip === null ? undefined : this.main.byVpnIp.get(ip);
  }

  // ---- lifecycle ----

  async start(): Promise<void> {
    if (this.started) throw new NodeError('ERR_NODE_STATE', 'node already started');
    this.started = true;
    try {
      await this.startInner();
    } catch (e) {
      // Release what was opened (sockets, tun, workers, timers) before reporting.
      this.stopping = true;
      if (this.cmTimer) clearInterval(this.cmTimer);
      if (this.punchyTimer) clearInterval(this.punchyTimer);
      this.lh?.stop();
      await this.dns?.stop().catch(() => undefined);
      this.hm?.stop();
      await this.links?.stop().catch(() => undefined);
      this.udpClose?.();
      this.tunDevice?.close();
      this.fw?.stop();
      throw e;
    }
  }

  private async startInner(): Promise<void> {
    const cfg = this.config;
    this.pkiState = loadPki(cfg, Math.floor(Date.now() / 1000), this.log);
    const myNet = this.pkiState.cert.details.ips[0]!;
    this.netMask = myNet.mask >>> 0;
    this.netAddr = (myNet.addr & myNet.mask) >>> 0;
    this.applyRoutingConfig(cfg);
    if (cfg.lighthouse.am_lighthouse && cfg.listen.port === 0) {
      throw new NodeError(
        'ERR_NODE_CONFIG',
        'lighthouse.am_lighthouse enabled on node but no port number is set in config',
      );
    }
    const routines = Math.max(1, cfg.routines | 0);
    if (routines > 1) this.log.info({ routines }, 'Using multiple routines');
    this.table = new TunnelTable(allocateTunnelTable(this.opts.tunnelCapacity ?? 4096, routines));
    for (let s = this.table.capacity - 1; s >= 0; s--) this.freeSlots.push(s);
    // ca_name rules match on the Name of the CA that signed the peer: a fingerprint → name table.
    const caNames: Record<string, string> = {};
    for (const fp of this.pkiState.caPool.fingerprints()) {
      const ca = this.pkiState.caPool.caForIssuer(fp);
      if (ca !== undefined) caNames[fp] = ca.details.name;
    }
    this.fw = await createFirewallBundle(cfg, this.pkiState.cert, routines, this.log, caNames);
    this.metrics.tcpRttSource = () => this.fw.tcpRtt();

    this.hm = new HandshakeManager(this.handshakeHost(), {
      tryInterval: cfg.handshakes.try_interval,
      retries: cfg.handshakes.retries,
      triggerBuffer: cfg.handshakes.trigger_buffer,
    });
    const settings = this.routineSettings(0);
    const useWorkers = routines > 1 || (this.opts.workersForSingleRoutine ?? !cfg.tun.disabled);
    if (useWorkers) {
      this.links = await WorkerRoutines.start({
        node: this,
        config: cfg,
        routines,
        table: this.table,
        settingsFor: (i) => this.routineSettings(i),
        cert: this.pkiState.cert,
        aead: this.opts.aead ?? 'native',
        warmup: this.opts.dataPathWarmup ?? true,
        logger: this.log,
        firewallShared: () => this.fw.shared,
        onPort: (p) => {
          this.listenPort = p;
        },
        onTun: (dev) => {
          this.tunDevice = dev;
        },
      });
    } else {
      this.links = await this.startInline(cfg, settings);
    }
    this.lh = new LighthouseAdapter({
      raw: this.rawForLighthouse(cfg),
      myVpnIp: this.vpnIp,
      myVpnMask: this.netMask,
      sender: this.lighthouseSender(),
      logger: this.log,
      listenPort: this.listenPort,
      metrics: this.metrics.lighthouse,
    });
    this.lh.lh.events$.subscribe((e) => this.lighthouse$.next(e));
    await this.lh.start();
    if (cfg.punchy.punch) this.startPunchy();
    const early = this.early ?? [];
    this.early = null;
    for (const f of early) f();
    this.cmTimer = setInterval(() => this.connectionManagerTick(), 500);
    this.cmTimer.unref?.();
    this.log.info(
      {
        interface: this.tunDevice?.name ?? null,
        // Ours: whether the tun device runs with TCP segmentation offload (tun.tso).
        tso: this.tunDevice?.tso ?? false,
        // Ours: 'poll' when each routine thread blocks in poll() on its own fds, 'libuv' otherwise.
        routineLoop: this.links.loop,
        network: `${ipv4ToString(this.vpnIp)}/${bitsOf(this.netMask)}`,
        build: 'nebula-ts',
        udpAddr: `${cfg.listen.host}:${this.listenPort}`,
      },
      'Nebula interface is active',
    );
    // Last, as 1.6.1 does, so lighthouse.dns.host may be our own vpn IP.
    if (cfg.lighthouse.serve_dns ?? rawBool(this.raw, 'serve_dns')) {
      if (this.lh.amLighthouse) await this.startDns();
      else this.log.warn('DNS server refusing to run because this host is not a lighthouse.');
    }
  }

  /** `lighthouse.dns.host`:`lighthouse.dns.port` from the typed config, else the raw tree. */
  private dnsListen(): { host: string; port: number } {
    const d = this.config.lighthouse.dns;
    if (d) return { host: d.host, port: d.port };
    return dnsListenFromRaw(this.raw && typeof this.raw === 'object' ? (this.raw as RawConfig) : {});
  }

  private async startDns(): Promise<void> {
    this.dnsRecords = new DnsRecords();
    // Records for tunnels that are already up (none at startup; kept for symmetry with reload).
    for (const h of this.main.byVpnIp.values())
      if (h.ready && h.certName !== undefined) this.dnsRecords.add(h.certName, h.vpnIp);
    this.dns = new LighthouseDnsServer({
      records: this.dnsRecords,
      vpnIp: this.vpnIp,
      vpnMask: this.netMask,
      certFor: (ip) => {
        const c = this.main.byVpnIp.get(ip)?.peerCert;
        return c ? dnsCertDetails(c) : undefined;
      },
      logger: this.log,
    });
    const { host, port } = this.dnsListen();
    try {
      await this.dns.start(host, port);
    } catch (e) {
      // 1.6.1 logs and keeps running without DNS.
      this.log.error({ err: errMsg(e), dnsListener: `${host}:${port}` }, 'Failed to start server');
    }
  }

  private async startInline(cfg: NodeConfig, settings: RoutineSettings): Promise<RoutineLinks> {
    const udpMod = await import('@nebula-ts/udp');
    const group = udpMod.openUdpGroup({
      host: cfg.listen.host,
      port: cfg.listen.port,
      count: 1,
      batch: cfg.listen.batch,
      readBuffer: cfg.listen.read_buffer,
      writeBuffer: cfg.listen.write_buffer,
    });
    this.listenPort = group.port;
    this.udpClose = () => group.close();
    let tun: TunQueueLike;
    if (cfg.tun.disabled) {
      tun = new DisabledTun(this.table.stats, 0);
    } else {
      const dev = await openNodeTun(cfg, this.pkiState.cert, 1, false, this.log);
      this.tunDevice = dev;
      tun = dev.queues[0]!;
    }
    const aead = await createAead(this.opts.aead ?? 'native', this.log);
    const sink = this.inlineSink();
    const routine = new Routine({
      settings,
      table: this.table,
      aead,
      tun,
      udp: group.sockets[0] as unknown as UdpSocketLike,
      sink,
      logger: this.log.child({ routine: 0 }),
      firewall: this.fw.routineFirewall(0),
      cacheIn: this.fw.cache(0, 'in'),
      cacheOut: this.fw.cache(0, 'out'),
    });
    routine.start();
    const node = this;
    const addr = new Uint32Array(ADDR_WORDS);
    return {
      count: 1,
      loop: 'libuv',
      sendRaw(bytes, a) {
        addrToWords(a, addr, 0);
        try {
          routine.sendRaw(bytes, addr, 0);
        } catch (e) {
          node.log.error({ err: errMsg(e), udpAddr: addrToString(a) }, 'Failed to write outgoing packet');
        }
      },
      install(slot, h) {
        routine.install(
          slot,
          h.vpnIp,
          h.localIndex,
          h.cipher,
          h.sendKey!,
          h.recvKey!,
          node.fw.peerFor(h.peerCert!),
        );
      },
      remove(slot, vpnIp, localIndex) {
        routine.remove(slot, vpnIp, localIndex);
      },
      updateSettings(s) {
        routine.updateSettings(s);
      },
      setFirewall(rules) {
        const f = node.fw.rebuild(rules, 0);
        if (f) routine.firewall = f;
      },
      setBuffers(readBuffer, writeBuffer) {
        try {
          if (readBuffer > 0 || writeBuffer > 0)
            group.sockets[0]!.setBuffers({
              ...(readBuffer > 0 ? { readBuffer } : {}),
              ...(writeBuffer > 0 ? { writeBuffer } : {}),
            });
        } catch (e) {
          node.log.error({ err: errMsg(e) }, 'Failed to set listen buffers');
        }
      },
      async stop() {
        routine.stop();
        tun.close();
        group.close();
      },
    };
  }

  /** The inline routine's sink: control packets are handled synchronously on this thread. */
  private inlineSink(): ControlSink {
    return {
      controlPacket: (routine, buf, off, len, addrs, i) => {
        this.onControlPacket(routine, buf.slice(off, off + len), addrFromWords(addrs, i));
      },
      needTunnel: (vpnIp, buf, off, len) => {
        this.onNeedTunnel(vpnIp, buf.slice(off, off + len));
      },
      roamed: (slot, addrs, i) => {
        this.onRoamed(slot, addrFromWords(addrs, i));
      },
      exhausted: (slot) => this.onExhausted(slot),
    };
  }

  async stop(): Promise<void> {
    if (!this.started || this.stopping) return;
    this.stopping = true;
    if (this.cmTimer) clearInterval(this.cmTimer);
    if (this.punchyTimer) clearInterval(this.punchyTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.lh.stop();
    await this.dns?.stop();
    // Close every tunnel: CloseTunnel first so peers drop us at once (dataplane.md §13).
    for (const h of [...this.main.byVpnIp.values()]) {
      this.sendEncrypted(h, MessageType.CloseTunnel, 0, new Uint8Array(0));
      this.closeTunnel(h, 'stop');
    }
    this.hm.stop();
    await this.links.stop();
    this.udpClose?.();
    this.tunDevice?.close();
    this.fw.stop();
    this.handshakes$.complete();
    this.tunnels$.complete();
    this.recvErrors$.complete();
    this.lighthouse$.complete();
    this.reloads$.complete();
  }

  // ---- configuration-derived state ----

  private applyRoutingConfig(cfg: NodeConfig): void {
    this.unsafeRoutes = [];
    for (const r of cfg.tun.unsafe_routes) {
      const via = parseIpv4(r.via);
      if (via === null) continue;
      this.unsafeRoutes.push({ addr: (r.route.addr & r.route.mask) >>> 0, mask: r.route.mask >>> 0, via });
    }
    // Longest prefix first.
    this.unsafeRoutes.sort((a, b) => bitsOf(b.mask) - bitsOf(a.mask));
  }

  routineSettings(index: number): RoutineSettings {
    const cfg = this.config;
    return {
      index,
      batch: Math.max(1, cfg.listen.batch),
      vpnIp: this.pkiState.cert.vpnIp ?? 0,
      netAddr: this.netAddr,
      netMask: this.netMask,
      dropLocalBroadcast: cfg.tun.drop_local_broadcast,
      dropMulticast: cfg.tun.drop_multicast,
      sendRecvError: cfg.listen.send_recv_error,
      unsafeRoutes: this.unsafeRoutes,
    };
  }

  /** The raw YAML the lighthouse reads; synthesized from the typed config for library use. */
  private rawForLighthouse(cfg: NodeConfig): RawConfig {
    if (this.raw && typeof this.raw === 'object') return this.raw as RawConfig;
    const staticMap: Record<string, string[]> = {};
    for (const [k, list] of cfg.static_host_map)
      staticMap[k] = list.map((hp) =>
        hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`,
      );
    return {
      static_host_map: staticMap,
      lighthouse: {
        am_lighthouse: cfg.lighthouse.am_lighthouse,
        interval: cfg.lighthouse.interval,
        hosts: [...cfg.lighthouse.hosts],
        advertise_addrs: cfg.lighthouse.advertise_addrs.map((hp) => `${hp.host}:${hp.port}`),
      },
      punchy: { punch: cfg.punchy.punch, respond: cfg.punchy.respond, delay: `${cfg.punchy.delay}ms` },
      listen: { port: cfg.listen.port },
      preferred_ranges: cfg.preferred_ranges.map((c) => c.text),
    };
  }

  private lighthouseSender(): LighthouseSender {
    return {
      // The bytes are only valid during the call: copy for the queue / the send.
      sendMeta: (vpnIp, bytes, len) =>
        this.sendToVpnIp(vpnIp, MessageType.LightHouse, 0, bytes.slice(0, len)),
      punch: (addrs, i, byte) => {
        this.sendRaw(Uint8Array.of(byte), addrFromWords(addrs, i));
      },
      sendTest: (vpnIp) => this.sendToVpnIp(vpnIp, MessageType.Test, TestRequest, new Uint8Array(0)),
      triggerHandshake: (vpnIp) => this.hm.trigger(vpnIp),
    };
  }

  /** Destination → peer vpnIp: inside our network itself, else an unsafe route's via, else 0. */
  route(vpnIp: number): number {
    if ((vpnIp & this.netMask) >>> 0 === this.netAddr) return vpnIp;
    for (const r of this.unsafeRoutes) if ((vpnIp & r.mask) >>> 0 === r.addr) return r.via;
    return 0;
  }

  private handshakeHost() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const node = this;
    return {
      get log() {
        return node.log;
      },
      get myVpnIp() {
        return node.pkiState.cert.vpnIp ?? 0;
      },
      get cipher() {
        return node.config.cipher;
      },
      main: this.main,
      pki: () => ({ priv: node.pkiState.priv, pub: node.pkiState.pub, certNoKey: node.pkiState.certNoKey }),
      verifyPeerCert: (bytes: Uint8Array, remoteStatic: Uint8Array) =>
        node.verifyPeerCert(bytes, remoteStatic),
      isStaticHost: (vpnIp: number) => node.lh.isStatic(vpnIp),
      candidates: (vpnIp: number) => node.lh.candidates(vpnIp),
      blockRemote: (vpnIp: number, a: UdpAddr) => node.lh.block(vpnIp, a),
      queryLighthouse: (vpnIp: number, force?: boolean) => node.lh.queryServer(vpnIp, force ?? false),
      sendRaw: (bytes: Uint8Array, a: UdpAddr, type?: number) => node.sendRaw(bytes, a, type),
      route: (vpnIp: number) => node.route(vpnIp),
      complete: (h: HostInfo, role: 'initiator' | 'responder', replaced: HostInfo | undefined) =>
        node.complete(h, role, replaced),
      sendTest: (h: HostInfo) => node.sendEncrypted(h, MessageType.Test, TestRequest, new Uint8Array(0)),
      preferRemote: (h: HostInfo, a: UdpAddr) => {
        if (!h.remote || sameAddr(h.remote, a) || !node.lh.isPreferred(a) || node.lh.isPreferred(h.remote))
          return;
        h.remote = a;
        if (h.slot >= 0) node.table.writeAddr(h.slot, a);
        node.sendEncrypted(h, MessageType.Test, TestRequest, new Uint8Array(0));
      },
      emit: (e: HandshakeEvent) => node.handshakes$.next(e),
      counters: this.metrics.handshake,
      remoteAllowed: (vpnIp: number, a: UdpAddr) => node.lh.remoteAllowed(vpnIp, a),
    };
  }

  verifyPeerCert(bytes: Uint8Array, remoteStatic: Uint8Array): NebulaCertificate {
    const cert = NebulaCertificate.fromHandshakeBytes(bytes, remoteStatic);
    try {
      this.pkiState.caPool.verify(cert, Math.floor(Date.now() / 1000));
    } catch (e) {
      // Carry the parsed cert to the log line ("Invalid certificate from host" ... cert=).
      throw Object.assign(e instanceof Error ? e : new Error(String(e)), { cert });
    }
    if (cert.details.ips.length === 0)
      throw Object.assign(new Error('no IPs encoded in certificate'), { cert });
    return cert;
  }

  // ---- sending ----

  sendRaw(bytes: Uint8Array, a: UdpAddr, type?: number): void {
    if (type !== undefined) this.metrics.tx(type, bytes[1] ?? 0, 1);
    this.links.sendRaw(bytes, a);
  }

  /** Seal and send one packet on an established tunnel (control path: node:crypto single-shot). */
  sendEncrypted(h: HostInfo, type: number, subtype: number, payload: Uint8Array, to?: UdpAddr): boolean {
    const dest = to ?? h.remote;
    if (!h.ready || h.slot < 0 || !h.sendKey || !dest) return false;
    const counter = this.table.nextCounter(h.slot);
    const hdr = new Uint8Array(HEADER_LEN);
    writeHeader(hdr, 0, type, subtype, h.remoteIndex, counter);
    const ct = aeadSeal(h.cipher, h.sendKey, counter, hdr, payload);
    const pkt = new Uint8Array(HEADER_LEN + ct.length);
    pkt.set(hdr, 0);
    pkt.set(ct, HEADER_LEN);
    this.table.markOut(h.slot);
    if (type !== MessageType.Message) this.metrics.tx(type, subtype, 1);
    this.links.sendRaw(pkt, dest);
    return true;
  }

  /** Go's SendMessageToVpnIp: start a handshake if needed, queue until ready. */
  sendToVpnIp(vpnIp: number, type: number, subtype: number, payload: Uint8Array): void {
    const h = this.hm.getOrHandshake(vpnIp);
    if (!h) {
      if (this.log.isLevelEnabled('debug'))
        this.log.debug(
          { vpnIp: ipv4ToString(vpnIp) },
          'dropping SendMessageToVpnIp, vpnIp not in our CIDR or in unsafe routes',
        );
      return;
    }
    if (!h.ready) {
      if (!this.hm.queue(h, { type, subtype, payload })) this.metrics.cachedDropped.inc();
      return;
    }
    this.sendEncrypted(h, type, subtype, payload);
  }

  // ---- data path → control path ----

  onNeedTunnel(vpnIp: number, packet: Uint8Array): void {
    if (this.stopping) return;
    if (this.early) {
      if (this.early.length < 256) this.early.push(() => this.onNeedTunnel(vpnIp, packet));
      return;
    }
    const h = this.hm.getOrHandshake(vpnIp);
    if (!h) return;
    if (h.ready) {
      // Installed meanwhile (the routine had not seen the announcement yet): send it from here.
      this.sendDataFromControl(h, packet);
      return;
    }
    if (!this.hm.queue(h, { type: MessageType.Message, subtype: 0, payload: packet }))
      this.metrics.cachedDropped.inc();
  }

  /** A tun packet sent by the control path: outbound firewall without a routine cache, then seal. */
  private sendDataFromControl(h: HostInfo, packet: Uint8Array): void {
    if (parsePacket(packet, 0, packet.length, false, this.fwPkt) !== 0) return;
    if (this.fw.mainFirewall.drop(this.fwPkt, false, this.fw.peerFor(h.peerCert!), null) !== 0) return;
    this.sendEncrypted(h, MessageType.Message, 0, packet);
  }

  onRoamed(slot: number, a: UdpAddr): void {
    const h = this.slotHosts[slot];
    if (!h?.ready) return;
    this.roam(h, a);
  }

  /** dataplane.md §9: switch to an authenticated new address unless it is a flap back within 2 s. */
  roam(h: HostInfo, a: UdpAddr): void {
    if (sameAddr(h.remote, a)) return;
    const now = Date.now();
    if (h.lastRoamRemote && sameAddr(h.lastRoamRemote, a) && now - h.lastRoam < 2000) {
      if (this.log.isLevelEnabled('debug')) {
        h.logger(this.log).debug(
          { udpAddr: h.remoteString(), newAddr: addrToString(a) },
          'Suppressing roam back to previous remote for 2 seconds',
        );
      }
      return;
    }
    const from = h.remoteString();
    h.logger(this.log).info({ udpAddr: from, newAddr: addrToString(a) }, 'Host roamed to new udp ip/port.');
    h.lastRoam = now;
    h.lastRoamRemote = h.remote;
    h.remote = a;
    if (h.slot >= 0) this.table.writeAddr(h.slot, a);
    this.lh.learn(h.vpnIp, a);
    this.tunnels$.next({ type: 'roamed', vpnIp: ipv4ToString(h.vpnIp), from, to: addrToString(a) });
  }

  onExhausted(slot: number): void {
    const h = this.slotHosts[slot];
    if (!h) return;
    h.logger(this.log).warn('Message counter exhausted, re-handshaking');
    this.closeTunnel(h, 'counter-exhausted');
  }

  /** Non-data packets and data packets with an unknown index, from any routine. */
  onControlPacket(routine: number, pkt: Uint8Array, addr: UdpAddr): void {
    if (this.stopping) return;
    if (this.early) {
      if (this.early.length < 256) this.early.push(() => this.onControlPacket(routine, pkt, addr));
      return;
    }
    const type = pkt[0]! & 0x0f;
    const subtype = pkt[1]!;
    const idx = readU32(pkt, 4);
    const counter = readCounter(pkt, 0);
    if (type !== MessageType.Message && type !== MessageType.Control) this.metrics.rx(type, subtype, 1);
    switch (type) {
      case MessageType.Handshake:
        if (subtype !== 0) return;
        if (counter === 1) this.hm.handleStage1(pkt, addr);
        else if (counter === 2) this.hm.handleStage2(pkt, addr, idx);
        return;
      case MessageType.RecvError:
        this.handleRecvError(idx, addr);
        return;
      case MessageType.Message:
      case MessageType.LightHouse:
      case MessageType.Test:
      case MessageType.CloseTunnel:
      case MessageType.Control:
        break;
      default:
        if (this.log.isLevelEnabled('debug'))
          this.log.debug({ udpAddr: addrToString(addr), type }, 'Unexpected packet received');
        return;
    }
    const h = this.main.byIndex.get(idx);
    if (!h || h.slot < 0 || !h.recvKey) {
      if (type === MessageType.Message && h && !h.ready) return;
      this.sendRecvError(idx, addr);
      return;
    }
    if (type === MessageType.Message && subtype !== 0) return; // relays are not supported
    const win = this.table.windows[h.slot]!;
    if (!win.check(counter)) {
      this.sendRecvError(idx, addr);
      return;
    }
    const pt = aeadOpen(h.cipher, h.recvKey, counter, pkt.subarray(0, HEADER_LEN), pkt.subarray(HEADER_LEN));
    if (!pt) {
      h.logger(this.log).error({ udpAddr: addrToString(addr), type, subtype }, 'Failed to decrypt packet');
      return;
    }
    if (!win.update(counter)) return;
    switch (type) {
      case MessageType.Message:
        // A data packet that raced its tunnel's announcement to the routine: drop it (the
        // sender's TCP/ICMP retries), it is authentic so no recv_error.
        this.table.markIn(h.slot);
        return;
      case MessageType.LightHouse:
        this.roam(h, addr);
        this.table.markIn(h.slot);
        this.lh.handleRequest(routine, h.vpnIp, addr, pt);
        return;
      case MessageType.Test:
        this.roam(h, addr);
        this.table.markIn(h.slot);
        if (subtype === TestRequest) this.sendEncrypted(h, MessageType.Test, TestReply, pt);
        return;
      case MessageType.CloseTunnel:
        h.logger(this.log).info({ udpAddr: addrToString(addr) }, 'Close tunnel received, tearing down.');
        this.closeTunnel(h, 'close-tunnel');
        return;
      case MessageType.Control:
        this.roam(h, addr);
        this.table.markIn(h.slot);
        if (this.log.isLevelEnabled('debug'))
          h.logger(this.log).debug('Relay control message ignored (relays are not supported)');
        return;
    }
  }

  sendRecvError(idx: number, addr: UdpAddr): void {
    const mode = this.config.listen.send_recv_error;
    if (mode === 'never') return;
    if (mode === 'private' && !isPrivate(addr)) return;
    const b = new Uint8Array(HEADER_LEN);
    writeHeader(b, 0, MessageType.RecvError, 0, idx, 0);
    this.metrics.tx(MessageType.RecvError, 0, 1);
    this.links.sendRaw(b, addr);
  }

  /** handshake.md §11. */
  private handleRecvError(idx: number, addr: UdpAddr): void {
    const udpAddr = addrToString(addr);
    if (this.log.isLevelEnabled('debug')) this.log.debug({ index: idx, udpAddr }, 'Recv error received');
    this.hm.deleteByRemoteIndex(idx);
    const h = this.main.byRemoteIndex.get(idx);
    if (!h) {
      this.recvErrors$.next({ type: 'recv-error', udpAddr, remoteIndex: idx, action: 'unknown' });
      return;
    }
    const vpnIp = ipv4ToString(h.vpnIp);
    if (h.recvErrors < 3) {
      h.recvErrors++;
      this.recvErrors$.next({ type: 'recv-error', udpAddr, remoteIndex: idx, vpnIp, action: 'counted' });
      return;
    }
    if (h.remote && !sameAddr(h.remote, addr)) {
      this.log.info({ udpAddr, remote: h.remoteString(), vpnIp }, 'Someone spoofing recv_errors?');
      this.recvErrors$.next({ type: 'recv-error', udpAddr, remoteIndex: idx, vpnIp, action: 'spoofed' });
      return;
    }
    h.logger(this.log).info({ udpAddr }, 'Tearing down tunnel after recv_error');
    this.closeTunnel(h, 'recv-error');
    this.hm.deleteVpnIp(h.vpnIp);
    this.recvErrors$.next({ type: 'recv-error', udpAddr, remoteIndex: idx, vpnIp, action: 'teardown' });
  }

  // ---- tunnel lifecycle ----

  private releaseSlot(slot: number): void {
    // Quarantine: a routine may still hold the slot for a batch in flight.
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.freeSlots.push(slot);
    }, SLOT_QUARANTINE_MS);
    t.unref?.();
    this.timers.add(t);
  }

  /** Handshake done (either role): install keys everywhere, take the main-map slot, flush. */
  complete(h: HostInfo, role: 'initiator' | 'responder', replaced: HostInfo | undefined): void {
    // Take the slot first: with every slot in use or in quarantine (a flood of valid handshakes
    // replacing each other faster than SLOT_QUARANTINE_MS), drop this one and leave the maps as
    // they were instead of throwing out of the receive path half-way through.
    const slot = this.freeSlots.pop();
    if (slot === undefined) {
      h.logger(this.log).error({ role }, 'Tunnel table is full, dropping completed handshake');
      return;
    }
    if (replaced && replaced !== h) this.removeTunnel(replaced, 'replaced', false);
    this.main.add(h);
    h.slot = slot;
    this.slotHosts[slot] = h;
    const t = this.table;
    t.establish(slot, h.vpnIp, h.localIndex, h.remoteIndex, h.cipher, h.remote);
    this.links.install(slot, h);
    t.activate(slot);
    h.ready = true;
    h.noise = null;
    h.stage1Packet = null;
    h.cm = 'idle';
    if (h.remote) this.lh.learn(h.vpnIp, h.remote);
    this.lh.clearBlocked(h.vpnIp);
    if (this.dnsRecords && h.certName !== undefined) this.dnsRecords.add(h.certName, h.vpnIp);
    const queued = h.queue;
    h.queue = [];
    for (const p of queued) {
      if (p.type === MessageType.Message) this.sendDataFromControl(h, p.payload);
      else this.sendEncrypted(h, p.type, p.subtype, p.payload);
    }
    this.metrics.cachedSent.inc(queued.length);
    const vpnIp = ipv4ToString(h.vpnIp);
    const certName = h.certName ?? '';
    const udpAddr = h.remoteString() ?? '';
    this.tunnels$.next({
      type: 'up',
      vpnIp,
      certName,
      udpAddr,
      localIndex: h.localIndex,
      remoteIndex: h.remoteIndex,
    });
    this.handshakes$.next({
      type: 'completed',
      role,
      vpnIp,
      certName,
      udpAddr,
      localIndex: h.localIndex,
      remoteIndex: h.remoteIndex,
    });
  }

  /** Close locally (dataplane.md §11): forget marks, the lighthouse cache entry, the indexes. */
  closeTunnel(h: HostInfo, reason: TunnelDownReason): void {
    this.removeTunnel(h, reason, true);
  }

  private removeTunnel(h: HostInfo, reason: TunnelDownReason, forgetLighthouse: boolean): void {
    if (!this.main.delete(h) && h.slot < 0) return;
    if (forgetLighthouse) this.lh.forget(h.vpnIp);
    if (h.slot >= 0) {
      const slot = h.slot;
      this.table.deactivate(slot);
      this.links.remove(slot, h.vpnIp, h.localIndex);
      this.slotHosts[slot] = undefined;
      h.slot = -1;
      this.releaseSlot(slot);
    }
    h.ready = false;
    // The DNS A record stays: 1.6.1 never deletes names (its TXT answer needs a live tunnel).
    const e: TunnelEvent =
      h.certName !== undefined
        ? { type: 'down', vpnIp: ipv4ToString(h.vpnIp), certName: h.certName, reason }
        : { type: 'down', vpnIp: ipv4ToString(h.vpnIp), reason };
    this.tunnels$.next(e);
  }

  /** Close a tunnel like the ssh `close-tunnel` command: CloseTunnel to the peer, then locally. */
  closeTunnelTo(vpnIp: string | number): boolean {
    const h = this.hostInfo(vpnIp);
    if (!h) return false;
    this.sendEncrypted(h, MessageType.CloseTunnel, 0, new Uint8Array(0));
    this.closeTunnel(h, 'close-tunnel');
    return true;
  }

  /** Starts a handshake with `vpnIp` unless a tunnel exists (`tunnels$` reports it up). */
  handshakeTo(vpnIp: string | number): void {
    const ip = typeof vpnIp === 'number' ? vpnIp : parseIpv4(vpnIp);
    if (ip !== null) this.hm.getOrHandshake(ip);
  }

  /** Sends an encrypted Test request to `vpnIp` (handshaking first if needed), as Nebula's tunnel probes do. */
  sendTest(vpnIp: string | number): void {
    const ip = typeof vpnIp === 'number' ? vpnIp : parseIpv4(vpnIp);
    if (ip !== null) this.sendToVpnIp(ip, MessageType.Test, TestRequest, new Uint8Array(0));
  }

  /**
   * `punchy.punch`: a 1-byte 0x01 to every tunnel's remote every 10 s keeps NAT mappings open
   * (receivers drop it: shorter than a header).
   */
  private startPunchy(): void {
    const t = setInterval(() => {
      const one = Uint8Array.of(1);
      let n = 0;
      for (const h of this.main.byVpnIp.values()) {
        if (!h.remote) continue;
        this.links.sendRaw(one, h.remote);
        n++;
      }
      if (n > 0) this.metrics.messages.punchyTx.inc(n);
    }, 10_000);
    t.unref?.();
    this.punchyTimer = t;
  }

  // ---- connection manager (dataplane.md §10) ----

  private connectionManagerTick(): void {
    const now = Date.now();
    const alive = this.config.timers.connection_alive_interval * 1000;
    const pendingDeletion = this.config.timers.pending_deletion_interval * 1000;
    const t = this.table;
    for (const h of [...this.main.byVpnIp.values()]) {
      if (h.slot < 0) continue;
      const slot = h.slot;
      switch (h.cm) {
        case 'idle':
          if (t.takeOut(slot)) {
            h.lastOutAt = now;
            h.cm = 'testing';
            h.cmDeadline = now + alive;
          }
          break;
        case 'testing':
          if (now < h.cmDeadline) break;
          if (this.disconnectInvalid(h)) break;
          if (t.takeIn(slot)) {
            if (this.log.isLevelEnabled('debug'))
              h.logger(this.log).debug(
                { tunnelCheck: { state: 'alive', method: 'passive' } },
                'Tunnel status',
              );
            h.cm = 'idle';
            t.takeOut(slot);
          } else {
            if (this.log.isLevelEnabled('debug'))
              h.logger(this.log).debug(
                { tunnelCheck: { state: 'testing', method: 'active' } },
                'Tunnel status',
              );
            this.sendEncrypted(h, MessageType.Test, TestRequest, new Uint8Array(0));
            h.cm = 'pending-deletion';
            h.cmDeadline = now + pendingDeletion;
          }
          break;
        case 'pending-deletion':
          if (now < h.cmDeadline) break;
          if (this.disconnectInvalid(h)) break;
          if (t.takeIn(slot)) {
            if (this.log.isLevelEnabled('debug'))
              h.logger(this.log).debug(
                { tunnelCheck: { state: 'alive', method: 'active' } },
                'Tunnel status',
              );
            h.cm = 'idle';
            t.takeOut(slot);
          } else {
            h.logger(this.log).info({ tunnelCheck: { state: 'dead', method: 'active' } }, 'Tunnel status');
            this.closeTunnel(h, 'dead');
          }
          break;
      }
    }
    this.metrics.collectFrom(
      this.table,
      this.main,
      this.hm.pending,
      this.fw.conntrackCount(),
      this.fw.mainFirewall.rulesVersion,
    );
    if (++this.cmTicks % PROMOTE_EVERY_TICKS === 0) this.promoteBest();
  }

  /**
   * dataplane.md §9 "promote best": a tunnel whose remote is outside `preferred_ranges` probes the
   * peer's preferred candidates with a Test request sent to each (the peer roams to the one that
   * arrives). 1.6.1 does this every 1000th packet to the host; the data path here does not pass
   * through the control path, so it runs every 10 s for tunnels that carried outbound traffic.
   */
  private promoteBest(): void {
    if (this.lh.amLighthouse) return;
    const recent = Date.now() - PROMOTE_EVERY_TICKS * 500;
    for (const h of this.main.byVpnIp.values()) {
      if (!h.ready || !h.remote || h.lastOutAt < recent || this.lh.isPreferred(h.remote)) continue;
      for (const a of this.lh.candidates(h.vpnIp)) {
        if (this.lh.isPreferred(a) && !sameAddr(a, h.remote))
          this.sendEncrypted(h, MessageType.Test, TestRequest, new Uint8Array(0), a);
      }
    }
  }

  /** `pki.disconnect_invalid`: close (with CloseTunnel) a tunnel whose peer cert no longer verifies. */
  private disconnectInvalid(h: HostInfo): boolean {
    if (!this.config.pki.disconnect_invalid || !h.peerCert) return false;
    try {
      this.pkiState.caPool.verify(h.peerCert, Math.floor(Date.now() / 1000));
      return false;
    } catch (e) {
      h.logger(this.log).info(
        { err: errMsg(e), fingerprint: h.peerCert.fingerprint() },
        'Remote certificate is no longer valid, tearing down the tunnel',
      );
      this.sendEncrypted(h, MessageType.CloseTunnel, 0, new Uint8Array(0));
      this.closeTunnel(h, 'invalid-cert');
      return true;
    }
  }

  // ---- reload (config.md: what 1.6.1 applies on SIGHUP) ----

  /** Applies a reloaded config. Returns the sections that changed. */
  reload(loaded: { config: NodeConfig; raw?: unknown }): string[] {
    const prev = this.config;
    const next = loaded.config;
    const changed: string[] = [];
    // pki: CA pool + blocklist + own cert (rejected if the first IP changed).
    try {
      const pki = loadPki(next, Math.floor(Date.now() / 1000), this.log);
      const oldIp = this.pkiState.cert.details.ips[0]!;
      const newIp = pki.cert.details.ips[0]!;
      if (oldIp.addr !== newIp.addr || oldIp.mask !== newIp.mask) {
        this.log.error(
          { old: ipv4ToString(oldIp.addr), new: ipv4ToString(newIp.addr) },
          'Ignoring pki change: the IP address of the certificate changed',
        );
        this.reloads$.next({ type: 'rejected', section: 'pki', error: 'certificate ip changed' });
        this.pkiState = { ...this.pkiState, caPool: pki.caPool };
      } else {
        this.pkiState = pki;
      }
      changed.push('pki');
    } catch (e) {
      this.log.error({ err: errMsg(e) }, 'Failed to reload pki');
      this.reloads$.next({ type: 'rejected', section: 'pki', error: errMsg(e) });
    }
    if (
      JSON.stringify(prev.firewall.inbound) !== JSON.stringify(next.firewall.inbound) ||
      JSON.stringify(prev.firewall.outbound) !== JSON.stringify(next.firewall.outbound)
    ) {
      try {
        this.fw.reloadMain({ inbound: next.firewall.inbound, outbound: next.firewall.outbound });
        this.links.setFirewall({ inbound: next.firewall.inbound, outbound: next.firewall.outbound });
        changed.push('firewall');
        this.log.info('New firewall has been installed');
      } catch (e) {
        this.log.error({ err: errMsg(e) }, 'Error while creating firewall during reload');
        this.reloads$.next({ type: 'rejected', section: 'firewall', error: errMsg(e) });
      }
    }
    this.config = next;
    this.raw = loaded.raw;
    this.applyRoutingConfig({ ...next, tun: { ...next.tun, unsafe_routes: prev.tun.unsafe_routes } });
    if (loaded.raw && typeof loaded.raw === 'object') {
      this.lh
        .reload(loaded.raw as RawConfig)
        .then((keys) => {
          if (keys.length > 0) this.log.info({ changed: keys }, 'Lighthouse config reloaded');
        })
        .catch((e: unknown) => this.log.error({ err: errMsg(e) }, 'Failed to reload lighthouse config'));
    }
    if (this.dns) {
      // Rebinds only when lighthouse.dns.host/port changed (1.6.1 reloadDns).
      const { host, port } = this.dnsListen();
      this.dns
        .reload(host, port)
        .catch((e: unknown) =>
          this.log.error({ err: errMsg(e), dnsListener: `${host}:${port}` }, 'Failed to start server'),
        );
    }
    if (prev.listen.send_recv_error !== next.listen.send_recv_error) changed.push('listen.send_recv_error');
    if (
      prev.listen.read_buffer !== next.listen.read_buffer ||
      prev.listen.write_buffer !== next.listen.write_buffer
    ) {
      this.links.setBuffers(next.listen.read_buffer, next.listen.write_buffer);
      changed.push('listen.buffers');
    }
    for (let i = 0; i < this.links.count; i++) this.links.updateSettings(this.routineSettings(i));
    this.reloads$.next({ type: 'applied', changed });
    return changed;
  }

  get rawConfig(): unknown {
    return this.raw;
  }

  /** Internal hooks for the worker host. */
  get _table(): TunnelTable {
    return this.table;
  }
  _firewallPeerBytes(h: HostInfo): Uint8Array {
    return h.peerCert!.toBytes();
  }
  _stateReady(slot: number): boolean {
    return Atomics.load(this.table.t, slot * 16) === STATE_READY;
  }
  _stat(which: keyof typeof Stat): number {
    return this.table.stat(Stat[which]);
  }
}

/** `lighthouse.<key>` as a boolean from the raw YAML tree (library callers may omit it from NodeConfig). */
function rawBool(raw: unknown, key: string): boolean {
  const lh = raw && typeof raw === 'object' ? (raw as Record<string, unknown>).lighthouse : undefined;
  return lh !== null && typeof lh === 'object' && (lh as Record<string, unknown>)[key] === true;
}

/** What the DNS TXT dump shows of a peer certificate. */
function dnsCertDetails(c: NebulaCertificate): DnsCertDetails {
  const d = c.details;
  return {
    name: d.name,
    ips: d.ips.map(ipNetToString),
    subnets: d.subnets.map(ipNetToString),
    groups: d.groups,
    notBefore: d.notBefore,
    notAfter: d.notAfter,
    publicKey: d.publicKey,
    isCA: d.isCA,
    issuer: d.issuer,
  };
}

function bitsOf(mask: number): number {
  let b = 0;
  let m = mask >>> 0;
  while (m & 0x80000000) {
    b++;
    m = (m << 1) >>> 0;
  }
  return b;
}

function isPrivate(a: UdpAddr): boolean {
  if (a.family === 4) {
    const ip = a.w[0];
    return ip >>> 24 === 10 || ip >>> 20 === 0xac1 || ip >>> 16 === 0xc0a8;
  }
  return a.w[0] >>> 25 === 0x7e;
}

/** The data-path AEAD: the native batch addon when asked for and loadable, else node:crypto. */
export async function createAead(kind: 'native' | 'node', log: Logger): Promise<BatchAead> {
  if (kind === 'native') {
    try {
      return createBatchAead('native');
    } catch (e) {
      log.warn({ err: errMsg(e) }, 'native AEAD unavailable, using node:crypto');
    }
  }
  return createBatchAead('node');
}

/** Opens and programs the tun device (dataplane.md §7). */
export async function openNodeTun(
  cfg: NodeConfig,
  cert: NebulaCertificate,
  queues: number,
  multiQueue: boolean,
  log?: Logger,
) {
  const tunMod = await import('@nebula-ts/tun-linux');
  const opts: { name?: string; queues: number; multiQueue?: boolean; tso?: boolean } = { queues };
  if (cfg.tun.dev) opts.name = cfg.tun.dev;
  if (multiQueue) opts.multiQueue = true;
  const tso = cfg.tun.tso !== false;
  let dev: ReturnType<typeof tunMod.openTun>;
  try {
    try {
      dev = tunMod.openTun(tso ? { ...opts, tso: true } : opts);
    } catch (e) {
      // A kernel without IFF_VNET_HDR or TSO4 on tun refuses the ioctl; run as 1.6.1 does.
      if (!tso || !tunMod.isTunError(e) || e.code !== 'ERR_TUN_SYSCALL') throw e;
      log?.warn({ err: errMsg(e) }, 'tun.tso: offload unavailable, using a plain tun device');
      dev = tunMod.openTun(opts);
    }
  } catch (e) {
    throw new NodeError('ERR_NODE_TUN', `failed to get a tun/tap device: ${errMsg(e)}`, { cause: e });
  }
  const ip = cert.details.ips[0]!;
  try {
    tunMod.configureNebulaTun(dev, {
      vpnIp: ip.addr,
      prefixLen: bitsOf(ip.mask),
      mtu: cfg.tun.mtu,
      txQueueLen: cfg.tun.tx_queue,
      routes: cfg.tun.routes.map((r) => ({ route: r.route.text, mtu: r.mtu })),
      unsafeRoutes: cfg.tun.unsafe_routes.map((r) => ({ route: r.route.text, mtu: r.mtu, metric: r.metric })),
    });
  } catch (e) {
    dev.close();
    throw new NodeError('ERR_NODE_TUN', `failed to configure the tun device: ${errMsg(e)}`, { cause: e });
  }
  return dev;
}
