/**
 * A Nebula 1.6.1 peer for hostile tests: it handshakes as the initiator (Noise IX) with a
 * certificate we choose, then sends crafted packets on the tunnel and reads the answers.
 *
 *   const agent = await ProbeAgent.start({ ns: net.ns('p'), dir: net.dir });
 *   const probe = new NebulaProbe(agent, { target: '198.51.100.11:4242', certPem, keyPem });
 *   await probe.handshake();
 *   await probe.ping('203.0.113.11'); // ICMP echo through the tunnel, answered by the node's kernel
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Datagram, ProbeAgent } from './agent.js';
import { aeadOpen, aeadSeal, IxInitiator, type ProbeCipher, x25519FromRaw, x25519Generate } from './noise.js';
import {
  CERT_PEM,
  certForHandshake,
  certVpnIp,
  icmpEcho,
  ipToU32,
  parseEchoReply,
  pemBytes,
  X25519_KEY_PEM,
} from './packets.js';
import { concat, fieldBytes, fieldVarint, firstField, readFields } from './pb.js';

export const PROBE_TYPE = {
  Handshake: 0,
  Message: 1,
  RecvError: 2,
  LightHouse: 3,
  Test: 4,
  CloseTunnel: 5,
  Control: 6,
} as const;

export interface ProbeHeader {
  readonly version: number;
  readonly type: number;
  readonly subtype: number;
  readonly remoteIndex: number;
  readonly counter: bigint;
}

export function probeHeader(
  type: number,
  subtype: number,
  remoteIndex: number,
  counter: bigint | number,
): Uint8Array {
  const b = Buffer.alloc(16);
  b[0] = 0x10 | (type & 0x0f);
  b[1] = subtype;
  b.writeUInt32BE(remoteIndex >>> 0, 4);
  b.writeBigUInt64BE(BigInt(counter), 8);
  return new Uint8Array(b);
}

export function readProbeHeader(d: Uint8Array): ProbeHeader | null {
  if (d.length < 16) return null;
  const b = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  return {
    version: (d[0] as number) >> 4,
    type: (d[0] as number) & 15,
    subtype: d[1] as number,
    remoteIndex: b.readUInt32BE(4),
    counter: b.readBigUInt64BE(8),
  };
}

export interface NebulaProbeOptions {
  /** The node's underlay "ip:port". */
  readonly target: string;
  /** PEM text of the certificate to present (need not be valid: that is the point). */
  readonly certPem: string;
  /** PEM text of the X25519 private key matching it (or any key, for forged identities). */
  readonly keyPem: string;
  readonly cipher?: ProbeCipher;
  /** Our vpnIp (default: the certificate's first IP). */
  readonly vpnIp?: string;
}

export interface Opened {
  readonly header: ProbeHeader;
  /** Decrypted payload, or the raw body for types that are not sealed / when not authentic. */
  readonly payload: Uint8Array | null;
  readonly datagram: Datagram;
}

export class HandshakeRefused extends Error {}

/** One tunnel from the probe's socket to one node. */
export class NebulaProbe {
  readonly cipher: ProbeCipher;
  readonly certRaw: Uint8Array;
  readonly vpnIp: number;
  private readonly staticKey;
  /** Our index (the node writes it in the header of everything it sends us). */
  localIndex = 0;
  /** The node's index (we write it in our headers). */
  remoteIndex = 0;
  /** Last counter we sent. */
  counter = 2n;
  private k1: Uint8Array | null = null;
  private k2: Uint8Array | null = null;
  peerCert: Uint8Array | null = null;
  private icmpSeq = 1;
  private readonly icmpId = randomInt(1, 0xffff);

  constructor(
    readonly agent: ProbeAgent,
    readonly opts: NebulaProbeOptions,
  ) {
    this.cipher = opts.cipher ?? 'aes';
    this.certRaw = pemBytes(opts.certPem, CERT_PEM);
    this.vpnIp = opts.vpnIp ? ipToU32(opts.vpnIp) : certVpnIp(this.certRaw);
    this.staticKey = x25519FromRaw(pemBytes(opts.keyPem, X25519_KEY_PEM));
  }

  get established(): boolean {
    return this.k1 !== null;
  }

