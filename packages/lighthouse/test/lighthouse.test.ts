import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  createNebulaMetrics,
  encodeMeta,
  isLighthouseError,
  LightHouse,
  type LighthouseEvent,
  MetaType,
  NebulaMeta,
  parseIp4,
  UdpAddr,
} from '../src/index.js';
import { FakeScheduler, RecordingSender, silent } from './helpers.js';

const ip = parseIp4;
const MASK = 0xffffff00;
const LH = ip('10.42.0.1');
const A = ip('10.42.0.2');
const B = ip('10.42.0.3');

function slot(text: string): Uint32Array {
  const s = new Uint32Array(6);
  UdpAddr.parse(text).writeTo(s, 0);
  return s;
}

function metaBytes(
  type: number,
  vpnIp: number,
  ip4: [string, number][] = [],
  relays: number[] = [],
): Uint8Array {
  const m = new NebulaMeta();
  m.type = type;
  m.details.vpnIp = vpnIp;
  for (const [a, p] of ip4) m.details.addIp4(ip(a), p);
  for (const r of relays) m.details.addRelay(r);
  const buf = new Uint8Array(512);
  return buf.slice(0, encodeMeta(m, buf, 0));
}

/** varint hex of a uint32 (test helper). */
function vpn(v: number): string {
  const out: number[] = [0x08];
  let x = v >>> 0;
  while (x > 0x7f) {
    out.push((x & 0x7f) | 0x80);
    x >>>= 7;
  }
  out.push(x);
  return Buffer.from(out).toString('hex');
}

function server(extra: Record<string, unknown> = {}) {
  const sender = new RecordingSender();
  const registry = new Registry();
  const metrics = createNebulaMetrics({ registry }).lighthouseMetrics(true);
  const lh = new LightHouse({
    myVpnIp: LH,
    myVpnMask: MASK,
    raw: { listen: { port: 4242 }, lighthouse: { am_lighthouse: true, ...extra } },
    sender,
    logger: silent,
    metrics,
    scheduler: new FakeScheduler(),
  });
  return { lh, sender, registry, h: lh.newRequestHandler() };
}

function send(
  h: ReturnType<LightHouse['newRequestHandler']>,
  from: number,
  bytes: Uint8Array,
  addr = '198.51.100.9:4242',
): void {
  h.handleRequest(from, slot(addr), 0, bytes, 0, bytes.length);
}

