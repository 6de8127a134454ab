/**
 * The node's side of `@nebula-ts/lighthouse`: one `LightHouse` (address cache, client and server
 * logic, update worker), one `LightHouseHandler` per listener routine (seed g; lighthouse packets
 * of routine i go to handler i), and conversions between the node's immutable `UdpAddr` and the
 * lighthouse's mutable one. Sends go through the node's `LighthouseSender` over the encrypted path.
 */
import {
  UdpAddr as LhAddr,
  LightHouse,
  type LightHouseHandler,
  type LighthouseMetrics,
  type LighthouseSender,
} from '@nebula-ts/lighthouse';
import type { Logger } from 'pino';
import { ADDR_WORDS, addrToWords, type UdpAddr } from './addr.js';

export type RawConfig = Record<string, unknown>;

function fromLh(a: LhAddr): UdpAddr {
  return { family: a.family, port: a.port, w: [a.w0, a.w1, a.w2, a.w3] };
}

function toLh(a: UdpAddr): LhAddr {
  return a.family === 4 ? LhAddr.v4(a.w[0], a.port) : LhAddr.v6(a.w[0], a.w[1], a.w[2], a.w[3], a.port);
}

export interface LighthouseAdapterOptions {
  readonly raw: RawConfig;
  readonly myVpnIp: number;
  readonly myVpnMask: number;
  readonly sender: LighthouseSender;
  readonly logger: Logger;
  readonly listenPort: number;
  readonly metrics: LighthouseMetrics;
}

export class LighthouseAdapter {
  readonly lh: LightHouse;
  private readonly handlers: LightHouseHandler[] = [];
  private readonly words = new Uint32Array(ADDR_WORDS);

  constructor(o: LighthouseAdapterOptions) {
    this.lh = new LightHouse({
      raw: o.raw as ConstructorParameters<typeof LightHouse>[0]['raw'],
      myVpnIp: o.myVpnIp,
      myVpnMask: o.myVpnMask,
      sender: o.sender,
      logger: o.logger,
      listenPort: o.listenPort,
      metrics: o.metrics,
    });
  }

  get amLighthouse(): boolean {
    return this.lh.amLighthouse;
  }

  start(): Promise<void> {
    return this.lh.start();
  }

  stop(): void {
    this.lh.stop();
  }

  isStatic(vpnIp: number): boolean {
    return this.lh.isStatic(vpnIp);
  }

  /** Handshake candidates for `vpnIp`, sorted as lighthouse.md §4 (blocked ones excluded). */
  candidates(vpnIp: number): UdpAddr[] {
    const rl = this.lh.remoteList(vpnIp);
    return rl ? rl.copyAddrs(this.lh.preferredRanges).map(fromLh) : [];
  }

  /** A tunnel came up on (or roamed to) `addr`: the learned address, owner = the peer. */
  learn(vpnIp: number, addr: UdpAddr): void {
    addrToWords(addr, this.words, 0);
    this.lh.onTunnelUp(vpnIp, this.words, 0);
  }

  forget(vpnIp: number): void {
    this.lh.onTunnelDown(vpnIp);
  }

  block(vpnIp: number, addr: UdpAddr): void {
    this.lh.queryCache(vpnIp).blockRemote(toLh(addr));
  }

  clearBlocked(vpnIp: number): void {
    this.lh.remoteList(vpnIp)?.resetBlockedRemotes();
  }

  /** Whether `addr` is inside `preferred_ranges`. */
  isPreferred(addr: UdpAddr): boolean {
    return this.lh.preferredRanges.contains(toLh(addr));
  }

  queryServer(vpnIp: number, force = false): void {
    this.lh.queryServer(vpnIp, force);
  }

  /** `lighthouse.remote_allow_list` (+ ranges) for an underlay address of `vpnIp` (0: global only). */
  remoteAllowed(vpnIp: number, addr: UdpAddr): boolean {
    const al = this.lh.remoteAllowList;
    return al === null || al.allow(vpnIp, toLh(addr));
  }

  /** A decrypted lighthouse payload that arrived on routine `routine`. */
  handleRequest(routine: number, fromVpnIp: number, addr: UdpAddr | null, payload: Uint8Array): void {
    let h = this.handlers[routine];
    if (!h) {
      h = this.lh.newRequestHandler();
      this.handlers[routine] = h;
    }
    if (addr) addrToWords(addr, this.words, 0);
    h.handleRequest(fromVpnIp, addr ? this.words : null, 0, payload, 0, payload.length);
  }

  reload(raw: RawConfig): Promise<string[]> {
    return this.lh.reload(raw as Parameters<LightHouse['reload']>[0]);
  }
}
