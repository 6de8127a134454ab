/**
 * Regression for the "deaf after a handshake flood" DoS. An exception escaping the routine's
 * readiness callback (or thrown by a nextTick / microtask drained at its end) is swallowed by the
 * native poller's MakeCallback and left pending in the addon's N-API env; from then on libuv
 * readiness callbacks are silently dropped and the node never reads its UDP socket again while
 * the process stays alive. The routine must fence every callback, isolate per-packet control
 * hand-offs, keep counting, and (watchdog) keep reading even when callbacks stop coming.
 */
import dgram from 'node:dgram';
import { createBatchAead } from '@nebula-ts/aead';
import { nowNanos, writeHeader } from '@nebula-ts/protocol';
import { openUdpSocket, type UdpSocket } from '@nebula-ts/udp';
import { afterEach, describe, expect, it } from 'vitest';
import {
  allocateTunnelTable,
  type ControlSink,
  NebulaNode,
  Routine,
  type RoutineSettings,
  TunnelTable,
} from '../src/index.js';
import type { UdpSocketLike } from '../src/internal/io-types.js';
import { Stat } from '../src/tunnel-table.js';
import {
  captureLogger,
  config,
  freePort,
  ip,
  makeCa,
  makeHost,
  rawNode,
  stage1Packet,
  until,
} from './support.js';

const ALLOW = { drop: () => 0 };
const warned: unknown[] = [];
const quiet = {
  isLevelEnabled: () => false,
  debug() {},
  error() {},
  info() {},
  warn(o: unknown) {
    warned.push(o);
  },
} as never;

const SETTINGS: RoutineSettings = {
  index: 0,
  batch: 16,
  vpnIp: ip('203.0.113.1'),
  netAddr: ip('203.0.113.0'),
  netMask: ip('255.255.255.0'),
  dropLocalBroadcast: false,
  dropMulticast: false,
  sendRecvError: 'always',
  unsafeRoutes: [],
};

class IdleTun {
  read(): number {
    return 0;
  }
  write(_b: Uint8Array, _o: Uint32Array, _l: Uint32Array, count: number): number {
    return count;
  }
  onReadable(): void {}
  pause(): void {}
  close(): void {}
}

/** A stage-1-looking handshake packet carrying a sequence number in its body. */
function handshake(seq: number): Buffer {
  const b = Buffer.alloc(16 + 4);
  b[0] = 0x10; // version 1, type 0 (handshake)
  b[1] = 0;
  b.writeUInt32BE(0, 4);
  b.writeUInt32BE(1, 12); // counter 1 = stage 1
  b.writeUInt32BE(seq, 16);
  return b;
}

type Behaviour = (seq: number) => void;

