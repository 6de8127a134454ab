/**
 * Edge cases against Go nebula 1.6.1, one namespace net: static_host_map without a lighthouse,
 * certificates our node must refuse (blocklisted, other CA, expired), crafted packets (truncated,
 * unknown index, replayed, forged) and recv_error handling in both directions.
 *
 *   a: our node        b: Go, blocklisted by a     c: Go, cert from another CA
 *   d: crafted stage 1 with an expired cert (no node)   e: Go, a good peer
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Pki, requireBinary, requireGoNebula, requireRoot, Testnet } from '@nebula-ts/e2e';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, PKG_ROOT } from './helpers.js';

const TOOL = join(PKG_ROOT, 'test/fixtures/udp-tool.mjs');

interface ToolResult {
  replies: Array<{ from: string; hex?: string; index?: number; stage1?: boolean }>;
  sent?: number;
}

describe('edge cases against Go nebula 1.6.1 (no lighthouse, static_host_map only)', () => {
  let net: Testnet;
  let pki: Pki;

  const tool = async (
    host: string,
    args: Record<string, unknown>,
    timeoutMs = 15_000,
  ): Promise<ToolResult> => {
    const r = await net.exec(host, [process.execPath, TOOL, JSON.stringify(args)], { timeoutMs });
    if (r.code !== 0) throw new Error(`udp-tool on ${host} failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim()) as ToolResult;
  };
  const aAddr = () => `${net.underlayIp('a')}:4242`;
  const staticTo = (hosts: string[]) =>
    Object.fromEntries(hosts.map((h) => [net.overlayIp(h), [`${net.underlayIp(h)}:4242`]]));

  /** Captures `count` nebula packets on host's eth0 while `during` runs; returns their UDP payloads. */
  const capture = async (
    host: string,
    count: number,
    during: () => Promise<unknown>,
  ): Promise<Array<{ src: string; payload: Buffer }>> => {
    const file = join(net.dir, `${host}-cap.pcap`);
    const dump = net.exec(
      host,
      ['tcpdump', '-i', 'eth0', '-U', '-n', '-c', String(count), '-w', file, 'udp', 'port', '4242'],
      { timeoutMs: 15_000 },
    );
    await new Promise((r) => setTimeout(r, 800));
    await during();
    await dump;
    return parsePcap(readFileSync(file));
  };

  beforeAll(async () => {
    requireRoot();
    requireBinary('tcpdump'); // the wire captures below
    requireGoNebula();
    net = await Testnet.create({ prefix: 'ndeg', hosts: ['a', 'b', 'c', 'd', 'e'] });
    pki = await net.makePki({ tool: 'go' });
    // c: signed by a CA our node does not trust (c itself trusts both).
    const other = join(net.dir, 'other');
    mkdirSync(other, { recursive: true });
    execFileSync('nebula-cert', [
      'ca',
      '-name',
      'other-ca',
      '-out-crt',
      join(other, 'ca.crt'),
      '-out-key',
      join(other, 'ca.key'),
    ]);
    execFileSync('nebula-cert', [
      'sign',
      '-ca-crt',
      join(other, 'ca.crt'),
      '-ca-key',
      join(other, 'ca.key'),
      '-name',
      'c',
      '-ip',
      `${net.overlayIp('c')}/24`,
      '-out-crt',
      join(other, 'c.crt'),
      '-out-key',
      join(other, 'c.key'),
    ]);
    writeFileSync(
      join(other, 'both.crt'),
      readFileSync(pki.caCrt, 'utf8') + readFileSync(join(other, 'ca.crt'), 'utf8'),
    );
    // d: a cert of our CA that expires at once.
    execFileSync('nebula-cert', [
      'sign',
      '-ca-crt',
      pki.caCrt,
      '-ca-key',
      pki.caKey,
      '-name',
      'd',
      '-ip',
      `${net.overlayIp('d')}/24`,
      '-duration',
      '1s',
      '-out-crt',
      join(other, 'd.crt'),
      '-out-key',
      join(other, 'd.key'),
    ]);
    const bFp = (
      JSON.parse(
        execFileSync('nebula-cert', ['print', '-json', '-path', pki.hosts.b!.crt], { encoding: 'utf8' }),
      ) as { fingerprint: string }
    ).fingerprint;

    const cfg = (h: string, extra: Record<string, unknown>) => ({
      ...net.baseConfig(h, { lighthouse: null, logFormat: 'json' }),
      ...extra,
    });
    const aCfg = cfg('a', { static_host_map: staticTo(['b', 'c', 'e']) }) as Record<string, unknown> & {
      pki: Record<string, unknown>;
    };
    aCfg.pki = { ...aCfg.pki, blocklist: [bFp] };
    net.writeConfig('a', aCfg);
    net.writeConfig('b', cfg('b', { static_host_map: staticTo(['a']) }));
    const cCfg = cfg('c', { static_host_map: staticTo(['a']) }) as Record<string, unknown> & {
      pki: Record<string, unknown>;
    };
    cCfg.pki = { ca: join(other, 'both.crt'), cert: join(other, 'c.crt'), key: join(other, 'c.key') };
    net.writeConfig('c', cCfg);
    net.writeConfig('e', cfg('e', { static_host_map: staticTo(['a']) }));
    await net.start('a', { impl: 'ts' });
    await net.start('e', { impl: 'go' });
  });

  afterAll(async () => {
    await net?.destroy();
  });

  it('static_host_map only: we handshake to a static Go host at once and ping both ways', async () => {
    const ab = await net.ping('a', 'e', { count: 3, timeoutMs: 10_000 });
    expect(ab.received).toBeGreaterThanOrEqual(2);
    const ba = await net.ping('e', 'a', { count: 3, timeoutMs: 10_000 });
    expect(ba.received).toBeGreaterThanOrEqual(2);
    const sent = jsonLines(net.log('a')).find(
      (l) => l.msg === 'Handshake message sent' && l.vpnIp === net.overlayIp('e'),
    );
    expect(sent?.udpAddrs).toEqual([`${net.underlayIp('e')}:4242`]);
  });

  it('refuses a blocklisted certificate with a clear log', async () => {
    await net.start('b', { impl: 'go' });
    const r = await net.ping('b', 'a', { count: 1, timeoutMs: 3000 });
    expect(r.received).toBe(0);
    const line = await net.waitForLog(
      'a',
      /Invalid certificate from host.*certificate has been blocked|certificate has been blocked.*Invalid certificate from host/,
      5000,
    );
    const rec = JSON.parse(line) as Record<string, unknown>;
    expect(rec.udpAddr).toBe(`${net.underlayIp('b')}:4242`);
    expect((rec.cert as { details: { name: string } }).details.name).toBe('b');
    await net.stop('b');
  });

  it('refuses a certificate from another CA with a clear log', async () => {
    await net.start('c', { impl: 'go' });
    const r = await net.ping('c', 'a', { count: 1, timeoutMs: 3000 });
    expect(r.received).toBe(0);
    const line = await net.waitForLog('a', /could not find ca for the certificate/, 5000);
    expect(JSON.parse(line).msg).toBe('Invalid certificate from host');
    await net.stop('c');
  });

  it('refuses an expired certificate with a clear log and no answer', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    const other = join(net.dir, 'other');
    const res = await tool('d', {
      mode: 'stage1',
      target: aAddr(),
      cert: join(other, 'd.crt'),
      key: join(other, 'd.key'),
      cipher: 'aes',
      waitMs: 800,
    });
    expect(res.replies).toEqual([]);
    const line = await net.waitForLog('a', /certificate is expired/, 5000);
    expect(JSON.parse(line).msg).toBe('Invalid certificate from host');
  });

  it('a valid crafted stage 1 gets exactly one stage 2 (the TS node answers a well-formed Noise IX initiator)', async () => {
    const res = await tool('d', {
      mode: 'stage1',
      target: aAddr(),
      cert: pki.hosts.d!.crt,
      key: pki.hosts.d!.key,
      cipher: 'aes',
      waitMs: 800,
    });
    // Only handshake packets count: punchy (on in these configs) may send its 1-byte punch to the
    // new tunnel's address within the window, as 1.6.1 does every 10 s. The message names every
    // reply, so that a failure shows what else arrived.
    const headers = res.replies.map(
      (r) => `${r.from} ${r.hex?.slice(0, 32)} (${(r.hex?.length ?? 0) / 2} B)`,
    );
    const handshakes = res.replies.filter((r) => (r.hex?.length ?? 0) >= 32 && r.hex!.startsWith('10'));
    expect(handshakes.length, headers.join('; ')).toBe(1);
    expect(
      res.replies.every((r) => r.hex === '01' || handshakes.includes(r)),
      headers.join('; '),
    ).toBe(true);
    const hdr = Buffer.from(handshakes[0]!.hex!, 'hex');
    expect(hdr[0]).toBe(0x10);
    expect(hdr.readUInt32BE(4)).toBe(0x11223344); // our initiator index echoed as remote index
    expect(hdr.readUInt32BE(12)).toBe(2); // counter 2
  });

  it('drops truncated, unknown-index, replayed and forged packets; recv_error exactly where 1.6.1 sends one', async () => {
    await net.ping('e', 'a', { count: 1, timeoutMs: 5000 });
    const pkts = await capture('e', 6, () => net.ping('e', 'a', { count: 3, timeoutMs: 5000 }));
    const fromE = pkts.find((p) => p.src.startsWith(net.underlayIp('e')) && p.payload[0] === 0x11);
    expect(fromE, 'captured a data packet from e to a').toBeDefined();
    const data = fromE!.payload;
    const index = data.readUInt32BE(4);
    const unknown = Buffer.from(data);
    unknown.writeUInt32BE((index ^ 0x5a5a5a5a) >>> 0, 4);
    const forged = Buffer.from(data);
    forged.writeUInt32BE(0x7fff0000, 12); // a fresh counter passes the window check; the tag fails
    const res = await tool('e', {
      mode: 'send',
      target: aAddr(),
      bind: 5555,
      packets: [
        data.subarray(0, 10).toString('hex'),
        unknown.toString('hex'),
        data.toString('hex'),
        forged.toString('hex'),
      ],
      waitMs: 800,
    });
    const errs = res.replies.map((r) => Buffer.from(r.hex!, 'hex'));
    // Exactly two recv_errors: for the unknown index and for the replay (none for truncated/forged).
    expect(errs.length).toBe(2);
    for (const e of errs) {
      expect(e.length).toBe(16);
      expect(e[0]).toBe(0x12);
    }
    expect(errs.map((e) => e.readUInt32BE(4)).sort()).toEqual([index, (index ^ 0x5a5a5a5a) >>> 0].sort());
    // The tunnel is unharmed.
    const r = await net.ping('e', 'a', { count: 2, timeoutMs: 5000 });
    expect(r.received).toBe(2);
  });

  it('recv_errors from another address are counted, then ignored as spoofing; the tunnel survives', async () => {
    const pkts = await capture('e', 6, () => net.ping('a', 'e', { count: 3, timeoutMs: 5000 }));
    const fromA = pkts.find((p) => p.src.startsWith(net.underlayIp('a')) && p.payload[0] === 0x11);
    expect(fromA).toBeDefined();
    const ourRemoteIndex = fromA!.payload.readUInt32BE(4);
    const re = Buffer.alloc(16);
    re[0] = 0x12;
    re.writeUInt32BE(ourRemoteIndex, 4);
    const before = net.logOffset('a');
    await tool('e', {
      mode: 'send',
      target: aAddr(),
      bind: 5556,
      packets: [re, re, re, re, re].map((b) => b.toString('hex')),
      waitMs: 300,
    });
    await net.waitForLog('a', /Someone spoofing recv_errors\?/, 5000, before);
    const r = await net.ping('a', 'e', { count: 2, timeoutMs: 5000 });
    expect(r.received).toBe(2);
  });

  it('the 4th recv_error from the peer address tears the tunnel down and we re-handshake', async () => {
    // A fresh tunnel (recv_error counts are never reset for the life of a tunnel).
    await net.stop('e');
    await net.start('e', { impl: 'go' });
    const up = await net.ping('a', 'e', { count: 1, timeoutMs: 5000 });
    expect(up.received).toBe(1);
    await net.signal('e', 'SIGKILL');
    await net.stop('e');
    const before = net.logOffset('a');
    // Stand in for e on its address: answer our data with recv_errors.
    const responder = tool('e', { mode: 'recverr', bind: 4242, count: 4, waitMs: 6000 }, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    const pinging = net.ping('a', 'e', { count: 6, timeoutMs: 5000 });
    const res = await responder;
    await pinging;
    expect(res.sent).toBe(4);
    await net.waitForLog('a', /Tearing down tunnel after recv_error/, 3000, before);
    expect(
      res.replies.some((r) => r.stage1),
      'a new stage 1 followed the teardown',
    ).toBe(true);
  });
});

/** Minimal pcap reader: Ethernet + IPv4 + UDP. */
function parsePcap(buf: Buffer): Array<{ src: string; payload: Buffer }> {
  const out: Array<{ src: string; payload: Buffer }> = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const incl = buf.readUInt32LE(off + 8);
    const frame = buf.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    if (frame.length < 42 || frame.readUInt16BE(12) !== 0x0800) continue;
    const ihl = (frame[14]! & 0x0f) * 4;
    const src = `${frame[26]}.${frame[27]}.${frame[28]}.${frame[29]}`;
    const udp = 14 + ihl;
    out.push({ src, payload: Buffer.from(frame.subarray(udp + 8)) });
  }
  return out;
}
