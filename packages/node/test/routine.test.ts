/**
 * The data path on its own: two routines wired back to back through in-memory tun/udp doubles,
 * with the native batch AEAD on one side and the node:crypto one on the other (and every other
 * pairing), checking what the wire carries and what reaches the tun. No root needed.
 */
import { createBatchAead } from '@nebula-ts/aead';
import { describe, expect, it } from 'vitest';
import {
  allocateTunnelTable,
  type BlockingIo,
  COUNTER_LIMIT,
  type ControlSink,
  type PreRead,
  Routine,
  type RoutineSettings,
  TunnelTable,
} from '../src/index.js';
import { captureLogger, ip } from './support.js';

type Kind = 'native' | 'node';

class FakeTun {
  readonly written: Buffer[] = [];
  readonly toRead: Buffer[] = [];
  cb: (() => void) | null = null;
  read(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, max: number): number {
    let n = 0;
    while (n < max && this.toRead.length) {
      const p = this.toRead.shift()!;
      buf.set(p, offsets[n]!);
      lengths[n++] = p.length;
    }
    return n;
  }
  write(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number {
    for (let i = 0; i < count; i++)
      this.written.push(Buffer.from(buf.subarray(offsets[i]!, offsets[i]! + lengths[i]!)));
    return count;
  }
  onReadable(cb: () => void): void {
    this.cb = cb;
  }
  pause(): void {}
  close(): void {}
  inject(...pkts: Buffer[]): void {
    this.toRead.push(...pkts);
    this.cb?.();
  }
}

class FakeUdp {
  readonly sent: Array<{ pkt: Buffer; to: number[] }> = [];
  readonly inbox: Array<{ pkt: Buffer; from: number[] }> = [];
  cb: (() => void) | null = null;
  recvBatch(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    addrs: Uint32Array,
    max: number,
  ): number {
    let n = 0;
    while (n < max && this.inbox.length) {
      const { pkt, from } = this.inbox.shift()!;
      buf.set(pkt, offsets[n]!);
      lengths[n] = pkt.length;
      addrs.set(from, n * 6);
      n++;
    }
    return n;
  }
  sendBatch(
    buf: Uint8Array,
    offsets: Uint32Array,
    lengths: Uint32Array,
    addrs: Uint32Array,
    count: number,
  ): number {
    for (let i = 0; i < count; i++)
      this.sent.push({
        pkt: Buffer.from(buf.subarray(offsets[i]!, offsets[i]! + lengths[i]!)),
        to: [...addrs.subarray(i * 6, i * 6 + 6)],
      });
    return count;
  }
  sendTo(buf: Uint8Array, off: number, len: number, addrs: Uint32Array, i: number): void {
    this.sent.push({
      pkt: Buffer.from(buf.subarray(off, off + len)),
      to: [...addrs.subarray(i * 6, i * 6 + 6)],
    });
  }
  onReadable(cb: () => void): void {
    this.cb = cb;
  }
  close(): void {}
  deliver(pkt: Buffer, from: number[]): void {
    this.inbox.push({ pkt, from });
    this.cb?.();
  }
}

const ALLOW = { drop: () => 0 };
const silent = { isLevelEnabled: () => false, debug() {}, error() {}, info() {}, warn() {} } as never;

function icmp(src: string, dst: string, payload = 32): Buffer {
  const b = Buffer.alloc(28 + payload, 0x61);
  b[0] = 0x45;
  b.writeUInt16BE(b.length, 2);
  b[8] = 64;
  b[9] = 1;
  b.writeUInt32BE(ip(src), 12);
  b.writeUInt32BE(ip(dst), 16);
  b[20] = 8;
  return b;
}

interface Side {
  routine: Routine;
  tun: FakeTun;
  udp: FakeUdp;
  table: TunnelTable;
  control: Buffer[];
  need: number[];
}

function side(
  name: 'a' | 'b',
  kind: Kind,
  extra: Partial<RoutineSettings> = {},
  blocking: BlockingIo | null = null,
  logger: unknown = silent,
  loop = true,
): Side {
  const table = new TunnelTable(allocateTunnelTable(8, 1));
  const tun = new FakeTun();
  const udp = new FakeUdp();
  const control: Buffer[] = [];
  const need: number[] = [];
  const sink: ControlSink = {
    controlPacket: (_r, buf, off, len) => control.push(Buffer.from(buf.subarray(off, off + len))),
    needTunnel: (vpnIp) => need.push(vpnIp),
    roamed: () => undefined,
    exhausted: () => undefined,
  };
  const settings: RoutineSettings = {
    index: 0,
    batch: 16,
    vpnIp: ip(name === 'a' ? '203.0.113.1' : '203.0.113.2'),
    netAddr: ip('203.0.113.0'),
    netMask: ip('255.255.255.0'),
    dropLocalBroadcast: false,
    dropMulticast: false,
    sendRecvError: 'always',
    unsafeRoutes: [],
    ...extra,
  };
  const routine = new Routine({
    settings,
    table,
    aead: createBatchAead(kind),
    tun,
    udp,
    sink,
    logger: logger as never,
    firewall: ALLOW,
  });
  if (blocking) routine.startBlocking(blocking, { loop });
  else routine.start();
  return { routine, tun, udp, table, control, need };
}

const KEY1 = new Uint8Array(32).fill(7);
const KEY2 = new Uint8Array(32).fill(9);
const ADDR_A = [4, 4242, ip('198.51.100.11'), 0, 0, 0];
const ADDR_B = [4, 4242, ip('198.51.100.12'), 0, 0, 0];

/** Installs the a↔b tunnel in slot 3 on both sides as a completed handshake leaves it. */
function connect(a: Side, b: Side, cipher: 'aes' | 'chachapoly'): void {
  // a's local index 0xaaaa0001 is b's remote index and vice versa.
  a.table.init(3, ip('203.0.113.2'), 0xaaaa0001, 0xbbbb0002, 0, 2);
  b.table.init(3, ip('203.0.113.1'), 0xbbbb0002, 0xaaaa0001, 0, 2);
  for (const [s, addr] of [
    [a, ADDR_B],
    [b, ADDR_A],
  ] as const) {
    s.table.resetWindow(3);
    s.table.writeAddr(3, { family: 4, port: addr[1]!, w: [addr[2]!, 0, 0, 0] });
  }
  a.routine.install(3, ip('203.0.113.2'), 0xaaaa0001, cipher, KEY1, KEY2, {});
  b.routine.install(3, ip('203.0.113.1'), 0xbbbb0002, cipher, KEY2, KEY1, {});
  a.table.activate(3);
  b.table.activate(3);
}

const pairs: Array<[Kind, Kind]> = [
  ['native', 'node'],
  ['node', 'native'],
  ['native', 'native'],
];

for (const cipher of ['aes', 'chachapoly'] as const) {
  for (const [ka, kb] of pairs) {
    describe(`routine data path, ${cipher}, ${ka} AEAD → ${kb} AEAD`, () => {
      it('encrypts in place with Nebula headers (counters 3, 4, ...) and the peer decrypts to the same packets', () => {
        const a = side('a', ka);
        const b = side('b', kb);
        connect(a, b, cipher);
        const pkts = [
          icmp('203.0.113.1', '203.0.113.2', 10),
          icmp('203.0.113.1', '203.0.113.2', 1200),
          icmp('203.0.113.1', '203.0.113.2', 0),
        ];
        a.tun.inject(...pkts);
        expect(a.udp.sent.length).toBe(3);
        a.udp.sent.forEach((s, i) => {
          expect(s.to).toEqual(ADDR_B);
          expect(s.pkt[0]).toBe(0x11);
          expect(s.pkt.readUInt32BE(4)).toBe(0xbbbb0002);
          expect(s.pkt.readUInt32BE(12)).toBe(3 + i);
          expect(s.pkt.length).toBe(pkts[i]!.length + 32);
        });
        for (const s of a.udp.sent) b.udp.deliver(s.pkt, ADDR_A);
        expect(b.tun.written).toEqual(pkts);
        expect(b.table.peekIn(3)).toBe(true);
      });

      it('drops replays (recv_error back), forged tags (silently) and hands unknown indexes to the control path', () => {
        const a = side('a', ka);
        const b = side('b', kb);
        connect(a, b, cipher);
        a.tun.inject(icmp('203.0.113.1', '203.0.113.2'));
        const wire = a.udp.sent[0]!.pkt;
        b.udp.deliver(wire, ADDR_A);
        expect(b.tun.written.length).toBe(1);
        // Replay: refused before decryption, answered with a recv_error for the same index.
        b.udp.deliver(wire, ADDR_A);
        expect(b.tun.written.length).toBe(1);
        expect(b.udp.sent.map((s) => s.pkt.toString('hex'))).toEqual(['12000000bbbb00020000000000000000']);
        // Forged: a fresh counter, bad tag: dropped, no recv_error.
        const forged = Buffer.from(wire);
        forged.writeUInt32BE(1000, 12);
        b.udp.deliver(forged, ADDR_A);
        expect(b.tun.written.length).toBe(1);
        expect(b.udp.sent.length).toBe(1);
        // Unknown index → control path decides; short datagrams vanish.
        const unknown = Buffer.from(wire);
        unknown.writeUInt32BE(0x12345678, 4);
        b.udp.deliver(unknown, ADDR_A);
        b.udp.deliver(Buffer.from([1]), ADDR_A);
        expect(b.control.length).toBe(1);
        expect(b.control[0]!.readUInt32BE(4)).toBe(0x12345678);
      });
    });
  }
}

describe('routine udp → tun → udp in one readiness callback', () => {
  it('reads what the kernel answered inside the tun write (echo reply) and sends it without another tun readiness', () => {
    const a = side('a', 'native');
    const b = side('b', 'native');
    connect(a, b, 'aes');
    let tunReads = 0;
    const read = b.tun.read.bind(b.tun);
    b.tun.read = (...args: Parameters<FakeTun['read']>) => {
      tunReads++;
      return read(...args);
    };
    // Like the kernel: the echo reply is queued on tun during the write, and no readiness
    // callback is delivered for it (FakeTun.cb is never called here).
    const write = b.tun.write.bind(b.tun);
    b.tun.write = (...args: Parameters<FakeTun['write']>) => {
      const n = write(...args);
      b.tun.toRead.push(icmp('203.0.113.2', '203.0.113.1', 20));
      return n;
    };
    a.tun.inject(icmp('203.0.113.1', '203.0.113.2', 20));
    b.udp.deliver(a.udp.sent[0]!.pkt, ADDR_A);
    expect(b.tun.written.length).toBe(1);
    expect(b.udp.sent.length).toBe(1);
    a.udp.deliver(b.udp.sent[0]!.pkt, ADDR_B);
    expect(a.tun.written).toEqual([icmp('203.0.113.2', '203.0.113.1', 20)]);
    const before = tunReads;
    // A replay writes nothing to tun, so tun is not read on its account.
    b.udp.deliver(a.udp.sent[0]!.pkt, ADDR_A);
    expect(tunReads).toBe(before);
  });
});

describe('routine run-to-completion loop (startBlocking)', () => {
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
  async function until(cond: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 2000;
    for (let i = 0; i < 1_000_000 && !cond() && Date.now() < deadline; i++) await turn();
    if (!cond()) throw new Error(`timed out waiting for ${what}`);
  }

  /** A wait over a's fake queues: readiness from their contents, wakeup from a flag; never blocks. */
  function scriptedIo(s: () => Side) {
    const io = {
      waits: 0,
      wakeup: false,
      drained: 0,
      busy: false,
      fail: 0,
      wait: (_timeoutMs: number): number => {
        io.waits++;
        if (io.fail > 0) {
          io.fail--;
          throw new Error('poll EINTR-like failure');
        }
        const a = s();
        return (
          (a.udp.inbox.length > 0 || io.busy ? 1 : 0) |
          (a.tun.toRead.length > 0 ? 2 : 0) |
          (io.wakeup ? 4 : 0)
        );
      },
      udpBit: 1,
      tunBit: 2,
      wakeupBit: 4,
      drainWakeup: (): void => {
        io.wakeup = false;
        io.drained++;
      },
    };
    return io;
  }

  /**
   * As native-common's preReads: a wait that finds tun or UDP readable reads the batch itself,
   * at most result[1] packets when that is 1..max-1, never over a batch not taken.
   */
  function withPreReads<T extends ReturnType<typeof scriptedIo>>(io: T) {
    const run = (pre: PreRead) => {
      if (pre.result[0]! >= 0) return;
      const limit = pre.result[1] ?? 0;
      pre.result[0] = pre.read(limit > 0 && limit < pre.max ? limit : pre.max, pre.slotCapacity);
      withRead.preReads++;
    };
    const withRead = Object.assign(io, {
      preReads: 0,
      waitWithReads: (tun: PreRead, udp: PreRead) => (t: number) => {
        const mask = io.wait(t);
        if (mask & 1) run(udp);
        if (mask & 2) run(tun);
        return mask;
      },
    });
    return withRead;
  }

  it('carries packets both ways with no readiness callback registered', async () => {
    let a: Side | null = null;
    const io = scriptedIo(() => a!);
    a = side('a', 'native', {}, io);
    const b = side('b', 'native');
    connect(a, b, 'aes');
    expect(a.tun.cb).toBeNull();
    expect(a.udp.cb).toBeNull();
    a.tun.toRead.push(icmp('203.0.113.1', '203.0.113.2', 20));
    await until(() => a!.udp.sent.length === 1, 'a to send');
    b.udp.deliver(a.udp.sent[0]!.pkt, ADDR_A);
    expect(b.tun.written).toEqual([icmp('203.0.113.1', '203.0.113.2', 20)]);
    b.tun.inject(icmp('203.0.113.2', '203.0.113.1', 20));
    a.udp.inbox.push({ pkt: b.udp.sent[0]!.pkt, from: ADDR_B });
    await until(() => a!.tun.written.length === 1, 'a to write tun');
    expect(a.tun.written).toEqual([icmp('203.0.113.2', '203.0.113.1', 20)]);
    a.routine.stop();
  });

  it('with loop: false runs nothing by itself; each turn() is one wait and what it found', async () => {
    let a: Side | null = null;
    const io = scriptedIo(() => a!);
    a = side('a', 'native', {}, io, silent, false);
    const b = side('b', 'native');
    connect(a, b, 'aes');
    a.tun.toRead.push(icmp('203.0.113.1', '203.0.113.2', 20));
    await turn();
    await turn();
    expect(io.waits).toBe(0);
    expect(a.routine.turn(0)).toBe(2);
    expect(io.waits).toBe(1);
    expect(a.udp.sent.length).toBe(1);
    a.udp.inbox.push({ pkt: Buffer.alloc(4), from: ADDR_B }); // a runt: read, then dropped
    expect(a.routine.turn(0)).toBe(1);
    expect(a.udp.inbox.length).toBe(0);
    expect(a.routine.turn(0)).toBe(0);
    expect(io.waits).toBe(3);
    // A failing wait reaches whoever drives turn() (the loop counts it and retries).
    io.fail = 1;
    expect(() => a!.routine.turn(0)).toThrow(/EINTR-like/);
    a.routine.stop();
  });

  it('yields to the event loop on a wakeup and under endless load, and stops waiting after stop()', async () => {
    let a: Side | null = null;
    const io = scriptedIo(() => a!);
    a = side('a', 'native', {}, io);
    await until(() => io.waits > 0, 'the loop to start');
    io.wakeup = true;
    await until(() => io.drained === 1, 'the wakeup to be drained');
    // Endless readiness (every wait reports udp): the loop must still hand the thread back.
    io.busy = true;
    const before = io.waits;
    await turn();
    await turn();
    expect(io.waits).toBeGreaterThan(before);
    expect(io.waits - before).toBeLessThanOrEqual(3 * 64);
    io.busy = false;
    a.routine.stop();
    await turn();
    const stopped = io.waits;
    for (let i = 0; i < 10; i++) await turn();
    expect(io.waits).toBe(stopped);
  });

  it('drains a backlog that no readiness reports (segments left in a TSO queue)', async () => {
    let a: Side | null = null;
    const io = scriptedIo(() => a!);
    // Readiness is reported once; after that the fake fd looks empty although packets remain, as
    // with split segments the queue holds in user space.
    let reported = false;
    const wait = io.wait;
    io.wait = (t) => {
      const r = wait(t) & ~2;
      if (!reported && a!.tun.toRead.length > 0) {
        reported = true;
        return r | 2;
      }
      return r;
    };
    a = side('a', 'native', {}, io);
    const b = side('b', 'native');
    connect(a, b, 'aes');
    const total = 16 * 8 * 2 + 5; // more than MAX_ROUNDS full batches of 16, twice over
    for (let i = 0; i < total; i++) a.tun.toRead.push(icmp('203.0.113.1', '203.0.113.2', 20));
    await until(() => a!.udp.sent.length === total, 'every packet to be sent');
    expect(a.udp.sent.length).toBe(total);
    expect(reported).toBe(true);
    a.routine.stop();
  });

  it('takes the batches its wait already read before anything reads tun or UDP again', async () => {
    let a: Side | null = null;
    const io = withPreReads(scriptedIo(() => a!));
    a = side('a', 'native', {}, io);
    const b = side('b', 'native');
    connect(a, b, 'aes');
    a.tun.toRead.push(icmp('203.0.113.1', '203.0.113.2', 20));
    await until(() => a!.udp.sent.length === 1, 'a to send the batch its wait read');
    expect(io.preReads).toBe(1);
    // udp and tun readable in one wait: the udp side writes tun, then reads tun itself, and must
    // take the wait's batch first: nothing lost, nothing sent twice, order kept.
    b.tun.inject(icmp('203.0.113.2', '203.0.113.1', 21));
    a.udp.inbox.push({ pkt: b.udp.sent[0]!.pkt, from: ADDR_B });
    a.tun.toRead.push(icmp('203.0.113.1', '203.0.113.2', 22), icmp('203.0.113.1', '203.0.113.2', 23));
    await until(() => a!.udp.sent.length === 3 && a!.tun.written.length === 1, 'both directions');
    expect(io.preReads).toBe(3);
    expect(a.tun.written).toEqual([icmp('203.0.113.2', '203.0.113.1', 21)]);
    for (const { pkt } of a.udp.sent) b.udp.deliver(pkt, ADDR_A);
    expect(b.tun.written).toEqual([20, 22, 23].map((n) => icmp('203.0.113.1', '203.0.113.2', n)));
    a.routine.stop();
  });

  it('asks its tun pre-read for one packet while idle (a lone packet goes out before the read that finds tun empty), for a full batch once a drain took more', async () => {
    let a: Side | null = null;
    a = side('a', 'native', {}, withPreReads(scriptedIo(() => a!)));
    const b = side('b', 'native');
    connect(a, b, 'aes');
    const log: string[] = [];
    const read = a.tun.read.bind(a.tun);
    a.tun.read = (buf, offsets, lengths, max) => {
      const n = read(buf, offsets, lengths, max);
      log.push(`read ${max}: ${n} after ${a!.udp.sent.length} sent`);
      return n;
    };
    const burst = async (seqs: number[]): Promise<void> => {
      const want = a!.udp.sent.length + seqs.length;
      a!.tun.toRead.push(...seqs.map((n) => icmp('203.0.113.1', '203.0.113.2', n)));
      await until(() => a!.udp.sent.length === want, 'the burst to be sent');
      // The drain's last read, if any, follows in the same pass.
      for (let i = 0; i < 5; i++) await turn();
    };
    await burst([1]);
    expect(log.splice(0)).toEqual(['read 1: 1 after 0 sent', 'read 16: 0 after 1 sent']);
    const twenty = [...Array(20).keys()].map((i) => 10 + i);
    await burst(twenty);
    expect(log.splice(0)).toEqual([
      'read 1: 1 after 1 sent',
      'read 16: 16 after 2 sent',
      'read 16: 3 after 18 sent',
    ]);
    // The drain took more than one: the next pre-read is a full batch, and after a lone packet
    // again a single one.
    await burst([40]);
    expect(log.splice(0)).toEqual(['read 16: 1 after 21 sent']);
    await burst([41]);
    expect(log.splice(0)).toEqual(['read 1: 1 after 22 sent', 'read 16: 0 after 23 sent']);
    for (const { pkt } of a.udp.sent) b.udp.deliver(pkt, ADDR_A);
    expect(b.tun.written).toEqual([1, ...twenty, 40, 41].map((n) => icmp('203.0.113.1', '203.0.113.2', n)));
    a.routine.stop();
  });

  it('counts a failing wait as a handler error and keeps going', async () => {
    let a: Side | null = null;
    const io = scriptedIo(() => a!);
    io.fail = 2;
    a = side('a', 'native', {}, io);
    await until(() => io.fail === 0 && io.waits > 3, 'the loop to recover');
    expect(a.routine.handlerErrors).toBe(2);
    a.tun.toRead.push(icmp('203.0.113.1', '203.0.113.2', 20));
    await until(() => a!.need.length === 1, 'the packet to be read');
    a.routine.stop();
  });
});

describe('routine health check (the kernel refusing things is never silent)', () => {
  it('logs failed sends with a count, GSO and TSO merging turning off once, and dropped tun segments', () => {
    const log = captureLogger('info');
    const a = side('a', 'native', {}, null, log.logger);
    const udp = {
      sendErrors: 0,
      lastSendErrno: 0,
      gsoDisabledByErrno: 0,
      gsoSegmentLimit: null as number | null,
    };
    const tun = { readDropped: 0, mergeRefused: 0 };
    Object.assign(a.udp, { stats: () => ({ ...udp }) });
    Object.assign(a.tun, { offloadStats: () => ({ ...tun }) });
    const errors = () => log.lines.filter((l) => l.msg === 'Failed to write outgoing packet');
    a.routine.checkHealth(10_000);
    expect(log.lines).toEqual([]);
    udp.sendErrors = 3;
    udp.lastSendErrno = 101; // ENETUNREACH
    a.routine.checkHealth(10_500); // within HEALTH_CHECK_MS of the last look: not yet
    expect(errors()).toEqual([]);
    a.routine.checkHealth(11_000);
    expect(errors()).toEqual([expect.objectContaining({ level: 50, count: 3, err: 'ENETUNREACH' })]);
    a.routine.checkHealth(12_000); // nothing new
    expect(errors().length).toBe(1);
    udp.sendErrors = 5;
    udp.gsoDisabledByErrno = 5; // EIO
    udp.gsoSegmentLimit = 1315;
    tun.mergeRefused = 1;
    tun.readDropped = 7;
    a.routine.checkHealth(13_000);
    expect(errors()[1]).toMatchObject({ count: 2 });
    expect(log.find(/segmentation offload turned off/)).toMatchObject({ level: 40, err: 'EIO' });
    expect(log.find(/refused a merged TCP write/)).toMatchObject({ level: 40 });
    expect(log.find(/limited to smaller packets/)).toMatchObject({ level: 40, maxSegment: 1315 });
    expect(log.find(/Dropped tun packets/)).toMatchObject({ level: 40, count: 7 });
    tun.mergeRefused = 2;
    a.routine.checkHealth(14_000);
    expect(log.lines.filter((l) => /turned off|refused a merged|limited to/.test(String(l.msg))).length).toBe(
      3,
    );
    a.routine.stop();
  });
});

describe('routine inside-path decisions', () => {
  it('drops unroutable destinations without asking for a tunnel (seed c); routes unsafe routes via their gateway', () => {
    const a = side('a', 'node', {
      unsafeRoutes: [{ addr: ip('192.0.2.0'), mask: ip('255.255.255.0'), via: ip('203.0.113.2') }],
    });
    a.tun.inject(icmp('203.0.113.1', '198.51.100.99'));
    expect(a.need).toEqual([]);
    expect(a.udp.sent).toEqual([]);
    a.tun.inject(icmp('203.0.113.1', '192.0.2.7'));
    expect(a.need).toEqual([ip('203.0.113.2')]);
    a.tun.inject(icmp('203.0.113.1', '203.0.113.9'));
    expect(a.need).toEqual([ip('203.0.113.2'), ip('203.0.113.9')]);
  });

  it('honours drop_local_broadcast, drop_multicast and never sends to itself', () => {
    const a = side('a', 'node', { dropLocalBroadcast: true, dropMulticast: true });
    a.tun.inject(
      icmp('203.0.113.1', '203.0.113.255'),
      icmp('203.0.113.1', '224.0.0.5'),
      icmp('203.0.113.1', '203.0.113.1'),
    );
    expect(a.need).toEqual([]);
    const b = side('b', 'node');
    b.tun.inject(icmp('203.0.113.2', '203.0.113.255'));
    expect(b.need).toEqual([ip('203.0.113.255')]);
  });
});

describe('routine tunnel lookups', () => {
  it("packets follow a re-handshaked tunnel to its new slot; a removed tunnel's vpn and index go to the control path", () => {
    const a = side('a', 'node');
    const b = side('b', 'node');
    const toB = () => icmp('203.0.113.1', '203.0.113.2', 20);
    a.tun.inject(toB());
    expect(a.need).toEqual([ip('203.0.113.2')]); // no tunnel yet
    b.udp.deliver(Buffer.from([0x11, 0, 0, 0, 0xbb, 0xbb, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1]), ADDR_A);
    expect(b.control.length).toBe(1); // unknown index
    connect(a, b, 'aes');
    a.tun.inject(toB());
    expect(a.udp.sent.length).toBe(1);
    b.udp.deliver(a.udp.sent[0]!.pkt, ADDR_A);
    expect(b.tun.written.length).toBe(1);

    // The same peers re-handshake into slot 5 with new indexes; slot 3 goes away.
    a.routine.remove(3, ip('203.0.113.2'), 0xaaaa0001);
    b.routine.remove(3, ip('203.0.113.1'), 0xbbbb0002);
    a.table.init(5, ip('203.0.113.2'), 0xaaaa0005, 0xbbbb0006, 0, 2);
    b.table.init(5, ip('203.0.113.1'), 0xbbbb0006, 0xaaaa0005, 0, 2);
    a.table.writeAddr(5, { family: 4, port: ADDR_B[1]!, w: [ADDR_B[2]!, 0, 0, 0] });
    b.table.writeAddr(5, { family: 4, port: ADDR_A[1]!, w: [ADDR_A[2]!, 0, 0, 0] });
    a.table.resetWindow(5);
    b.table.resetWindow(5);
    a.routine.install(5, ip('203.0.113.2'), 0xaaaa0005, 'aes', KEY2, KEY1, {});
    b.routine.install(5, ip('203.0.113.1'), 0xbbbb0006, 'aes', KEY1, KEY2, {});
    a.table.activate(5);
    b.table.activate(5);
    a.tun.inject(toB());
    expect(a.udp.sent.length).toBe(2);
    expect(a.udp.sent[1]!.pkt.readUInt32BE(4)).toBe(0xbbbb0006);
    b.udp.deliver(a.udp.sent[1]!.pkt, ADDR_A);
    expect(b.tun.written.length).toBe(2);
    // The old index is gone on b: its packets go to the control path, not to slot 3's keys.
    b.udp.deliver(a.udp.sent[0]!.pkt, ADDR_A);
    expect(b.tun.written.length).toBe(2);
    expect(b.control.length).toBe(2);

    a.routine.remove(5, ip('203.0.113.2'), 0xaaaa0005);
    a.tun.inject(toB());
    expect(a.udp.sent.length).toBe(2);
    expect(a.need).toEqual([ip('203.0.113.2'), ip('203.0.113.2')]);
  });
});

describe('routine debug logging', () => {
  it('follows a logger level change at the next health check, not per batch', () => {
    let debugOn = false;
    const lines: unknown[] = [];
    const logger = {
      isLevelEnabled: (level: string) => level === 'debug' && debugOn,
      debug: (o: unknown, msg: string) => lines.push([o, msg]),
      error() {},
      info() {},
      warn() {},
    };
    const a = side('a', 'node', {}, null, logger);
    const garbage = Buffer.from([0x45, 0, 0, 10]); // shorter than its IPv4 header
    a.tun.inject(garbage);
    expect(lines).toEqual([]);
    debugOn = true;
    a.routine.checkHealth(Date.now() + 60_000);
    a.tun.inject(garbage);
    expect(lines).toEqual([[{ len: 4 }, 'Error while validating outbound packet']]);
  });
});

describe('listen.send_recv_error', () => {
  for (const [mode, from, expected] of [
    ['never', ADDR_A, 0],
    ['private', ADDR_A, 0],
    ['private', [4, 4242, ip('10.1.2.3'), 0, 0, 0], 1],
    ['always', ADDR_A, 1],
  ] as const) {
    it(`${mode}: a replay from ${from === ADDR_A ? 'a public address' : 'an RFC1918 address'} gets ${expected} recv_error`, () => {
      const a = side('a', 'node');
      const b = side('b', 'node', { sendRecvError: mode });
      connect(a, b, 'aes');
      a.tun.inject(icmp('203.0.113.1', '203.0.113.2'));
      const wire = a.udp.sent[0]!.pkt;
      b.udp.deliver(wire, [...from]);
      b.udp.deliver(wire, [...from]);
      expect(b.udp.sent.length).toBe(expected);
    });
  }
});

describe('send counter exhaustion', () => {
  it('stops using a tunnel near the 32-bit counter limit and asks the control path to re-handshake', () => {
    const exhausted: number[] = [];
    const a = side('a', 'node');
    const b = side('b', 'node');
    connect(a, b, 'aes');
    (a.routine as unknown as { sink: ControlSink }).sink.exhausted = (slot) => exhausted.push(slot);
    a.table.setCounter(3, COUNTER_LIMIT - 2);
    a.tun.inject(
      icmp('203.0.113.1', '203.0.113.2'),
      icmp('203.0.113.1', '203.0.113.2'),
      icmp('203.0.113.1', '203.0.113.2'),
    );
    expect(a.udp.sent.length).toBe(1);
    expect(a.udp.sent[0]!.pkt.readUInt32BE(12)).toBe(COUNTER_LIMIT - 1);
    expect(exhausted).toEqual([3, 3]);
  });
});