  /** A complete stage-1 packet (header counter 1, remote index 0) with a fresh ephemeral key. */
  stage1(opts: { initiatorIndex?: number; cert?: Uint8Array; time?: bigint; staticRandom?: boolean } = {}): {
    packet: Uint8Array;
    ix: IxInitiator;
    index: number;
  } {
    const index = opts.initiatorIndex ?? randomInt(1, 2 ** 32 - 1);
    const ix = new IxInitiator(this.cipher, opts.staticRandom ? x25519Generate() : this.staticKey);
    const details = concat(
      fieldBytes(1, certForHandshake(opts.cert ?? this.certRaw)),
      fieldVarint(2, index),
      fieldVarint(5, opts.time ?? BigInt(Date.now()) * 1_000_000n),
    );
    const payload = fieldBytes(1, details, true);
    return { packet: concat(probeHeader(PROBE_TYPE.Handshake, 0, 0, 1), ix.writeStage1(payload)), ix, index };
  }

  /**
   * Handshakes with the target; resolves once stage 2 was read and the keys are split. Throws
   * `HandshakeRefused` when no stage 2 comes back within `timeoutMs` (retransmits like Go: every
   * `retryMs`, byte-identical).
   */
  async handshake(opts: { timeoutMs?: number; retryMs?: number; cert?: Uint8Array } = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    const { packet, ix, index } = this.stage1(opts.cert ? { cert: opts.cert } : {});
    const from = this.agent.cursor;
    const deadline = Date.now() + timeoutMs;
    let reply: Datagram | undefined;
    for (let i = 0; i < 100 && Date.now() < deadline && !reply; i++) {
      await this.agent.send(this.opts.target, [packet]);
      reply = await this.agent.waitFor(
        (d) => {
          const h = readProbeHeader(d.data);
          return h !== null && h.type === PROBE_TYPE.Handshake && h.remoteIndex === index && h.counter === 2n;
        },
        Math.min(opts.retryMs ?? 1000, Math.max(1, deadline - Date.now())),
        from,
      );
    }
    if (!reply) throw new HandshakeRefused(`no stage 2 from ${this.opts.target} within ${timeoutMs} ms`);
    const { payload, remoteStatic } = ix.readStage2(reply.data.subarray(16));
    const hs = firstField(readFields(payload), 1);
    if (!hs) throw new Error('stage 2 payload has no details');
    const det = readFields(hs.bytes);
    this.remoteIndex = Number(firstField(det, 3)?.int ?? 0n);
    this.peerCert = firstField(det, 1)?.bytes ?? null;
    void remoteStatic;
    const { k1, k2 } = ix.split();
    this.k1 = k1;
    this.k2 = k2;
    this.localIndex = index;
    this.counter = 2n;
  }

  /** A sealed transport packet (type/subtype/payload) with the next counter, or `counter` as given. */
  seal(
    type: number,
    subtype: number,
    payload: Uint8Array,
    opts: { counter?: bigint; remoteIndex?: number } = {},
  ): Uint8Array {
    if (!this.k1) throw new Error('probe: no tunnel');
    const counter = opts.counter ?? ++this.counter;
    const h = probeHeader(type, subtype, opts.remoteIndex ?? this.remoteIndex, counter);
    return concat(h, aeadSeal(this.cipher, this.k1, counter, payload, h));
  }

  async send(packets: Uint8Array | readonly Uint8Array[]): Promise<void> {
    await this.agent.send(this.opts.target, packet_list(packets));
  }

  /** Decrypts a datagram from the node addressed to our tunnel (null payload: not authentic). */
  open(d: Datagram): Opened | null {
    const h = readProbeHeader(d.data);
    if (!h) return null;
    let payload: Uint8Array | null = null;
    if (
      this.k2 &&
      h.type !== PROBE_TYPE.Handshake &&
      h.type !== PROBE_TYPE.RecvError &&
      h.type !== PROBE_TYPE.CloseTunnel
    )
      payload = aeadOpen(this.cipher, this.k2, h.counter, d.data.subarray(16), d.data.subarray(0, 16));
    else payload = d.data.subarray(16);
    return { header: h, payload, datagram: d };
  }

  /** Waits for an authentic packet on our tunnel matching `pred`. */
  async recv(
    pred: (o: Opened) => boolean,
    timeoutMs: number,
    from = this.agent.cursor,
  ): Promise<Opened | undefined> {
    let hit: Opened | undefined;
    await this.agent.waitFor(
      (d) => {
        const h = readProbeHeader(d.data);
        if (!h || h.remoteIndex !== this.localIndex) return false;
        const o = this.open(d);
        if (o && o.payload && pred(o)) {
          hit = o;
          return true;
        }
        return false;
      },
      timeoutMs,
      from,
    );
    return hit;
  }

