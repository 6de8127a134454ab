/**
 * Noise IX handshakes (handshake.md §4–§10): stage 0 (build the stage-1 packet once), stage 1
 * (responder), stage 2 (initiator completion), retransmission with linear backoff, the trigger
 * channel (static hosts right after stage 0, seed d; lighthouse replies), races (higher vpnIp
 * wins), cached stage-2 replies for retransmitted stage 1s, and the pending host map.
 */
import { hrtime } from 'node:process';
import type { Logger } from 'pino';
import { addrToString, ipv4ToString, sameAddr, type UdpAddr } from './addr.js';
import type { HandshakeEvent } from './events.js';
import { type CachedPacket, HostInfo, MAX_CACHED_PACKETS } from './hostinfo.js';
import { allocateIndex, HostMap, randomIndex } from './hostmap.js';
import {
  decodeHandshake,
  encodeHandshake,
  HEADER_LEN,
  MessageType,
  type NebulaCertificate,
  type NebulaHandshakeDetails,
  NoiseHandshake,
  writeHeader,
} from './internal/deps.js';
import type { Cipher } from './internal/io-types.js';

const STYLE = 'ix_psk0';
const hs = (stage: number) => ({ stage, style: STYLE });

export interface HandshakeSettings {
  readonly tryInterval: number;
  readonly retries: number;
  readonly triggerBuffer: number;
}

/** What the handshake manager needs from the node. */
export interface HandshakeHost {
  readonly log: Logger;
  readonly myVpnIp: number;
  readonly cipher: Cipher;
  readonly main: HostMap;
  /** Our static key pair and the cert we send (without public key). */
  pki(): { priv: Uint8Array; pub: Uint8Array; certNoKey: Uint8Array };
  /** Rebuild the peer cert with the Noise static key and verify it; throws with Go's message. */
  verifyPeerCert(certBytes: Uint8Array, remoteStatic: Uint8Array): NebulaCertificate;
  isStaticHost(vpnIp: number): boolean;
  candidates(vpnIp: number): UdpAddr[];
  blockRemote(vpnIp: number, addr: UdpAddr): void;
  queryLighthouse(vpnIp: number, force?: boolean): void;
  /** `lighthouse.remote_allow_list` (+ ranges); vpnIp 0 = the global list only. */
  remoteAllowed(vpnIp: number, addr: UdpAddr): boolean;
  sendRaw(bytes: Uint8Array, addr: UdpAddr, metaType?: number): void;
  /** Route a destination: in-network → itself, unsafe route → via, else 0 (drop, seed c). */
  route(vpnIp: number): number;
  /** Install keys, move to main map and flush the queue. */
  complete(h: HostInfo, role: 'initiator' | 'responder', replaced: HostInfo | undefined): void;
  sendTest(h: HostInfo): void;
  /** Switch `h` to `addr` when it is in preferred_ranges and the current remote is not (then test). */
  preferRemote(h: HostInfo, addr: UdpAddr): void;
  emit(e: HandshakeEvent): void;
  counters: {
    initiated: { inc(n?: number): void };
    timedOut: { inc(n?: number): void };
    onDuration(ns: number): void;
  };
}

export class HandshakeManager {
  readonly pending = new HostMap('pending');
  private settings: HandshakeSettings;
  private readonly triggers: number[] = [];
  private triggerScheduled = false;
  private stopped = false;

  constructor(
    private readonly host: HandshakeHost,
    settings: HandshakeSettings,
  ) {
    this.settings = settings;
  }

  stop(): void {
    this.stopped = true;
    for (const h of this.pending.byVpnIp.values()) h.clearTimer();
    this.pending.byVpnIp.clear();
    this.pending.byIndex.clear();
    this.pending.byRemoteIndex.clear();
    this.triggers.length = 0;
  }