describe('LightHouse server (lighthouse.md §3)', () => {
  it('stores updates, answers queries with a reply then a punch notification, silent for unknown hosts', async () => {
    const { lh, sender, registry, h } = server();
    await lh.start();
    const events: LighthouseEvent[] = [];
    lh.events$.subscribe((e) => events.push(e));
    send(
      h,
      B,
      metaBytes(
        MetaType.HostUpdateNotification,
        B,
        [
          ['198.51.100.3', 4242],
          ['10.42.0.3', 1],
        ],
        [A],
      ),
    );
    lh.onTunnelUp(B, slot('198.51.100.30:5000'), 0);
    // unknown host: no reply at all
    send(h, A, metaBytes(MetaType.HostQuery, ip('10.42.0.99')));
    expect(sender.take()).toEqual([]);
    // querier without a cache entry: reply only
    send(h, A, metaBytes(MetaType.HostQuery, B));
    let out = sender.take();
    expect(out).toHaveLength(1);
    expect(out[0]!.vpnIp).toBe(A);
    expect(out[0]!.meta).toMatchObject({
      type: MetaType.HostQueryReply,
      vpnIp: B,
      // learned first, then reported; the vpn-network address was dropped
      ip4: [
        { ip: ip('198.51.100.30'), port: 5000 },
        { ip: ip('198.51.100.3'), port: 4242 },
      ],
      relays: [A],
    });
    // once A is known (tunnel up), B also gets a punch notification about A
    lh.onTunnelUp(A, slot('198.51.100.2:4242'), 0);
    send(h, A, metaBytes(MetaType.HostQuery, B));
    out = sender.take();
    expect(out.map((s) => [s.vpnIp, s.meta!.type])).toEqual([
      [A, MetaType.HostQueryReply],
      [B, MetaType.HostPunchNotification],
    ]);
    expect(out[1]!.meta).toMatchObject({ vpnIp: A, ip4: [{ ip: ip('198.51.100.2'), port: 4242 }] });
    expect(events.map((e) => e.type)).toEqual(['update-received', 'query-answered', 'query-answered']);
    const text = await registry.metrics();
    expect(text).toMatch(/lighthouse_rx_HostQuery 3/);
    expect(text).toMatch(/lighthouse_rx_HostUpdateNotification 1/);
    expect(text).toMatch(/lighthouse_tx_HostQueryReply 2/);
    expect(text).toMatch(/lighthouse_tx_HostPunchNotification 1/);
    lh.stop();
  });

  it('rejects an update about another vpnIp, missing Details, undecodable payloads; drops entries on tunnel down', async () => {
    const { lh, sender, h } = server();
    await lh.start();
    const events: LighthouseEvent[] = [];
    lh.events$.subscribe((e) => events.push(e));
    send(h, A, metaBytes(MetaType.HostUpdateNotification, B, [['198.51.100.3', 4242]]));
    expect(lh.remoteList(B)).toBeUndefined();
    expect(events).toEqual([{ type: 'update-rejected', vpnIp: A, claimed: B }]);
    h.handleRequest(A, null, 0, Uint8Array.of(0x08, 0x01), 0, 2);
    h.handleRequest(A, null, 0, Uint8Array.of(0x12), 0, 1);
    send(h, B, metaBytes(MetaType.HostUpdateNotification, B, [['198.51.100.3', 4242]]));
    expect(lh.remoteList(B)!.len()).toBe(1);
    lh.onTunnelDown(B);
    expect(lh.remoteList(B)).toBeUndefined();
    send(h, A, metaBytes(MetaType.HostQuery, B));
    expect(sender.take()).toEqual([]);
    lh.stop();
  });

  it('a host reported and learned at the same address appears twice in the reply (vectors.md §3)', async () => {
    const { lh, sender, h } = server();
    await lh.start();
    send(h, B, metaBytes(MetaType.HostUpdateNotification, B, [['127.0.0.1', 40000]]));
    lh.onTunnelUp(B, slot('127.0.0.1:40000'), 0);
    const q = metaBytes(MetaType.HostQuery, B);
    const raw: string[] = [];
    (lh as unknown as { sender: unknown }).sender = {
      ...sender,
      sendMeta: (_v: number, b: Uint8Array, n: number) =>
        raw.push(Buffer.from(b.subarray(0, n)).toString('hex')),
    };
    h.handleRequest(A, null, 0, q, 0, q.length);
    const entry = '120a' + '08818080f807' + '10c0b802';
    const details = vpn(B) + entry + entry;
    expect(raw).toEqual([`080212${(details.length / 2).toString(16)}${details}`]);
  });

  it('applies the remote allow list to stored updates', async () => {
    const { lh, h } = server({ remote_allow_list: { '198.51.100.0/24': false } });
    await lh.start();
    send(
      h,
      B,
      metaBytes(MetaType.HostUpdateNotification, B, [
        ['198.51.100.3', 4242],
        ['203.0.113.50', 4242],
      ]),
    );
    expect(lh.remoteList(B)!.copyAddrs().map(String)).toEqual(['203.0.113.50:4242']);
  });

  it('refuses am_lighthouse without a listen port', () => {
    expect(
      () =>
        new LightHouse({
          myVpnIp: LH,
          myVpnMask: MASK,
          raw: { lighthouse: { am_lighthouse: true } },
          sender: new RecordingSender(),
          logger: silent,
        }),
    ).toThrow(/no port number/);
  });
});

