/**
 * Warms a routine worker's data path before its first real packet.
 *
 * V8 optimises the data path only once it has run, and for what it has seen: on a fresh node,
 * pings made TurboFan take it one function per packet, so a fresh node's first 20 pings ran
 * 16–37 % slower than Go's, and code built on ping-only feedback deoptimised at the first bulk
 * transfer (packages/node/README.md, sessions 12 and 13).
 *
 * So, before the worker builds its own data path, two private Routines carry pings, bulk TCP and
 * UDP batches to each other, plus the odd packets the data path hands to the control path. All
 * they touch is of the classes, modes and value ranges the real routine will see, so the code
 * compiled here still fits it: tun queues of the same TSO mode over packet socket pairs, UDP
 * sockets on local addresses, the same AEAD kind and cipher, a Firewall with its Conntrack and
 * ConntrackCaches, TunnelTables, the worker's sink class, settings cloned as workerData is (the
 * real overlay addresses: they never leave this process). Nothing shared is touched: no metrics,
 * no shared conntrack, tunnel table, stats or main-thread messages. What else has to hold for the
 * code to survive the first real packet is in the README ("How it is built").
 */
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { createBatchAead } from '@nebula-ts/aead';
import { Conntrack, ConntrackCache, FirewallPeer } from '@nebula-ts/firewall';
import { PacketPair, Wakeup } from '@nebula-ts/native-common';
import { openPacketQueue, type TunQueue } from '@nebula-ts/tun-linux';
import { openUdpSocket, type UdpSocket } from '@nebula-ts/udp';
import type { Logger } from 'pino';
import { ADDR_WORDS, addrToWords, parseHostPort, type UdpAddr } from './addr.js';
import { blockingIoFor } from './blocking-io.js';
import { NodeError } from './errors.js';
import { buildFirewall, type FirewallShared } from './firewall-adapter.js';
import { HEADER_LEN, MessageType, writeHeader } from './internal/deps.js';
import type { Cipher, UdpSocketLike } from './internal/io-types.js';
import { PostingSink, type PostToMain } from './posting-sink.js';
import { Routine, type RoutineSettings } from './routine.js';
import { allocateTunnelTable, TunnelTable } from './tunnel-table.js';

export interface WarmupOptions {
  /** The real routine's settings: its overlay addresses, batch size and modes. */
  readonly settings: RoutineSettings;
  readonly firewall: FirewallShared;
  /** The real queue's TSO mode. */
  readonly tso: boolean;
  /** The real socket's bind host (decides IPv4 or IPv6 loopback). */
  readonly udpHost: string;
  readonly aead: 'native' | 'node';
  readonly cipher: Cipher;
  readonly logger: Logger;
  /** Time spent carrying packets; default WARMUP_MS. */
  readonly budgetMs?: number;
}

export interface WarmupReport {
  readonly passes: number;
  /** Packets that came out of the far tun end (both directions). */
  readonly delivered: number;
  readonly ms: number;
}

/**
 * How long the warm-up carries packets, and the fewest passes it makes whatever the clock says.
 * Under the `nebula` bin's V8 flags the data path's functions are optimised after 15–40 passes
 * (about 150 ms on a 2-vCPU machine); MIN_PASSES leaves room on a slower one.
 */
export const WARMUP_MS = 200;
const MIN_PASSES = 60;
/** Hard limits: passes, and time (a loaded machine must not hold the node's start for long). */
const MAX_PASSES = 2000;
const MAX_MS = 1500;
/** Ping exchanges per pass: each is one wake of each routine with a lone packet. */
const PINGS_PER_PASS = 8;
/**
 * Pauses at the end let TurboFan's helper threads (at SCHED_IDLE: they run only when a CPU is
 * idle) finish their jobs; the passes after each pause run, and so install, what they finished.
 */