  /**
   * handshake.md §5: the established HostInfo for `vpnIp` (after unsafe-route resolution), or a
   * pending one with its stage-1 packet built. null: unroutable (drop, no handshake).
   */
  getOrHandshake(vpnIp: number): HostInfo | null {
    const target = this.host.route(vpnIp);
    if (target === 0 || this.stopped) return null;
    const main = this.host.main.byVpnIp.get(target);
    if (main) return main;
    let h = this.pending.byVpnIp.get(target);
    if (!h) {
      h = new HostInfo(target);
      h.initiator = true;
      h.cipher = this.host.cipher;
      this.pending.add(h);
      this.host.counters.initiated.inc();
      this.arm(h, this.settings.tryInterval);
    }
    if (!h.stage1Packet) {
      this.stage0(h);
      if (h.stage1Packet && this.host.isStaticHost(target)) this.trigger(target);
    }
    return h;
  }

  /** Queue a packet on a pending tunnel (max 100; more are dropped). */
  queue(h: HostInfo, p: CachedPacket): boolean {
    if (h.queue.length >= MAX_CACHED_PACKETS) return false;
    h.queue.push(p);
    return true;
  }

  private arm(h: HostInfo, ms: number): void {
    h.clearTimer();
    h.timer = setTimeout(() => {
      h.timer = null;
      this.outbound(h.vpnIp, false);
    }, ms);
  }

  /** Non-blocking push into the trigger channel (dropped when full). */
  trigger(vpnIp: number): void {
    if (this.triggers.length >= this.settings.triggerBuffer) return;
    this.triggers.push(vpnIp);
    if (!this.triggerScheduled) {
      this.triggerScheduled = true;
      setImmediate(() => {
        this.triggerScheduled = false;
        while (this.triggers.length > 0) this.outbound(this.triggers.shift()!, true);
      });
    }
  }

  private stage0(h: HostInfo): void {
    const host = this.host;
    if (!h.remote && host.candidates(h.vpnIp).length === 0) host.queryLighthouse(h.vpnIp);
    const idx = allocateIndex(host.main, this.pending);
    if (idx === 0) {
      host.log.error({ vpnIp: ipv4ToString(h.vpnIp), handshake: hs(0) }, 'Failed to generate index');
      return;
    }
    h.localIndex = idx;
    this.pending.addIndex(h);
    const { priv, pub, certNoKey } = host.pki();
    h.noise = new NoiseHandshake({
      role: 'initiator',
      cipher: h.cipher,
      staticPrivateKey: priv,
      staticPublicKey: pub,
    });
    const payload = encodeHandshake({ details: { cert: certNoKey, initiatorIndex: idx, time: nowNs() } });
    const msg = h.noise.writeMessage(payload);
    const pkt = new Uint8Array(HEADER_LEN + msg.length);
    writeHeader(pkt, 0, MessageType.Handshake, 0, 0, 1);
    pkt.set(msg, HEADER_LEN);
    h.stage1Packet = pkt;
    h.handshakeStart = hrtime.bigint();
    host.emit({ type: 'started', vpnIp: ipv4ToString(h.vpnIp), initiatorIndex: idx });
  }

  /** handshake.md §9, one run for one pending vpnIp. */
  outbound(vpnIp: number, triggered: boolean): void {
    if (this.stopped) return;
    const h = this.pending.byVpnIp.get(vpnIp);
    if (!h) return;
    const host = this.host;
    if (h.ready) {
      this.deletePending(h);
      return;
    }
    if (!h.stage1Packet) {
      if (!triggered) this.arm(h, this.settings.tryInterval * Math.max(1, h.attempts));
      return;
    }
    if (h.attempts >= this.settings.retries) {
      h.logger(host.log).info(
        {
          udpAddrs: host.candidates(vpnIp).map(addrToString),
          initiatorIndex: h.localIndex,
          remoteIndex: h.remoteIndex,
          handshake: hs(1),
          durationNs: Number(hrtime.bigint() - h.handshakeStart),
        },
        'Handshake timed out',
      );
      host.counters.timedOut.inc();
      this.deletePending(h);
      host.emit({ type: 'failed', stage: 1, reason: 'timed out', vpnIp: ipv4ToString(vpnIp) });
      return;
    }
    if (triggered && h.attempts > 0) return;
    const remotes = host.candidates(vpnIp);
    if (remotes.length <= 1) host.queryLighthouse(vpnIp, true);
    for (const a of remotes) host.sendRaw(h.stage1Packet, a, MessageType.Handshake);
    if (remotes.length > 0) {
      h.logger(host.log).info(
        {
          udpAddrs: remotes.map(addrToString),
          initiatorIndex: h.localIndex,
          remoteIndex: h.remoteIndex,
          handshake: hs(1),
        },
        'Handshake message sent',
      );
    }
    h.attempts++;
    if (!triggered) this.arm(h, this.settings.tryInterval * h.attempts);
  }