function makeRoutine(udp: UdpSocketLike, onControl: Behaviour) {
  const table = new TunnelTable(allocateTunnelTable(8, 1));
  const seen: number[] = [];
  const sink: ControlSink = {
    controlPacket: (_r, buf, off, len) => {
      const seq = len >= 20 ? Buffer.from(buf.buffer, buf.byteOffset + off + 16, 4).readUInt32BE(0) : -1;
      seen.push(seq);
      onControl(seq);
    },
    needTunnel: () => undefined,
    roamed: () => undefined,
    exhausted: () => undefined,
  };
  const routine = new Routine({
    settings: SETTINGS,
    table,
    aead: createBatchAead('node'),
    tun: new IdleTun(),
    udp,
    sink,
    logger: quiet,
    firewall: ALLOW,
  });
  return { routine, table, seen };
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

/** In-memory socket: `recvBatch` can be told to throw. */
class FakeUdp {
  readonly inbox: Buffer[] = [];
  cb: (() => void) | null = null;
  throwNextRecv = 0;
  recvBatch(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    addrs: Uint32Array,
    max: number,
  ): number {
    if (this.throwNextRecv > 0) {
      this.throwNextRecv--;
      throw new Error('recvmmsg failed (test)');
    }
    let n = 0;
    while (n < max && this.inbox.length) {
      const p = this.inbox.shift()!;
      buf.set(p, offsets[n]!);
      lengths[n] = p.length;
      addrs.set([4, 4242, ip('198.51.100.9'), 0, 0, 0], n * 6);
      n++;
    }
    return n;
  }
  sendBatch(_b: Uint8Array, _o: Uint32Array, _l: Uint32Array, _a: Uint32Array, count: number): number {
    return count;
  }
  sendTo(): void {
    throw new Error('EPERM (test)');
  }
  onReadable(cb: () => void): void {
    this.cb = cb;
  }
  close(): void {}
  /** What the poller would do: call the readiness callback (which must never throw). */
  fire(): void {
    this.cb!();
  }
}

describe('routine receive loop survives throwing handlers (in-memory)', () => {
  it('a control handler that throws mid-burst costs only that packet; later packets and bursts are processed', () => {
    const udp = new FakeUdp();
    const throwOn = new Set([3, 17, 40, 41, 42]);
    const { routine, table, seen } = makeRoutine(udp as unknown as UdpSocketLike, (seq) => {
      if (throwOn.has(seq)) throw new Error(`handler failed on ${seq}`);
    });
    routine.start();
    try {
      for (let i = 0; i < 100; i++) udp.inbox.push(handshake(i));
      expect(() => udp.fire()).not.toThrow();
      // 100 packets, batch 16: all within MAX_ROUNDS (8 × 16) in one wake-up
      expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(routine.handlerErrors).toBe(throwOn.size);
      expect(table.stats[Stat.HandlerErrors]).toBe(throwOn.size);
      // and the loop is still alive for the next readiness
      udp.inbox.push(handshake(1000));
      udp.fire();
      expect(seen.at(-1)).toBe(1000);
    } finally {
      routine.stop();
    }
  });

  it('a recvBatch that throws does not escape the callback and the next readiness reads again', () => {
    const udp = new FakeUdp();
    const { routine, seen } = makeRoutine(udp as unknown as UdpSocketLike, () => undefined);
    routine.start();
    try {
      udp.inbox.push(handshake(1), handshake(2));
      udp.throwNextRecv = 1;
      expect(() => udp.fire()).not.toThrow();
      expect(seen).toEqual([]);
      udp.fire();
      expect(seen).toEqual([1, 2]);
      expect(routine.handlerErrors).toBe(1);
    } finally {
      routine.stop();
    }
  });

  it('a failing recv_error send does not end the batch', () => {
    const udp = new FakeUdp();
    const { routine, table, seen } = makeRoutine(udp as unknown as UdpSocketLike, () => undefined);
    // slot 2 ready for index 7, so a replayed counter takes the recv_error branch in the routine
    table.init(2, ip('203.0.113.2'), 7, 8, 0, 2);
    table.resetWindow(2);
    table.writeAddr(2, { family: 4, port: 4242, w: [ip('198.51.100.9'), 0, 0, 0] });
    routine.install(2, ip('203.0.113.2'), 7, 'aes', new Uint8Array(32), new Uint8Array(32), {});
    table.activate(2);
    table.windows[2]!.update(5);
    routine.start();
    try {
      const replay = Buffer.alloc(48);
      replay[0] = 0x11; // message
      replay.writeUInt32BE(7, 4);
      replay.writeUInt32BE(5, 12); // already seen → recv_error → sendTo throws
      udp.inbox.push(replay, handshake(9));
      expect(() => udp.fire()).not.toThrow();
      expect(seen).toEqual([9]);
      expect(routine.handlerErrors).toBe(1);
    } finally {
      routine.stop();
    }
  });
});

describe('routine receive watchdog', () => {
  it('reads packets even when readiness callbacks stop coming (a poller left dead by a late throw)', async () => {
    const udp = new FakeUdp();
    const { routine, seen } = makeRoutine(udp as unknown as UdpSocketLike, () => undefined);
    routine.start();
    try {
      // Never fire(): this is what a readiness callback suppressed by a pending N-API
      // exception looks like from the routine's side (a throw from a nextTick / microtask
      // drained after our callback returned cannot be caught by the routine itself).
      for (let i = 0; i < 40; i++) udp.inbox.push(handshake(i));
      expect(await waitFor(() => seen.length === 40, 2500)).toBe(true);
      // and a stale exception rethrown by the next call into the addon is absorbed
      udp.throwNextRecv = 1;
      udp.inbox.push(handshake(99));
      expect(await waitFor(() => seen.includes(99), 4000)).toBe(true);
      expect(routine.handlerErrors).toBe(1);
    } finally {
      routine.stop();
    }
  }, 10_000);
});

describe('routine receive loop on a real socket (native poller)', () => {
  let sock: UdpSocket | null = null;
  let client: dgram.Socket | null = null;
  let routine: Routine | null = null;
  afterEach(() => {
    routine?.stop();
    sock?.close();
    client?.close();
    routine = null;
    sock = null;
    client = null;
  });

  async function burst(from: number, count: number): Promise<void> {
    for (let i = from; i < from + count; i++) {
      await new Promise<void>((r, j) =>
        client!.send(handshake(i), sock!.port, '127.0.0.1', (e) => (e ? j(e) : r())),
      );
    }
  }

  it('a synchronous throw in packet handling does not make the socket deaf', async () => {
    sock = openUdpSocket({ host: '127.0.0.1', port: 0, batch: 16 });
    client = dgram.createSocket('udp4');
    const r = makeRoutine(sock as unknown as UdpSocketLike, (seq) => {
      if (seq === 5) throw new Error('noise state error (test)');
    });
    routine = r.routine;
    routine.start();
    await burst(0, 50);
    expect(await waitFor(() => r.seen.length >= 50, 3000)).toBe(true);
    // after the throw: the poller still delivers
    await new Promise((res) => setTimeout(res, 50));
    await burst(100, 10);
    expect(await waitFor(() => r.seen.includes(109), 3000)).toBe(true);
    expect(routine.handlerErrors).toBe(1);
  });
});

describe('handshake flood against a full tunnel table (in-process node, loopback)', () => {
  const ca = makeCa();
  const hostB = makeHost(ca, 'beta', '203.0.113.2');
  const hostC = makeHost(ca, 'gamma', '203.0.113.3');
  let node: NebulaNode | null = null;
  let me: dgram.Socket | null = null;
  afterEach(async () => {
    await node?.stop();
    me?.close();
    node = null;
    me = null;
  });

  let seq = 0n;
  function stage1(index: number): Buffer {
    return stage1Packet(hostC, index, nowNanos() + ++seq * 1000n).packet;
  }

  it('valid stage 1s replacing each other faster than the slot quarantine: dropped, the node keeps answering', async () => {
    const pb = await freePort();
    const log = captureLogger();
    const { config: cfg, raw } = config(rawNode(ca, hostB, pb));
    // 3 slots: the 4th replacing handshake within SLOT_QUARANTINE_MS finds none free.
    node = new NebulaNode({ config: cfg, raw, logger: log.logger, aead: 'node', tunnelCapacity: 3 });
    await node.start();
    const sock = dgram.createSocket('udp4');
    me = sock;
    const got: Buffer[] = [];
    sock.on('message', (m) => got.push(m));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    // one datagram array, sent back to back: they arrive in one or two recvmmsg batches
    const pkts = Array.from({ length: 8 }, (_, i) => stage1(0x100 + i));
    for (const p of pkts) sock.send(p, pb, '127.0.0.1');
    await until(
      () => log.lines.some((l) => l.msg === 'Tunnel table is full, dropping completed handshake'),
      5000,
      'table full',
    );
    // The receive path is alive: an unknown index still gets a recv_error.
    const unknown = Buffer.alloc(48);
    writeHeader(unknown, 0, 1, 0, 0x0badf00d, 99);
    const before = got.length;
    sock.send(unknown, pb, '127.0.0.1');
    await until(
      () => got.slice(before).some((m) => (m[0]! & 0x0f) === 2 && m.readUInt32BE(4) === 0x0badf00d),
      3000,
      'recv_error after the flood',
    );
    // And once the quarantine is over, a new handshake completes again.
    await new Promise((r) => setTimeout(r, 2300));
    const n = got.length;
    sock.send(stage1(0x999), pb, '127.0.0.1');
    await until(
      () => got.slice(n).some((m) => m.readUInt32BE(4) === 0x999),
      3000,
      'stage 2 after quarantine',
    );
    expect(node.hostInfo('203.0.113.3')?.remoteIndex).toBe(0x999);
  }, 20_000);
});
