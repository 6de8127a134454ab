/**
 * Privileged tests: each runs the built package in a child process inside a network namespace we
 * create (`ip netns exec ntun-<pid>-<n> node fixtures/driver.mjs`), and checks the kernel's view
 * with `ip -j`. They fail (never skip) without root.
 */
import { requireRoot } from '@nebula-ts/e2e';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNs, Driver, deleteNs, ipJson, ipText, requireBuilt } from './helpers/netns.js';
import { icmpEcho, ipv4, parseIcmp } from './helpers/packets.js';

const namespaces: string[] = [];
const drivers: Driver[] = [];

function setup(wrapper: string[] = []): { ns: string; d: Driver } {
  const ns = createNs();
  namespaces.push(ns);
  const d = new Driver(ns, wrapper);
  drivers.push(d);
  return { ns, d };
}

beforeAll(() => {
  requireRoot();
  requireBuilt();
});

afterAll(() => {
  for (const d of drivers) d.kill();
  for (const ns of namespaces) deleteNs(ns);
});

interface LinkInfo {
  ifname: string;
  mtu: number;
  txqlen: number;
  flags: string[];
  linkinfo: {
    info_kind: string;
    info_data: { type: string; pi: boolean; vnet_hdr: boolean; multi_queue: boolean; numqueues: number };
  };
}
interface RouteInfo {
  dst: string;
  dev: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  metrics?: { mtu?: number; advmss?: number }[];
}

/** The echo replies (type 0, `ident`) among hex packets read in batches: every seq once, checksums valid, payload intact. */
/**
 * One configured queue (203.0.113.1/24) and echo requests to it from 203.0.113.2, as hex, with
 * `ident` and a `payloadLen`-byte payload.
 */
async function openEchoQueue(name: string, tso: boolean, ident: number, payloadLen: number) {
  const { d } = setup();
  await d.ok({ op: 'open', opts: { name, queues: 1, tso } });
  await d.ok({ op: 'configure', opts: { vpnIp: '203.0.113.1', prefixLen: 24 } });
  const payload = Uint8Array.from({ length: payloadLen }, (_, i) => (i * 7) & 0xff);
  const echo = (seq: number): string =>
    Buffer.from(icmpEcho('203.0.113.2', '203.0.113.1', ident, seq, payload)).toString('hex');
  return { d, payload, echo };
}

function expectEchoReplies(batches: string[][], ident: number, seqs: number[], payload: Uint8Array): void {
  const replies = batches
    .flat()
    .map((h) => parseIcmp(Buffer.from(h, 'hex')))
    .filter((p) => p !== null && p.type === 0 && p.ident === ident);
  expect(replies.map((p) => p!.seq).sort((x, y) => x - y)).toEqual(seqs);
  for (const p of replies) expect(p).toMatchObject({ ipChecksumOk: true, icmpChecksumOk: true });
  expect([...replies[0]!.payload]).toEqual([...payload]);
}