function client(lighthouseExtra: Record<string, unknown> = {}, rawExtra: Record<string, unknown> = {}) {
  const sender = new RecordingSender();
  const sched = new FakeScheduler();
  const registry = new Registry();
  const lh = new LightHouse({
    myVpnIp: A,
    myVpnMask: MASK,
    raw: {
      listen: { port: 4242 },
      static_host_map: { '10.42.0.1': ['198.51.100.1:4242'] },
      lighthouse: { hosts: ['10.42.0.1'], interval: 60, ...lighthouseExtra },
      ...rawExtra,
    },
    sender,
    logger: silent,
    scheduler: sched,
    metrics: createNebulaMetrics({ registry }).lighthouseMetrics(true),
    networkInterfaces: () => ({
      lo: [
        { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '', internal: true, cidr: null },
      ],
      eth0: [
        {
          address: '198.51.100.2',
          netmask: '255.255.255.0',
          family: 'IPv4',
          mac: '',
          internal: false,
          cidr: null,
        },
        {
          address: 'fe80::1',
          netmask: 'ffff:ffff:ffff:ffff::',
          family: 'IPv6',
          mac: '',
          internal: false,
          cidr: null,
          scopeid: 2,
        },
        {
          address: '2001:db8::2',
          netmask: 'ffff:ffff:ffff:ffff::',
          family: 'IPv6',
          mac: '',
          internal: false,
          cidr: null,
          scopeid: 0,
        },
        {
          address: '169.254.1.1',
          netmask: '255.255.0.0',
          family: 'IPv4',
          mac: '',
          internal: false,
          cidr: null,
        },
      ],
      nebula1: [
        {
          address: '10.42.0.2',
          netmask: '255.255.255.0',
          family: 'IPv4',
          mac: '',
          internal: false,
          cidr: null,
        },
      ],
      docker0: [
        {
          address: '172.17.0.1',
          netmask: '255.255.0.0',
          family: 'IPv4',
          mac: '',
          internal: false,
          cidr: null,
        },
      ],
    }),
  });
  return { lh, sender, sched, registry, h: lh.newRequestHandler() };
}