  /** An ICMP echo request packet to `dst` (overlay IP) sealed on the tunnel; returns it and its seq. */
  echoPacket(
    dst: string,
    opts: { counter?: bigint; payloadLen?: number } = {},
  ): { packet: Uint8Array; seq: number } {
    const seq = this.icmpSeq++ & 0xffff;
    const ip = icmpEcho(this.vpnIp, ipToU32(dst), this.icmpId, seq, opts.payloadLen ?? 32);
    return {
      packet: this.seal(
        PROBE_TYPE.Message,
        0,
        ip,
        opts.counter !== undefined ? { counter: opts.counter } : {},
      ),
      seq,
    };
  }

  /** Waits for the echo reply with `seq` on our tunnel. */
  async waitEchoReply(seq: number, timeoutMs: number, from?: number): Promise<boolean> {
    const o = await this.recv(
      (x) => {
        if (x.header.type !== PROBE_TYPE.Message || !x.payload) return false;
        const r = parseEchoReply(x.payload);
        return r !== null && r.id === this.icmpId && r.seq === seq;
      },
      timeoutMs,
      from,
    );
    return o !== undefined;
  }

  /** ICMP echo to `dst` through the tunnel, retried up to `tries` times; true when answered. */
  async ping(dst: string, opts: { timeoutMs?: number; tries?: number } = {}): Promise<boolean> {
    const tries = opts.tries ?? 3;
    for (let i = 0; i < tries; i++) {
      const from = this.agent.cursor;
      const { packet, seq } = this.echoPacket(dst);
      await this.send(packet);
      if (await this.waitEchoReply(seq, opts.timeoutMs ?? 2000, from)) return true;
    }
    return false;
  }

  /** A Test request on the tunnel; true when a Test reply comes back. */
  async test(timeoutMs = 2000): Promise<boolean> {
    const from = this.agent.cursor;
    await this.send(this.seal(PROBE_TYPE.Test, 0, new Uint8Array(0)));
    return (
      (await this.recv(
        (o) => o.header.type === PROBE_TYPE.Test && o.header.subtype === 1,
        timeoutMs,
        from,
      )) !== undefined
    );
  }

  /** recv_errors from the node carrying `index` (default: the node's index we use). */
  async waitRecvError(timeoutMs: number, from: number, index = this.remoteIndex): Promise<boolean> {
    const d = await this.agent.waitFor(
      (x) => {
        const h = readProbeHeader(x.data);
        return h !== null && h.type === PROBE_TYPE.RecvError && h.remoteIndex === index;
      },
      timeoutMs,
      from,
    );
    return d !== undefined;
  }

  /** A lighthouse message (NebulaMeta) on the tunnel. */
  lighthousePacket(meta: Uint8Array): Uint8Array {
    return this.seal(PROBE_TYPE.LightHouse, 0, meta);
  }

  /** Random bytes (for garbage packets). */
  static random(n: number): Uint8Array {
    return new Uint8Array(randomBytes(n));
  }
}

function packet_list(p: Uint8Array | readonly Uint8Array[]): readonly Uint8Array[] {
  return p instanceof Uint8Array ? [p] : p;
}

/** NebulaMeta encoders (lighthouse.md): HostQuery, HostUpdateNotification. */
export const Meta = {
  HostQuery: 1,
  HostQueryReply: 2,
  HostUpdateNotification: 3,
  HostMovedNotification: 4,
  HostPunchNotification: 5,
  hostQuery(vpnIp: number): Uint8Array {
    return concat(fieldVarint(1, 1), fieldBytes(2, fieldVarint(1, vpnIp), true));
  },
  hostUpdate(vpnIp: number, addrs: readonly { ip: number; port: number }[]): Uint8Array {
    const a = addrs.map((x) => fieldBytes(2, concat(fieldVarint(1, x.ip), fieldVarint(2, x.port)), true));
    return concat(fieldVarint(1, 3), fieldBytes(2, concat(fieldVarint(1, vpnIp), ...a), true));
  },
  /** {type, vpnIp, v4 addrs} of a NebulaMeta. */
  decode(b: Uint8Array): { type: number; vpnIp: number; addrs: { ip: number; port: number }[] } {
    const f = readFields(b);
    const type = Number(firstField(f, 1)?.int ?? 0n);
    const det = firstField(f, 2);
    const df = det ? readFields(det.bytes) : [];
    const addrs = df
      .filter((x) => x.num === 2)
      .map((x) => {
        const g = readFields(x.bytes);
        return { ip: Number(firstField(g, 1)?.int ?? 0n), port: Number(firstField(g, 2)?.int ?? 0n) };
      });
    return { type, vpnIp: Number(firstField(df, 1)?.int ?? 0n), addrs };
  },
};