  deletePending(h: HostInfo): void {
    h.clearTimer();
    this.pending.delete(h);
  }

  /** Stage 1 from a would-be peer (we are the responder). */
  handleStage1(pkt: Uint8Array, addr: UdpAddr): void {
    const host = this.host;
    const udpAddr = addrToString(addr);
    if (!host.remoteAllowed(0, addr)) {
      if (host.log.isLevelEnabled('debug'))
        host.log.debug({ udpAddr }, 'lighthouse.remote_allow_list denied incoming handshake');
      return;
    }
    const { priv, pub, certNoKey } = host.pki();
    const noise = new NoiseHandshake({
      role: 'responder',
      cipher: host.cipher,
      staticPrivateKey: priv,
      staticPublicKey: pub,
    });
    let msg: Uint8Array;
    try {
      msg = noise.readMessage(pkt.subarray(HEADER_LEN));
    } catch (e) {
      host.log.error({ err: errMsg(e), udpAddr, handshake: hs(1) }, 'Failed to call noise.ReadMessage');
      return;
    }
    const d = safeDecode(msg);
    if (!d) {
      host.log.error({ udpAddr, handshake: hs(1) }, 'Failed unmarshal handshake message');
      return;
    }
    let cert: NebulaCertificate;
    try {
      cert = host.verifyPeerCert(d.cert, noise.remoteStaticKey!);
    } catch (e) {
      const peer = peekCert(e);
      host.log.info(
        { err: errMsg(e), error: errMsg(e), udpAddr, handshake: hs(1), cert: peer },
        'Invalid certificate from host',
      );
      host.emit({ type: 'failed', stage: 1, reason: errMsg(e), udpAddr });
      return;
    }
    const vpnIp = cert.vpnIp ?? 0;
    const fields = {
      vpnIp: ipv4ToString(vpnIp),
      udpAddr,
      certName: cert.details.name,
      fingerprint: cert.fingerprint(),
      issuer: cert.details.issuer,
    };
    if (vpnIp === host.myVpnIp) {
      host.log.error({ ...fields, handshake: hs(1) }, 'Refusing to handshake with myself');
      return;
    }
    if (!host.remoteAllowed(vpnIp, addr)) {
      if (host.log.isLevelEnabled('debug'))
        host.log.debug(fields, 'lighthouse.remote_allow_list denied incoming handshake');
      return;
    }
    const myIndex = randomIndex();
    const h = new HostInfo(vpnIp);
    h.localIndex = myIndex;
    h.remoteIndex = d.initiatorIndex;
    h.lastHandshakeTime = d.time;
    h.cipher = host.cipher;
    const idxFields = {
      initiatorIndex: d.initiatorIndex,
      responderIndex: d.responderIndex,
      remoteIndex: readRemoteIndex(pkt),
    };
    host.log.info({ ...fields, ...idxFields, handshake: hs(1) }, 'Handshake message received');

    const reply = encodeHandshake({
      details: {
        cert: certNoKey,
        initiatorIndex: d.initiatorIndex,
        responderIndex: myIndex,
        cookie: d.cookie,
        time: nowNs(),
      },
    });
    let msg2: Uint8Array;
    try {
      msg2 = noise.writeMessage(reply);
    } catch (e) {
      host.log.error({ ...fields, err: errMsg(e), handshake: hs(1) }, 'Failed to call noise.WriteMessage');
      return;
    }
    const out = new Uint8Array(HEADER_LEN + msg2.length);
    writeHeader(out, 0, MessageType.Handshake, 0, d.initiatorIndex, 2);
    out.set(msg2, HEADER_LEN);
    const { k1, k2 } = noise.split();
    h.recvKey = k1;
    h.sendKey = k2;
    h.stage1Body = pkt.slice(HEADER_LEN);
    h.stage2Packet = out;
    h.peerCert = cert;
    h.remote = addr;

    // CheckAndComplete (handshake.md §10).
    const existing = host.main.byVpnIp.get(vpnIp);
    if (existing) {
      if (existing.stage1Body && bytesEqual(existing.stage1Body, h.stage1Body)) {
        if (existing.stage2Packet) {
          host.sendRaw(existing.stage2Packet, addr, MessageType.Handshake);
          host.log.info(
            { vpnIp: fields.vpnIp, udpAddr, handshake: hs(2), cached: true },
            'Handshake message sent',
          );
        }
        return;
      }
      if (existing.lastHandshakeTime >= h.lastHandshakeTime) {
        host.log.info(
          {
            ...fields,
            oldHandshakeTime: existing.lastHandshakeTime.toString(),
            newHandshakeTime: h.lastHandshakeTime.toString(),
            ...idxFields,
            handshake: hs(1),
          },
          'Handshake too old',
        );
        host.sendTest(existing);
        return;
      }
    }
    if (existing) existing.logger(host.log).info('Taking new handshake');
    const collision = host.main.byIndex.get(myIndex) ?? this.pending.byIndex.get(myIndex);
    if (collision) {
      host.log.error(
        {
          ...fields,
          ...idxFields,
          handshake: hs(1),
          localIndex: myIndex,
          collision: ipv4ToString(collision.vpnIp),
        },
        'Failed to add HostInfo due to localIndex collision',
      );
      return;
    }
    const pendingOurs = this.pending.byVpnIp.get(vpnIp);
    if (pendingOurs) {
      // Simultaneous initiation: the handshake started by the higher vpnIp wins.
      if (!(vpnIp > host.myVpnIp)) {
        host.log.error({ ...fields, ...idxFields, handshake: hs(1) }, 'Prevented a pending handshake race');
        return;
      }
      host.log.info(
        { ...fields, ...idxFields, handshake: hs(1) },
        'Handshake race lost, replacing pending handshake with completed tunnel',
      );
      h.queue = pendingOurs.queue;
      pendingOurs.queue = [];
      this.deletePending(pendingOurs);
    }
    const other = host.main.byRemoteIndex.get(h.remoteIndex);
    if (other && other.vpnIp !== vpnIp) {
      host.log.info(
        { ...fields, ...idxFields, handshake: hs(1), collision: ipv4ToString(other.vpnIp) },
        'Host with the same remote index exists',
      );
    }
    host.sendRaw(out, addr, MessageType.Handshake);
    host.log.info(
      { ...fields, ...idxFields, handshake: hs(2), sentCachedPackets: h.queue.length },
      'Handshake message sent',
    );
    host.complete(h, 'responder', existing);
  }