describe('LightHouse client (lighthouse.md §2)', () => {
  it('sends updates at start and every interval with advertise_addrs first and filtered interfaces', async () => {
    const { lh, sender, sched } = client(
      {
        advertise_addrs: ['203.0.113.7:0', '10.42.0.2:1', '[2001:db8::9]:5'],
        local_allow_list: { interfaces: { 'docker.*': false } },
      },
      { relay: { relays: ['10.42.0.9'] } },
    );
    await lh.start();
    const first = sender.take();
    expect(first).toHaveLength(1);
    expect(first[0]!.vpnIp).toBe(LH);
    expect(first[0]!.meta).toMatchObject({
      type: MetaType.HostUpdateNotification,
      vpnIp: A,
      ip4: [
        { ip: ip('203.0.113.7'), port: 4242 },
        { ip: ip('198.51.100.2'), port: 4242 },
      ],
      ip6: [
        { w: [0x20010db8, 0, 0, 9], port: 5 },
        { w: [0x20010db8, 0, 0, 2], port: 4242 },
      ],
      relays: [ip('10.42.0.9')],
    });
    sched.advance(59_999);
    expect(sender.take()).toEqual([]);
    sched.advance(1);
    expect(sender.take()).toHaveLength(1);
    lh.stop();
    sched.advance(120_000);
    expect(sender.take()).toEqual([]);
  });

  it('queries every lighthouse, never for a lighthouse, de-duplicated unless forced', async () => {
    const { lh, sender, sched, registry } = client({ interval: 0 });
    await lh.start();
    lh.queryServer(B);
    lh.queryServer(B);
    lh.queryServer(LH);
    expect(sender.take().map((s) => [s.vpnIp, s.meta!.type, s.meta!.vpnIp])).toEqual([
      [LH, MetaType.HostQuery, B],
    ]);
    lh.queryServer(B, true);
    expect(sender.take()).toHaveLength(1);
    sched.advance(600);
    lh.queryServer(B);
    expect(sender.take()).toHaveLength(1);
    expect(await registry.metrics()).toMatch(/lighthouse_tx_HostQuery 3/);
  });

  it('stores HostQueryReply only from a lighthouse, under owner = lighthouse, then triggers a handshake', async () => {
    const { lh, sender, h } = client({ interval: 0 });
    await lh.start();
    const reply = metaBytes(
      MetaType.HostQueryReply,
      B,
      [
        ['198.51.100.3', 4242],
        ['10.42.0.3', 4242],
      ],
      [ip('10.42.0.9')],
    );
    send(h, B, reply); // not a lighthouse: ignored
    expect(lh.remoteList(B)).toBeUndefined();
    send(h, LH, reply);
    expect(sender.take()).toEqual([{ kind: 'trigger', vpnIp: B }]);
    const rl = lh.remoteList(B)!;
    expect(rl.ownerCache(LH)!.reported4Count).toBe(1);
    expect(rl.copyAddrs().map(String)).toEqual(['198.51.100.3:4242']);
    expect(rl.relays()).toEqual([ip('10.42.0.9')]);
    // the lighthouse itself is static (owner = us) and survives tunnel down
    lh.onTunnelDown(LH);
    expect(lh.remoteList(LH)!.ownerCache(A)!.reported4Count).toBe(1);
    lh.onTunnelDown(B);
    expect(lh.remoteList(B)).toBeUndefined();
  });

  it('punches each address after punchy.delay and, with respond, sends a test 5 s later', async () => {
    const { lh, sender, sched, registry, h } = client(
      { interval: 0 },
      { punchy: { delay: '2s', respond: true } },
    );
    await lh.start();
    const m = new NebulaMeta();
    m.type = MetaType.HostPunchNotification;
    m.details.vpnIp = B;
    m.details.addIp4(ip('198.51.100.3'), 4242);
    m.details.addIp6(0x20010db8, 0, 0, 3, 4243);
    const buf = new Uint8Array(100);
    const n = encodeMeta(m, buf, 0);
    h.handleRequest(B, null, 0, buf, 0, n); // not from a lighthouse
    sched.advance(10_000);
    expect(sender.take()).toEqual([]);
    h.handleRequest(LH, null, 0, buf, 0, n);
    sched.advance(1999);
    expect(sender.take()).toEqual([]);
    sched.advance(1);
    expect(sender.take()).toEqual([
      { kind: 'punch', addr: '198.51.100.3:4242', byte: 0 },
      { kind: 'punch', addr: '[2001:db8::3]:4243', byte: 0 },
    ]);
    sched.advance(3000);
    expect(sender.take()).toEqual([{ kind: 'test', vpnIp: B }]);
    expect(await registry.metrics()).toMatch(/messages_tx_holepunch 2/);
  });

  it('ignores queries and updates when not a lighthouse', async () => {
    const { lh, sender, h } = client({ interval: 0 });
    await lh.start();
    lh.onTunnelUp(B, slot('198.51.100.3:1'), 0);
    send(h, B, metaBytes(MetaType.HostQuery, B));
    send(h, B, metaBytes(MetaType.HostUpdateNotification, B, [['1.2.3.4', 1]]));
    expect(sender.take()).toEqual([]);
    expect(lh.remoteList(B)!.ownerCache(B)!.reported4Count).toBe(0);
  });

  it('validates lighthouse.hosts and static_host_map', async () => {
    const base = {
      myVpnIp: A,
      myVpnMask: MASK,
      sender: new RecordingSender(),
      logger: silent,
      scheduler: new FakeScheduler(),
    };
    expect(() => new LightHouse({ ...base, raw: { lighthouse: { hosts: ['10.9.0.1'] } } })).toThrow(
      /not in our subnet/,
    );
    const noStatic = new LightHouse({ ...base, raw: { lighthouse: { hosts: ['10.42.0.1'] } } });
    await expect(noStatic.start()).rejects.toThrow(/does not have a static_host_map entry/);
    const badKey = new LightHouse({ ...base, raw: { static_host_map: { '10.9.0.1': ['1.2.3.4:1'] } } });
    await expect(badKey.start()).rejects.toSatisfy(
      (e) => isLighthouseError(e) && /not in our subnet/.test((e as Error).message),
    );
    const resolved = new LightHouse({
      ...base,
      raw: { static_host_map: { '10.42.0.5': 'lh.example:4242', '10.42.0.6': ['10.42.0.7:1'] } },
      resolveHost: async () => '198.51.100.5',
    });
    await resolved.start();
    expect(resolved.remoteList(ip('10.42.0.5'))!.copyAddrs().map(String)).toEqual(['198.51.100.5:4242']);
    // inside our vpn network: never stored
    expect(resolved.remoteList(ip('10.42.0.6'))!.len()).toBe(0);
  });

  it('reload applies the reloadable keys and restarts the worker on an interval change', async () => {
    const { lh, sender, sched } = client({ interval: 60 });
    await lh.start();
    sender.take();
    const changed = await lh.reload({
      listen: { port: 4242 },
      static_host_map: { '10.42.0.1': ['198.51.100.1:4242'], '10.42.0.4': ['198.51.100.4:1'] },
      lighthouse: { hosts: ['10.42.0.1'], interval: 5, remote_allow_list: { '198.51.100.3/32': false } },
      punchy: { respond: true },
    });
    expect(changed.sort()).toEqual([
      'lighthouse.interval',
      'lighthouse.remote_allow_list',
      'punchy.respond',
      'static_host_map',
    ]);
    expect(lh.punchRespond).toBe(true);
    expect(lh.remoteList(ip('10.42.0.4'))!.len()).toBe(1);
    expect(sender.take()).toHaveLength(1); // restarted worker sends at once
    sched.advance(5000);
    expect(sender.take()).toHaveLength(1);
    await expect(lh.reload({ lighthouse: { hosts: ['10.42.0.8'] } })).rejects.toThrow(/static_host_map/);
    expect(lh.lighthouses).toEqual([LH]);
    lh.stop();
  });
});