describe('tun device in a network namespace', () => {
  it('creates a 3-queue device and programs address, MTU, txqueuelen and Nebula routes', async () => {
    const { ns, d } = setup();
    const opened = await d.ok<{ name: string; fds: number[]; multiQueue: boolean }>({
      op: 'open',
      opts: { name: 'nt0', queues: 3 },
    });
    expect(opened.name).toBe('nt0');
    expect(new Set(opened.fds).size).toBe(3);
    await d.ok({
      op: 'configure',
      opts: {
        vpnIp: '203.0.113.1',
        prefixLen: 25,
        mtu: 1300,
        txQueueLen: 1000,
        routes: [{ route: '203.0.113.64/26', mtu: 8800 }],
        unsafeRoutes: [
          { route: '203.0.113.128/26', mtu: 1400, metric: 100 },
          { route: '203.0.113.192/27', metric: 7 },
        ],
      },
    });

    expect(ipText(ns, '-d', 'link', 'show', 'nt0')).toMatch(/multi_queue numqueues 3 /);
    const [link] = ipJson<LinkInfo[]>(ns, '-d', 'link', 'show', 'nt0');
    expect(link.linkinfo.info_kind).toBe('tun');
    expect(link.linkinfo.info_data).toMatchObject({
      type: 'tun',
      pi: false,
      vnet_hdr: false,
      multi_queue: true,
      numqueues: 3,
    });
    expect(link.mtu).toBe(8800);
    expect(link.txqlen).toBe(1000);
    expect(link.flags).toContain('UP');

    const [addr] = ipJson<{ addr_info: { family: string; local: string; prefixlen: number }[] }[]>(
      ns,
      'addr',
      'show',
      'nt0',
    );
    expect(addr.addr_info.filter((a) => a.family === 'inet')).toMatchObject([
      { local: '203.0.113.1', prefixlen: 25 },
    ]);

    const routes = ipJson<RouteInfo[]>(ns, 'route', 'show', 'dev', 'nt0');
    const byDst = new Map(routes.map((r) => [r.dst, r]));
    const metrics = (dst: string) => Object.assign({}, ...(byDst.get(dst)?.metrics ?? []));
    expect(byDst.get('203.0.113.0/25')).toMatchObject({
      protocol: 'kernel',
      scope: 'link',
      prefsrc: '203.0.113.1',
    });
    expect(metrics('203.0.113.0/25')).toEqual({ mtu: 1300, advmss: 1260 });
    expect(byDst.get('203.0.113.64/26')).toMatchObject({ scope: 'link' });
    expect(metrics('203.0.113.64/26')).toEqual({ mtu: 8800 });
    expect(byDst.get('203.0.113.128/26')).toMatchObject({ scope: 'link', metric: 100 });
    expect(metrics('203.0.113.128/26')).toEqual({ mtu: 1400, advmss: 1360 });
    expect(byDst.get('203.0.113.192/27')).toMatchObject({ scope: 'link', metric: 7 });
    expect(metrics('203.0.113.192/27')).toEqual({ advmss: 1260 });

    // A netlink failure comes back as an errno error naming the operation.
    const dup = await d.request({ op: 'addRoute', route: { dst: '203.0.113.64', prefixLen: 26 } });
    expect(dup.error).toMatchObject({ code: 'ERR_TUN_SYSCALL', sysCode: 'EEXIST', syscall: 'netlink' });
    expect(dup.error?.message).toMatch(/RTM_NEWROUTE 203\.0\.113\.64\/26 dev nt0/);
    const bad = await d.request({ op: 'setAddress', addr: '203.0.113.1', prefixLen: 33 });
    expect(bad.error).toMatchObject({ ctor: 'RangeError' });

    // close() releases every queue: the non-persistent device disappears; twice is harmless.
    const closed = await d.ok<{ closed: boolean; fd: number; afterClose: { code: string } }>({ op: 'close' });
    expect(closed).toMatchObject({ closed: true, fd: -1, afterClose: { code: 'ERR_TUN_CLOSED' } });
    expect(() => ipText(ns, 'link', 'show', 'nt0')).toThrow();
    await d.ok({ op: 'exit' });
  });

  it('reads back the kernel echo replies to a batch of ICMP requests written to the tun', async () => {
    const { d } = setup();
    await d.ok({ op: 'open', opts: { name: 'nt1', queues: 1 } });
    await d.ok({ op: 'configure', opts: { vpnIp: '203.0.113.1', prefixLen: 24 } });
    const N = 32;
    const payload = Uint8Array.from({ length: 56 }, (_, i) => i * 3);
    const requests = Array.from({ length: N }, (_, i) =>
      Buffer.from(icmpEcho('203.0.113.2', '203.0.113.1', 0x4e54, i, payload)).toString('hex'),
    );
    const w = await d.ok<{ written: number }>({ op: 'write', queue: 0, packets: requests });
    expect(w.written).toBe(N);
    const r = await d.ok<{ packets: string[]; batches: number[]; guardIntact: boolean }>({
      op: 'read',
      queue: 0,
      want: N,
      proto: 1,
      timeoutMs: 5000,
    });
    expect(r.guardIntact).toBe(true); // headroom and tailroom untouched
    const replies = r.packets
      .map((h) => parseIcmp(Buffer.from(h, 'hex')))
      .filter((p) => p !== null && p.type === 0);
    expect(replies).toHaveLength(N);
    const seqs = new Set<number>();
    for (const p of replies) {
      expect(p).toMatchObject({
        src: ipv4('203.0.113.1'),
        dst: ipv4('203.0.113.2'),
        ipChecksumOk: true,
        icmpChecksumOk: true,
        ident: 0x4e54,
      });
      expect([...p!.payload]).toEqual([...payload]);
      seqs.add(p!.seq);
    }
    expect(seqs.size).toBe(N);
    // One callback drained several packets at least once (batching, not one call per packet).
    expect(r.batches.reduce((a, b) => a + b, 0)).toBe(r.packets.length);
    expect(Math.max(...r.batches)).toBeGreaterThan(1);
    await d.ok({ op: 'close' });
    await d.ok({ op: 'exit' });
  });

  for (const tso of [false, true])
    it(`a blocking wait runs the bound read itself and never overwrites a batch not taken (${tso ? 'TSO' : 'plain'} queue)`, async () => {
      const { d, payload, echo } = await openEchoQueue(tso ? 'nt5' : 'nt4', tso, 0x5754, 40);
      const first = Array.from({ length: 8 }, (_, i) => echo(i));
      const second = Array.from({ length: 4 }, (_, i) => echo(100 + i));
      const r = await d.ok<{
        written: number;
        firstMask: number;
        firstCount: number;
        held: { mask: number; count: number; arenaUntouched: boolean };
        firstIntact: boolean;
        batches: string[][];
      }>({ op: 'waitRead', queue: 0, first, second, timeoutMs: 5000 });
      expect(r.written).toBe(12);
      expect(r.firstMask).toBe(1);
      expect(r.firstCount).toBeGreaterThanOrEqual(1);
      expect(r.firstIntact).toBe(true); // headroom and tailroom untouched by the wait's read
      // The second wait saw the fd readable but left the batch it had not taken, and the arena.
      expect(r.held).toEqual({ mask: 1, count: r.firstCount, arenaUntouched: true });
      expectEchoReplies(r.batches, 0x5754, [0, 1, 2, 3, 4, 5, 6, 7, 100, 101, 102, 103], payload);
      await d.ok({ op: 'close' });
      await d.ok({ op: 'exit' });
    });

  for (const tso of [false, true])
    it(`a bound write reads what the kernel answered inside it, never over a batch not taken (${tso ? 'TSO' : 'plain'} queue)`, async () => {
      const { d, payload, echo } = await openEchoQueue(tso ? 'nt7' : 'nt6', tso, 0x5755, 48);
      const r = await d.ok<{
        written: number;
        firstCount: number;
        firstIntact: boolean;
        held: { count: number; arenaUntouched: boolean };
        batches: string[][];
      }>({
        op: 'writeThenRead',
        queue: 0,
        first: Array.from({ length: 8 }, (_, i) => echo(i)),
        second: Array.from({ length: 4 }, (_, i) => echo(200 + i)),
        timeoutMs: 5000,
      });
      expect(r.written).toBe(12);
      // The replies were made inside the write: the write's own read already holds them.
      expect(r.firstCount).toBeGreaterThanOrEqual(1);
      expect(r.firstIntact).toBe(true);
      expect(r.held).toEqual({ count: r.firstCount, arenaUntouched: true });
      expectEchoReplies(r.batches, 0x5755, [0, 1, 2, 3, 4, 5, 6, 7, 200, 201, 202, 203], payload);
      await d.ok({ op: 'close' });
      await d.ok({ op: 'exit' });
    });

  it('spreads UDP flows over two queues read by two worker threads (by fd and by name)', async () => {
    const { ns, d } = setup();
    await d.ok({ op: 'open', opts: { name: 'nt2', queues: 1, multiQueue: true } });
    await d.ok({ op: 'configure', opts: { vpnIp: '203.0.113.1', prefixLen: 24 } });
    const flows = 64;
    const perFlow = 4;
    const res = await d.ok<{
      numqueues: number;
      info: { fd: number; name: string }[];
      results: { packets: number; callbacks: number; maxBatch: number; dstPorts: number[] }[];
    }>({ op: 'workers', name: 'nt2', flows, perFlow, dst: '203.0.113.9', timeoutMs: 3000 }, 20_000);
    expect(res.numqueues).toBe(2); // queue 0 (opener, read by fd in worker A) + worker B's own
    expect(res.info.map((i) => i.name)).toEqual(['nt2', 'nt2']);
    const [a, b] = res.results;
    expect(a.packets).toBeGreaterThan(0);
    expect(b.packets).toBeGreaterThan(0);
    // Every packet sent arrived on exactly one queue; a flow stays on one queue.
    expect(a.packets + b.packets).toBe(flows * perFlow);
    expect(a.dstPorts.filter((p) => b.dstPorts.includes(p))).toEqual([]);
    expect(a.dstPorts.length + b.dstPorts.length).toBe(flows);
    await d.ok({ op: 'close' });
    expect(() => ipText(ns, 'link', 'show', 'nt2')).toThrow(); // worker B's queue closed too
    await d.ok({ op: 'exit' });
  });

  it('probes capabilities and opens with vnetHdr + offloads', async () => {
    const { ns, d } = setup();
    const caps = await d.ok<{ multiQueue: boolean; vnetHdr: boolean; offloads: Record<string, boolean> }>({
      op: 'probe',
    });
    expect(caps.multiQueue).toBe(true);
    expect(caps.vnetHdr).toBe(true);
    expect(caps.offloads.csum).toBe(true);
    expect(Object.keys(caps.offloads).sort()).toEqual(['csum', 'tso4', 'tso6', 'uso4', 'uso6']);
    // The probe's throw-away device is gone.
    expect(ipJson<unknown[]>(ns, 'link', 'show', 'type', 'tun')).toEqual([]);
    const offloads = { csum: true, tso4: caps.offloads.tso4, tso6: caps.offloads.tso6 };
    await d.ok({ op: 'open', opts: { name: 'nt3', queues: 2, vnetHdr: true, offloads } });
    const [link] = ipJson<LinkInfo[]>(ns, '-d', 'link', 'show', 'nt3');
    expect(link.linkinfo.info_data).toMatchObject({ vnet_hdr: true, multi_queue: true, numqueues: 2 });
    expect(ipText(ns, '-d', 'link', 'show', 'nt3')).toMatch(/vnet_hdr on/);
    // Every packet carries a 10-byte virtio_net_hdr the caller handles: write one (all zeros = plain
    // packet), and the reply comes back behind one.
    await d.ok({ op: 'configure', opts: { vpnIp: '203.0.113.1', prefixLen: 24 } });
    const echo = icmpEcho('203.0.113.2', '203.0.113.1', 7, 1, new Uint8Array(32).fill(9));
    const framed = Buffer.concat([Buffer.alloc(10), echo]).toString('hex');
    expect(await d.ok({ op: 'write', queue: 1, packets: [framed] })).toEqual({ written: 1 });
    const r = await d.ok<{ packets: string[] }>({
      op: 'read',
      queue: 0,
      want: 1,
      timeoutMs: 3000,
      proto: 1,
      skip: 10,
    });
    const all = [
      ...r.packets,
      ...(
        await d.ok<{ packets: string[] }>({
          op: 'read',
          queue: 1,
          want: 1,
          timeoutMs: 500,
          proto: 1,
          skip: 10,
        })
      ).packets,
    ];
    const replies = all
      .map((h) => Buffer.from(h, 'hex'))
      .map((b) => ({ hdr: b.subarray(0, 10), icmp: parseIcmp(b.subarray(10)) }))
      .filter((p) => p.icmp?.type === 0);
    expect(replies).toHaveLength(1);
    expect(replies[0].hdr.readUInt8(1)).toBe(0); // gso_type VIRTIO_NET_HDR_GSO_NONE
    expect(replies[0].icmp).toMatchObject({ seq: 1, ident: 7, ipChecksumOk: true, icmpChecksumOk: true });
    await d.ok({ op: 'close' });
    await d.ok({ op: 'exit' });
  });

  it('says CAP_NET_ADMIN is missing when capabilities are dropped', async () => {
    const { d } = setup(['setpriv', '--inh-caps=-all', '--bounding-set=-all', '--']);
    for (const op of ['open', 'probe']) {
      const r = await d.request({ op, opts: { name: 'nt4' } });
      expect(r.error).toMatchObject({
        code: 'ERR_TUN_PERMISSION',
        sysCode: 'EPERM',
        errno: 1,
        syscall: 'ioctl',
      });
      expect(r.error?.message).toMatch(/CAP_NET_ADMIN is required/);
    }
    await d.ok({ op: 'exit' });
  });

  it('says /dev/net/tun is missing when it is', async () => {
    // A private mount namespace hides /dev/net behind an empty tmpfs for this child only.
    const { d } = setup([
      'unshare',
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount -t tmpfs none /dev/net && exec "$0" "$@"',
    ]);
    for (const op of ['open', 'probe']) {
      const r = await d.request({ op, opts: { name: 'nt5' } });
      expect(r.error).toMatchObject({ code: 'ERR_TUN_NO_DEVICE', sysCode: 'ENOENT', syscall: 'open' });
      expect(r.error?.message).toMatch(/\/dev\/net\/tun is missing/);
    }
    await d.ok({ op: 'exit' });
  });
});