  /** Stage 2 for one of our pending handshakes (we are the initiator). */
  handleStage2(pkt: Uint8Array, addr: UdpAddr, remoteIndex: number): void {
    const host = this.host;
    const h = this.pending.byIndex.get(remoteIndex);
    if (!h) {
      // A retransmitted stage 2 for a tunnel that is already up.
      const done = host.main.byIndex.get(remoteIndex);
      if (done)
        done
          .logger(host.log)
          .info({ udpAddr: addrToString(addr), handshake: hs(2) }, 'Handshake is already complete');
      return;
    }
    const udpAddr = addrToString(addr);
    if (!host.remoteAllowed(h.vpnIp, addr)) {
      if (host.log.isLevelEnabled('debug'))
        host.log.debug(
          { vpnIp: ipv4ToString(h.vpnIp), udpAddr },
          'lighthouse.remote_allow_list denied incoming handshake',
        );
      return;
    }
    if (h.ready) {
      h.logger(host.log).info({ udpAddr, handshake: hs(2) }, 'Handshake is already complete');
      return;
    }
    let msg: Uint8Array;
    try {
      msg = h.noise!.readMessage(pkt.subarray(HEADER_LEN));
    } catch (e) {
      // Keep the pending state: a forged stage 2 must not kill a real handshake.
      host.log.error(
        { err: errMsg(e), vpnIp: ipv4ToString(h.vpnIp), udpAddr, handshake: hs(2) },
        'Failed to call noise.ReadMessage',
      );
      return;
    }
    const d = safeDecode(msg);
    if (!d) {
      host.log.error(
        { vpnIp: ipv4ToString(h.vpnIp), udpAddr, handshake: hs(2) },
        'Failed unmarshal handshake message',
      );
      this.deletePending(h);
      host.emit({ type: 'failed', stage: 2, reason: 'bad payload', vpnIp: ipv4ToString(h.vpnIp), udpAddr });
      return;
    }
    let cert: NebulaCertificate;
    try {
      cert = host.verifyPeerCert(d.cert, h.noise!.remoteStaticKey!);
    } catch (e) {
      host.log.error(
        {
          err: errMsg(e),
          error: errMsg(e),
          vpnIp: ipv4ToString(h.vpnIp),
          udpAddr,
          cert: peekCert(e),
          handshake: hs(2),
        },
        'Invalid certificate from host',
      );
      this.deletePending(h);
      host.emit({ type: 'failed', stage: 2, reason: errMsg(e), vpnIp: ipv4ToString(h.vpnIp), udpAddr });
      return;
    }
    const vpnIp = cert.vpnIp ?? 0;
    if (vpnIp !== h.vpnIp) {
      host.log.info(
        {
          intendedVpnIp: ipv4ToString(h.vpnIp),
          haveVpnIp: ipv4ToString(vpnIp),
          udpAddr,
          certName: cert.details.name,
          handshake: hs(2),
        },
        'Incorrect host responded to handshake',
      );
      this.deletePending(h);
      host.blockRemote(h.vpnIp, addr);
      const fresh = this.getOrHandshake(h.vpnIp);
      if (fresh) {
        fresh.queue = h.queue;
        host.log.info(
          {
            vpnIp: ipv4ToString(vpnIp),
            blockedUdpAddrs: [udpAddr],
            remotes: host.candidates(h.vpnIp).map(addrToString),
          },
          'Blocked addresses for handshakes',
        );
      }
      h.queue = [];
      return;
    }
    const durationNs = Number(hrtime.bigint() - h.handshakeStart);
    host.log.info(
      {
        vpnIp: ipv4ToString(vpnIp),
        udpAddr,
        certName: cert.details.name,
        fingerprint: cert.fingerprint(),
        issuer: cert.details.issuer,
        initiatorIndex: d.initiatorIndex,
        responderIndex: d.responderIndex,
        remoteIndex,
        handshake: hs(2),
        durationNs,
        sentCachedPackets: h.queue.length,
      },
      'Handshake message received',
    );
    const { k1, k2 } = h.noise!.split();
    h.sendKey = k1;
    h.recvKey = k2;
    h.remoteIndex = d.responderIndex;
    h.lastHandshakeTime = d.time;
    h.peerCert = cert;
    h.resetLogger();
    h.remote = addr;
    this.deletePending(h);
    const replaced = host.main.byVpnIp.get(vpnIp);
    host.counters.onDuration(durationNs);
    host.complete(h, 'initiator', replaced);
  }