describe('LightHouseHandler (seed g)', () => {
  it('reuses its meta and output buffer across requests; reuse off still answers the same', async () => {
    const { lh, sender } = server();
    await lh.start();
    lh.onTunnelUp(A, slot('198.51.100.2:4242'), 0);
    lh.onTunnelUp(B, slot('198.51.100.3:4242'), 0);
    const q = metaBytes(MetaType.HostQuery, B);
    const seen = new Set<Uint8Array>();
    const spy = {
      ...sender,
      sendMeta: (v: number, b: Uint8Array, n: number) => {
        seen.add(b);
        sender.sendMeta(v, b, n);
      },
    };
    (lh as unknown as { sender: unknown }).sender = spy;
    const h = lh.newRequestHandler();
    for (let i = 0; i < 3; i++) h.handleRequest(A, null, 0, q, 0, q.length);
    expect(seen.size).toBe(1);
    const reused = sender.take();
    seen.clear();
    const fresh = lh.newRequestHandler({ reuse: false });
    for (let i = 0; i < 3; i++) fresh.handleRequest(A, null, 0, q, 0, q.length);
    expect(seen.size).toBe(3);
    expect(sender.take()).toEqual(reused);
  });

  it('events$ is hot and completes on stop(); timers are cancelled', async () => {
    const { lh, sched } = client({ interval: 10 });
    let completed = false;
    lh.events$.subscribe({ complete: () => (completed = true) });
    await lh.start();
    expect(sched.pending).toBe(1);
    lh.stop();
    expect(completed).toBe(true);
    expect(sched.pending).toBe(0);
  });
});