const SETTLE_PAUSES = 2;
const SETTLE_PAUSE_MS = 5;
const SETTLE_PASSES = 5;
/** Turns of both routines per exchange before giving up on quiet. */
const MAX_TURNS = 16;
const VNET_HDR_LEN = 10;
/** The driver's arena: a batch of packets of up to 9 KiB (a merged TSO write is cut short: unread). */
const KERNEL_SLOTS = 64;
const KERNEL_SLOT = 9088;

/** Tunnel indexes: one above 2^31 (a heap number to V8), one a small integer. */
const INDEX_A = 0xa5000001;
const INDEX_B = 0x5a000002;

const ICMP = 1;
const TCP = 6;
const UDP = 17;

/** Drives a warm-up; see the file comment. Throws NodeError ERR_NODE_WARMUP when it cannot run. */
export function warmDataPath(o: WarmupOptions): WarmupReport {
  const started = performance.now();
  detachOneBuffer();
  const s = o.settings;
  const myIp = s.vpnIp >>> 0;
  const peerIp = otherAddressIn(s);
  if (peerIp === null) throw new NodeError('ERR_NODE_WARMUP', 'the overlay network has no second address');
  const noTunnelIp = otherAddressIn(s, [peerIp]);
  const loopback = o.udpHost.includes(':') ? '::1' : '127.0.0.1';
  // b answers from an address of 128.0.0.0 and up where the host has one: underlay addresses are
  // uint32s that V8 holds as doubles from there on, and code that only ever saw 127.0.0.1
  // speculates small integers and deoptimises at the first peer such as 198.51.100.1.
  const farHost = loopback === '127.0.0.1' ? (highLocalIpv4() ?? loopback) : loopback;
  const closers: Array<() => void> = [];
  try {
    // As in a node: the control path sets tunnels up on its own TunnelTable, the routine reads
    // them through another over the same shared memory (a table's window objects differ by how
    // they were made: the control path's come from resetWindow).
    const buffers = allocateTunnelTable(2, s.index + 1);
    const control = new TunnelTable(buffers);
    const a = openSide(o, new TunnelTable(buffers), loopback, myIp, closers);
    const b = openSide(o, new TunnelTable(buffers), farHost, peerIp, closers);
    const stranger = openUdpSocket({ host: loopback, port: 0, batch: 4 });
    closers.push(() => stranger.close());
    // Slot 0: a's tunnel to b; slot 1: b's to a. Local index of one is the remote index of the
    // other. Indexes are random 32-bit values in a node: one of each V8 representation here.
    const [ia, ib] = [INDEX_A, INDEX_B];
    const [kab, kba] = [new Uint8Array(randomBytes(32)), new Uint8Array(randomBytes(32))];
    control.establish(0, peerIp, ia, ib, o.cipher, b.addr);
    control.establish(1, myIp, ib, ia, o.cipher, a.addr);
    a.routine.install(0, peerIp, ia, o.cipher, kab, kba, peerFor(peerIp, s));
    b.routine.install(1, myIp, ib, o.cipher, kba, kab, peerFor(myIp, s));
    control.activate(0);
    control.activate(1);
    a.routine.startBlocking(a.io, { loop: false });
    b.routine.startBlocking(b.io, { loop: false });

    const driver = new Driver(o.tso, s.batch, a, b, stranger, myIp, peerIp, noTunnelIp);
    // The first pass tells whether local traffic works at all.
    const noRoute = `no packet crossed ${loopback}${farHost === loopback ? '' : ` and ${farHost}`} (is the loopback interface up?)`;
    try {
      driver.pass();
    } catch (e) {
      throw new NodeError('ERR_NODE_WARMUP', `${noRoute}: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
    if (driver.delivered === 0) throw new NodeError('ERR_NODE_WARMUP', noRoute);
    let passes = 1;
    const budget = o.budgetMs ?? WARMUP_MS;
    for (;;) {
      const ms = performance.now() - started;
      if (passes >= MAX_PASSES || ms >= MAX_MS || (passes >= MIN_PASSES && ms >= budget)) break;
      driver.pass();
      passes++;
    }
    for (let i = 0; i < SETTLE_PAUSES; i++) {
      pause(SETTLE_PAUSE_MS);
      for (let j = 0; j < SETTLE_PASSES; j++) driver.pass();
      passes += SETTLE_PASSES;
    }
    return { passes, delivered: driver.delivered, ms: Math.round(performance.now() - started) };
  } catch (e) {
    if (e instanceof NodeError) throw e;
    throw new NodeError('ERR_NODE_WARMUP', e instanceof Error ? e.message : String(e), { cause: e });
  } finally {
    for (const close of closers.reverse()) {
      try {
        close();
      } catch {
        // best effort: the warm-up's own fds
      }
    }
  }
}

interface Side {
  readonly routine: Routine;
  readonly io: ReturnType<typeof blockingIoFor>;
  readonly addr: UdpAddr;
  /** The kernel's end of the tun queue's packet pair, as a plain queue: batches in one call. */
  readonly kernel: TunQueue;
}

function openSide(
  o: WarmupOptions,
  table: TunnelTable,
  host: string,
  vpnIp: number,
  closers: Array<() => void>,
): Side {
  const pair = new PacketPair();
  closers.push(() => pair.close());
  const tun: TunQueue = openPacketQueue(pair.release(0), { tso: o.tso, name: 'warmup' });
  closers.push(() => tun.close());
  const kernel = openPacketQueue(pair.release(1), { name: 'warmup-kernel' });
  closers.push(() => kernel.close());
  const udp = openUdpSocket({ host, port: 0, batch: o.settings.batch });
  closers.push(() => udp.close());
  const wakeup = new Wakeup();
  closers.push(() => wakeup.close());
  const aead = createBatchAead(o.aead);
  closers.push(() => aead.close());
  const conntrack = Conntrack.create({ capacity: 1024 });
  const caching = o.firewall.cacheTimeoutMs > 0;
  const firewall = buildFirewall(
    {
      ...o.firewall,
      firewallRaw: allowAll(o.firewall.firewallRaw),
      localNets: [{ addr: vpnIp, mask: 0xffffffff }],
    },
    conntrack,
  );
  // Cloned as workerData is, so the settings object has the real one's map.
  const settings = structuredClone({ ...o.settings, vpnIp }) as RoutineSettings;
  const routine = new Routine({
    settings,
    table,
    aead,
    tun,
    udp: udp as unknown as UdpSocketLike,
    sink: new PostingSink(discard),
    logger: o.logger,
    firewall,
    cacheIn: caching ? new ConntrackCache(conntrack) : null,
    cacheOut: caching ? new ConntrackCache(conntrack) : null,
  });
  closers.push(() => routine.stop());
  const addr = parseHostPort(host, udp.port);
  if (addr === null) throw new Error(`cannot address ${host}`);
  return { routine, io: blockingIoFor(udp.fd, tun.fd, wakeup.fd), addr, kernel };
}

/** The first IPv4 address of 128.0.0.0 and up on an interface of this host, if any. */
function highLocalIpv4(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv4' && !a.internal && Number(a.address.split('.')[0]) >= 128) return a.address;
    }
  }
  return null;
}

/** An arrow function, as the worker's `post` is: a function declaration has another V8 map. */
const discard: PostToMain = () => undefined;

/**
 * While no ArrayBuffer of the isolate has ever been detached, TurboFan leaves detach checks out of
 * typed-array accesses, and the first detach throws away every function compiled that way. A
 * worker detaches its first buffer when it posts its first control packet (transferred): at the
 * first handshake, which would discard all the warm-up compiled. One detach now, before anything
 * is compiled, and the code is what it would have been after that handshake.
 */
function detachOneBuffer(): void {
  const b = new ArrayBuffer(1);
  structuredClone(b, { transfer: [b] });
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** An address of the overlay network other than the node's own, the network's and `not`. */
function otherAddressIn(s: RoutineSettings, not: readonly number[] = []): number | null {
  const hosts = ~s.netMask >>> 0;
  for (let k = 1; k < Math.min(hosts, 8); k++) {
    const ip = (s.netAddr + k) >>> 0;
    if (ip !== s.vpnIp >>> 0 && !not.includes(ip)) return ip;
  }
  return null;
}

/** The configured conntrack timeouts, every packet allowed both ways. */
function allowAll(raw: unknown): unknown {
  const any = [{ port: 'any', proto: 'any', host: 'any' }];
  return { ...(raw as Record<string, unknown>), outbound: any, inbound: any };
}

function peerFor(ip: number, s: RoutineSettings): FirewallPeer {
  return new FirewallPeer({
    name: 'warmup',
    groups: ['warmup'],
    issuer: '',
    ips: [{ addr: ip, mask: s.netMask }],
    subnets: [],
  });
}

/**
 * Plays the kernel at both tun ends and a stranger on the underlay: writes packets in, turns the
 * two routines until both are quiet, and reads what came out.
 */
class Driver {
  delivered = 0;
  private readonly buf = new Uint8Array(KERNEL_SLOTS * KERNEL_SLOT);
  private readonly offsets = new Uint32Array(KERNEL_SLOTS);
  private readonly lengths = new Uint32Array(KERNEL_SLOTS);
  private readonly addrs = new Uint32Array(KERNEL_SLOTS * ADDR_WORDS);
  private readonly strangerAddr = new Uint32Array(ADDR_WORDS);
  private readonly dgram = new Uint8Array(HEADER_LEN + 32);
  private seq = 1;
  private round = 0;

  constructor(
    private readonly tso: boolean,
    private readonly batch: number,
    private readonly a: Side,
    private readonly b: Side,
    private readonly stranger: UdpSocket,
    private readonly ipA: number,
    private readonly ipB: number,
    private readonly noTunnelIp: number | null,
  ) {
    addrToWords(b.addr, this.strangerAddr, 0);
    for (let i = 0; i < KERNEL_SLOTS; i++) this.offsets[i] = i * KERNEL_SLOT + 16;
  }

  /**
   * One pass: pings and their replies, one packet per wake as an interactive link sees them; a
   * burst of bulk TCP one way with ACKs the other (the way alternates); a UDP batch; and every
   * 8th pass the odd cases.
   */
  pass(): void {
    const { a, b, ipA, ipB } = this;
    const full = Math.max(1, Math.min(KERNEL_SLOTS, this.batch));
    for (let i = 0; i < PINGS_PER_PASS; i++) {
      this.write(a, ipA, ipB, ICMP, 56, 1);
      this.exchange();
      this.write(b, ipB, ipA, ICMP, 56, 1);
      this.exchange();
    }
    const [x, y] = (this.round & 1) === 0 ? [a, b] : [b, a];
    const [ipX, ipY] = x === a ? [ipA, ipB] : [ipB, ipA];
    this.write(x, ipX, ipY, TCP, 1240, full);
    this.write(y, ipY, ipX, TCP, 0, Math.max(1, full >> 1));
    this.exchange();
    this.write(y, ipY, ipX, UDP, 100, Math.max(1, full >> 2));
    this.write(x, ipX, ipY, UDP, 100, 1);
    this.exchange();
    if ((this.round++ & 7) === 0) this.oddCases();
  }

  /** What the data path hands to the control path or drops, a few of each. */
  private oddCases(): void {
    const { a, ipA, ipB } = this;
    if (this.noTunnelIp !== null) this.write(a, ipA, this.noTunnelIp, ICMP, 56, 1); // no tunnel yet
    this.write(a, ipA, ipA, ICMP, 56, 1); // to ourselves
    this.write(a, ipA, ipB, 0, -1, 1); // not an IP packet
    // Underlay: a runt, a handshake-type packet, an unknown index, a replayed counter.
    const d = this.dgram;
    d.fill(0);
    this.sendStranger(5);
    writeHeader(d, 0, MessageType.Handshake, 0, 0, 1);
    this.sendStranger(HEADER_LEN + 32);
    writeHeader(d, 0, MessageType.Message, 0, 0x5a0000ff, 3);
    this.sendStranger(HEADER_LEN + 32);
    writeHeader(d, 0, MessageType.Message, 0, INDEX_B, 1);
    this.sendStranger(HEADER_LEN + 32);
    this.exchange();
    // The recv_error the replay earned.
    this.stranger.recvBatch(this.buf, this.offsets, this.lengths, this.addrs, KERNEL_SLOTS, KERNEL_SLOT - 32);
  }

  private sendStranger(len: number): void {
    this.stranger.sendTo(this.dgram, 0, len, this.strangerAddr, 0);
  }

  /** Turns both routines until neither finds anything, then empties both kernel ends. */
  private exchange(): void {
    for (let t = 0; t < MAX_TURNS; t++) {
      const ready = this.a.routine.turn(0) | this.b.routine.turn(0);
      if (ready === 0) break;
    }
    this.drain(this.a);
    this.drain(this.b);
  }

  private drain(side: Side): void {
    for (let i = 0; i < 8; i++) {
      const n = side.kernel.read(this.buf, this.offsets, this.lengths, KERNEL_SLOTS, KERNEL_SLOT - 32);
      this.delivered += n;
      if (n < KERNEL_SLOTS) return;
    }
  }

  /**
   * Writes `count` IPv4 packets from `src` to `dst` into the side's tun, as the kernel would
   * (`payload` -1: a 3-byte runt instead). A full pair drops the rest, as a full queue would.
   */
  private write(side: Side, src: number, dst: number, proto: number, payload: number, count: number): void {
    const head = this.tso ? VNET_HDR_LEN : 0;
    for (let i = 0; i < count; i++) {
      const off = this.offsets[i]!;
      if (payload < 0) {
        this.buf.fill(0, off, off + head + 3);
        this.lengths[i] = head + 3;
      } else {
        this.lengths[i] = ipv4Packet(this.buf, off, head, src, dst, proto, payload, this.seq);
        this.seq = (this.seq + payload + 1) >>> 0;
      }
    }
    try {
      side.kernel.write(this.buf, this.offsets, this.lengths, count);
    } catch {
      // EAGAIN on a full pair: the routine reads the rest next turn
    }
  }
}

/**
 * An IPv4 packet at `buf[at + head]`, after `head` zero bytes (a virtio_net_hdr asking for no
 * offload): ICMP echo, UDP or TCP (ACK, PSH with payload) from port 40000 to 5201. Returns the
 * length from `at`. Checksums stay zero: nothing on this path checks them.
 */
function ipv4Packet(
  buf: Uint8Array,
  at: number,
  head: number,
  src: number,
  dst: number,
  proto: number,
  payload: number,
  seq: number,
): number {
  const l4 = proto === TCP ? 20 : 8;
  const total = 20 + l4 + payload;
  buf.fill(0, at, at + head + 20 + l4);
  const v = new DataView(buf.buffer, buf.byteOffset + at + head);
  v.setUint8(0, 0x45);
  v.setUint16(2, total);
  v.setUint8(8, 64);
  v.setUint8(9, proto);
  v.setUint32(12, src >>> 0);
  v.setUint32(16, dst >>> 0);
  if (proto === ICMP) {
    v.setUint8(20, 8);
    v.setUint16(24, 0x4e54);
    v.setUint16(26, seq & 0xffff);
  } else {
    v.setUint16(20, 40000);
    v.setUint16(22, 5201);
    if (proto === UDP) v.setUint16(24, l4 + payload);
    else {
      v.setUint32(24, seq >>> 0);
      v.setUint32(28, 1);
      v.setUint8(32, 5 << 4);
      v.setUint8(33, payload > 0 ? 0x18 : 0x10);
      v.setUint16(34, 65535);
    }
  }
  return head + total;
}