  /** recv_error cleanup: drop a pending handshake whose remote index is `idx`. */
  deleteByRemoteIndex(idx: number): void {
    for (const h of this.pending.byVpnIp.values()) {
      if (h.remoteIndex === idx) this.deletePending(h);
    }
  }

  deleteVpnIp(vpnIp: number): void {
    const h = this.pending.byVpnIp.get(vpnIp);
    if (h) this.deletePending(h);
  }

  isBlockedFor(vpnIp: number, a: UdpAddr): boolean {
    return this.host.candidates(vpnIp).every((c) => !sameAddr(c, a));
  }
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n + (hrtime.bigint() % 1_000_000n);
}

function readRemoteIndex(pkt: Uint8Array): number {
  return ((pkt[4]! << 24) | (pkt[5]! << 16) | (pkt[6]! << 8) | pkt[7]!) >>> 0;
}

function safeDecode(b: Uint8Array): NebulaHandshakeDetails | null {
  try {
    return decodeHandshake(b).details;
  } catch {
    return null;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The parsed (unverified) peer cert attached to a verification error, for the log. */
function peekCert(e: unknown): unknown {
  const c = (e as { cert?: { toJSON?: () => unknown } } | null)?.cert;
  return c && typeof c.toJSON === 'function' ? c.toJSON() : undefined;
}
