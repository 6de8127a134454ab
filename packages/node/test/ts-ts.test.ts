/**
 * TS ↔ TS: our lighthouse (tun disabled: it answers pings itself), our node with two routines
 * (worker threads sharing tunnel state) and our node with one, no Go involved. Checks that send
 * counters taken concurrently by several routines never repeat on the wire.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary, requireRoot, Testnet } from '@nebula-ts/e2e';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, PKG_ROOT } from './helpers.js';

const TOOL = join(PKG_ROOT, 'test/fixtures/udp-tool.mjs');
const DNS_TOOL = join(PKG_ROOT, 'test/fixtures/dns-query.mjs');
const DNS_PORT = 5353;

interface DnsReply {
  rcode: number;
  answers: Array<{ type: number; data: string | string[] }>;
}

/** A DNS query to our lighthouse's responder on 127.0.0.1, from inside lh (TXT needs a local client). */
async function dns(net: Testnet, name: string, qtype = 1, port = DNS_PORT): Promise<DnsReply> {
  const r = await net.exec(
    'lh',
    [process.execPath, DNS_TOOL, '127.0.0.1', String(port), name, String(qtype)],
    { timeoutMs: 10_000 },
  );
  expect(r.code, `dns ${name}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as DnsReply;
}

/** Average bytes per packet the kernel counted on nebula1 of `host`, each direction. */
async function tunAverages(net: Testnet, host: string): Promise<{ tx: number; rx: number }> {
  const r = await net.exec(host, ['ip', '-j', '-s', 'link', 'show', 'nebula1'], { timeoutMs: 5000 });
  const [link] = JSON.parse(r.stdout) as Array<{
    stats64: { tx: { bytes: number; packets: number }; rx: { bytes: number; packets: number } };
  }>;
  const s = link!.stats64;
  return { tx: s.tx.bytes / s.tx.packets, rx: s.rx.bytes / s.rx.packets };
}

describe('TS ↔ TS through a TS lighthouse with tun disabled; a runs 2 routines', () => {
  let net: Testnet;

  beforeAll(async () => {
    requireRoot();
    requireBinary('tcpdump'); // the wire captures below
    net = await Testnet.create({ prefix: 'ndtt', hosts: ['lh', 'a', 'b'] });
    await net.makePki({ tool: 'go' });
    const lh = net.baseConfig('lh', { logFormat: 'json' }) as Record<string, unknown> & {
      tun: Record<string, unknown>;
      lighthouse: Record<string, unknown>;
    };
    lh.tun = { ...lh.tun, disabled: true };
    lh.lighthouse = { ...lh.lighthouse, serve_dns: true, dns: { host: '127.0.0.1', port: DNS_PORT } };
    net.writeConfig('lh', lh);
    net.writeConfig('a', net.baseConfig('a', { logFormat: 'json', routines: 2 }));
    // serve_dns on a non-lighthouse is refused with a warning (1.6.1).
    // b runs a plain tun (tun.tso false), a the default TSO one.
    const b = net.baseConfig('b', { logFormat: 'json', tso: false }) as Record<string, unknown> & {
      lighthouse: Record<string, unknown>;
    };
    b.lighthouse = { ...b.lighthouse, serve_dns: true, dns: { host: '127.0.0.1', port: DNS_PORT } };
    net.writeConfig('b', b);
    await net.start('lh', { impl: 'ts' });
    await net.start('b', { impl: 'ts' });
    await net.start('a', { impl: 'ts' });
  });

  afterAll(async () => {
    await net?.destroy();
  });

  it('a (2 routines) and b find each other through our lighthouse and ping both ways', async () => {
    const ab = await net.ping('a', 'b', { count: 3, timeoutMs: 15_000 });
    expect(ab.received).toBeGreaterThanOrEqual(2);
    const ba = await net.ping('b', 'a', { count: 3, timeoutMs: 10_000 });
    expect(ba.received).toBe(3);
  });

  it('serve_dns: our lighthouse answers A <certName>. and TXT <vpnIp>. for hosts with a tunnel', async () => {
    const started = jsonLines(net.log('lh')).find((l) => l.msg === 'Starting DNS responder');
    expect(started, net.log('lh').slice(0, 2000)).toMatchObject({ dnsListener: `127.0.0.1:${DNS_PORT}` });
    const a = await dns(net, 'a.');
    expect(a.rcode).toBe(0);
    expect(a.answers).toEqual([{ type: 1, data: net.overlayIp('a') }]);
    expect((await dns(net, 'B.')).answers).toEqual([{ type: 1, data: net.overlayIp('b') }]);
    expect(await dns(net, 'nobody.')).toEqual({ rcode: 0, answers: [] });
    const txt = await dns(net, `${net.overlayIp('a')}.`, 16);
    expect(txt.answers.length).toBe(1);
    const lines = txt.answers[0]!.data as string[];
    expect(lines[0]).toBe('Name: a');
    expect(lines[1]).toBe(`Ips: [${net.overlayIp('a')}/24]`);
    expect(lines).toContain('IsCA false');
  });

  it('logs "Firewall started" once per node, workers included', () => {
    for (const h of ['lh', 'a', 'b']) {
      const n = jsonLines(net.log(h)).filter((l) => l.msg === 'Firewall started').length;
      expect(n, h).toBe(1);
    }
  });

  it('serve_dns on a host that is not a lighthouse: a warning, no listener', async () => {
    const warned = jsonLines(net.log('b')).find(
      (l) => l.msg === 'DNS server refusing to run because this host is not a lighthouse.',
    );
    expect(warned, net.log('b').slice(0, 2000)).toBeDefined();
    const ss = await net.exec('b', ['ss', '-Hlun', `sport = :${DNS_PORT}`], { timeoutMs: 5000 });
    expect(ss.stdout.trim()).toBe('');
  });

  it('our tun-less lighthouse answers pings (ICMP echo responder)', async () => {
    const r = await net.ping('a', 'lh', { count: 3, timeoutMs: 10_000 });
    expect(r.received).toBe(3);
  });

  it('TCP both ways through the routines arrives intact, with TSO on a and a plain tun on b', async () => {
    const ab = await net.tcpTransfer('a', 'b', { bytes: 4 << 20 });
    expect(ab.receivedSha).toBe(ab.sentSha);
    const ba = await net.tcpTransfer('b', 'a', { bytes: 4 << 20, port: 5301 });
    expect(ba.receivedSha).toBe(ba.sentSha);
    // The kernel counts one packet per tun read or write: on a (tun.tso default) the super-segments
    // it handed over and the merged runs we wrote average above the MTU; on b (tun.tso false) none can.
    const a = await tunAverages(net, 'a');
    expect(a.tx).toBeGreaterThan(1300);
    expect(a.rx).toBeGreaterThan(1300);
    const b = await tunAverages(net, 'b');
    expect(b.tx).toBeLessThanOrEqual(1300);
    expect(b.rx).toBeLessThanOrEqual(1300);
    // And each says so when it comes up.
    const active = (h: string) => jsonLines(net.log(h)).find((l) => l.msg === 'Nebula interface is active');
    // Both run their routines on their own threads blocking in poll(): a has 2, b the default 1.
    expect(active('a')).toMatchObject({ interface: 'nebula1', tso: true, routineLoop: 'poll' });
    expect(active('b')).toMatchObject({ interface: 'nebula1', tso: false, routineLoop: 'poll' });
  });

  it('the binary runs V8 and libuv helper threads at SCHED_IDLE, its main and routine threads normally', async () => {
    // The kernel's view: /proc/<pid>/task/<tid>/stat field 41 (policy), and the first field of
    // /proc/<pid>/task/<tid>/syscall (the syscall a thread is blocked in; 7 = poll on x86-64).
    const pid = net.nodePid('a');
    expect(pid).toBeDefined();
    const sample = () =>
      readdirSync(`/proc/${pid}/task`).map((tid) => {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const syscall = readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8').split(' ')[0];
        return { tid: Number(tid), policy: Number(f[38]), inPoll: syscall === '7' };
      });
    // a's two routine threads block in poll(); helpers wait in futex, the main thread in epoll. A
    // routine can be between two waits at the moment of a sample: a few samples, 50 ms apart.
    let threads = sample();
    for (let i = 0; i < 40 && threads.filter((t) => t.inPoll).length !== 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      threads = sample();
    }
    const routines = threads.filter((t) => t.inPoll);
    expect(routines.length).toBe(2);
    expect(routines.map((t) => t.policy)).toEqual([0, 0]);
    const idle = threads.filter((t) => t.policy === 5);
    expect(idle.length).toBeGreaterThanOrEqual(4); // V8's platform workers at least
    expect(threads.filter((t) => t.policy !== 5 && t.policy !== 0)).toEqual([]);
    expect(threads.find((t) => t.tid === pid)?.policy).toBe(0);
  });

  it('SIGHUP swaps the firewall in every routine worker (new TCP flows refused, then allowed again)', async () => {
    const base = net.baseConfig('a', { logFormat: 'json', routines: 2 }) as Record<string, unknown> & {
      firewall: Record<string, unknown>;
    };
    net.writeConfig('a', {
      ...base,
      firewall: { ...base.firewall, inbound: [{ port: 'any', proto: 'icmp', host: 'any' }] },
    });
    let before = net.logOffset('a');
    await net.signal('a', 'SIGHUP');
    await net.waitForLog('a', /New firewall has been installed/, 5000, before);
    await expect(
      net.tcpTransfer('b', 'a', { bytes: 64 << 10, port: 5310, timeoutMs: 4000 }),
    ).rejects.toThrow();
    expect((await net.ping('b', 'a', { count: 1, timeoutMs: 5000 })).received).toBe(1);
    net.writeConfig('a', base);
    before = net.logOffset('a');
    await net.signal('a', 'SIGHUP');
    await net.waitForLog('a', /New firewall has been installed/, 5000, before);
    const t = await net.tcpTransfer('b', 'a', { bytes: 256 << 10, port: 5311 });
    expect(t.receivedSha).toBe(t.sentSha);
  });

  it('counters sent concurrently by both routines never repeat on the wire', async () => {
    const file = join(net.dir, 'a-out.pcap');
    expect((await net.ping('a', 'b', { count: 1, timeoutMs: 10_000 })).received).toBe(1);
    // Bounded capture: tcpdump runs 6 s (SIGINT flushes the file).
    const dump = net.exec(
      'a',
      [
        'timeout',
        '-s',
        'INT',
        '6',
        'tcpdump',
        '-i',
        'eth0',
        '-U',
        '-n',
        '-s',
        '0',
        '-w',
        file,
        'udp',
        'and',
        'src',
        'host',
        net.underlayIp('a'),
        'and',
        'dst',
        'host',
        net.underlayIp('b'),
      ],
      { timeoutMs: 30_000 },
    );
    await new Promise((r) => setTimeout(r, 800));
    // Many UDP flows with no reverse traffic: the kernel spreads them over both tun queues.
    const blast = await net.exec(
      'a',
      [
        process.execPath,
        TOOL,
        JSON.stringify({
          mode: 'blast',
          target: `${net.overlayIp('b')}:9`,
          flows: 16,
          count: 250,
          size: 300,
        }),
      ],
      { timeoutMs: 30_000 },
    );
    expect(blast.code).toBe(0);
    await dump;
    const seen = new Map<number, Set<number>>();
    let total = 0;
    let dups = 0;
    for (const p of splitGso(parsePcap(readFileSync(file)))) {
      const t = p[0]! & 0x0f;
      if (p.length < 16 || t === 0 || t === 2) continue; // handshakes and recv_errors carry no send counter
      const idx = p.readUInt32BE(4);
      const ctr = p.readUInt32BE(8) * 2 ** 32 + p.readUInt32BE(12);
      let s = seen.get(idx);
      if (!s) {
        s = new Set();
        seen.set(idx, s);
      }
      if (s.has(ctr)) dups++;
      s.add(ctr);
      total++;
    }
    expect(total, `blast: ${blast.stdout}`).toBeGreaterThan(2000);
    expect(dups).toBe(0);
    // Both routines really sent: each logs its packet counts when it stops.
    const before = net.logOffset('a');
    const bBefore = net.logOffset('b');
    expect((await net.stop('a'))?.code).toBe(0);
    // CloseTunnel went out through routine 0's socket before the workers stopped.
    const closed = await net.waitForLog('b', /Close tunnel received, tearing down\./, 3000, bBefore);
    expect(JSON.parse(closed)).toMatchObject({ vpnIp: net.overlayIp('a'), certName: 'a' });
    const stops = jsonLines(net.log('a').slice(before)).filter((l) => l.msg === 'Routine stopped');
    expect(stops.length).toBe(2);
    for (const s of stops) expect(s.txPackets as number).toBeGreaterThan(100);
  });

  it("serve_dns after a's tunnel to the lighthouse closed: A still answers (1.6.1 keeps names), TXT no longer", async () => {
    // a stopped above: its CloseTunnel tears the lighthouse's tunnel down.
    let txt: DnsReply | undefined;
    for (let i = 0; i < 20; i++) {
      txt = await dns(net, `${net.overlayIp('a')}.`, 16);
      if (txt.answers.length === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(txt).toEqual({ rcode: 0, answers: [] });
    expect((await dns(net, 'a.')).answers).toEqual([{ type: 1, data: net.overlayIp('a') }]);
    expect((await dns(net, 'b.')).answers).toEqual([{ type: 1, data: net.overlayIp('b') }]);
  });

  it('SIGHUP with a new lighthouse.dns.port rebinds the responder, records kept', async () => {
    const lh = net.baseConfig('lh', { logFormat: 'json' }) as Record<string, unknown> & {
      tun: Record<string, unknown>;
      lighthouse: Record<string, unknown>;
    };
    lh.tun = { ...lh.tun, disabled: true };
    lh.lighthouse = { ...lh.lighthouse, serve_dns: true, dns: { host: '127.0.0.1', port: DNS_PORT + 1 } };
    net.writeConfig('lh', lh);
    const before = net.logOffset('lh');
    await net.signal('lh', 'SIGHUP');
    const line = await net.waitForLog('lh', /Starting DNS responder/, 5000, before);
    expect(JSON.parse(line)).toMatchObject({ dnsListener: `127.0.0.1:${DNS_PORT + 1}` });
    expect((await dns(net, 'b.', 1, DNS_PORT + 1)).answers).toEqual([{ type: 1, data: net.overlayIp('b') }]);
    const ss = await net.exec('lh', ['ss', '-Hlun', `sport = :${DNS_PORT}`], { timeoutMs: 5000 });
    expect(ss.stdout.trim()).toBe('');
  });
});

/**
 * Our udp package sends runs of equal-size packets with UDP GSO, and a veth tap sees the unsplit
 * super-datagram: cut each payload at the segment size, found as the first offset where the next
 * Nebula header (same type byte, same remote index) starts at every multiple.
 */
function splitGso(payloads: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const p of payloads) {
    if (p.length < 32) {
      out.push(p);
      continue;
    }
    let seg = p.length;
    for (let s = 32; s < p.length; s++) {
      let ok = true;
      for (let o = s; o + 8 <= p.length && ok; o += s)
        ok = p[o] === p[0] && p.readUInt32BE(o + 4) === p.readUInt32BE(4) && p[o + 1] === p[1];
      if (ok) {
        seg = s;
        break;
      }
    }
    for (let o = 0; o < p.length; o += seg) out.push(p.subarray(o, Math.min(p.length, o + seg)));
  }
  return out;
}

/** UDP payloads of an Ethernet/IPv4 pcap (snaplen may cut them; headers are all we need). */
function parsePcap(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const incl = buf.readUInt32LE(off + 8);
    const frame = buf.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    if (frame.length < 42 || frame.readUInt16BE(12) !== 0x0800) continue;
    const udp = 14 + (frame[14]! & 0x0f) * 4;
    out.push(Buffer.from(frame.subarray(udp + 8)));
  }
  return out;
}
