/**
 * Hostile packets against a running node (issue #10): our probe (an independent Nebula peer in
 * namespace `p`) handshakes with node `a` and sends replayed, reordered, forged, truncated and
 * oversized packets, bad certificates and floods. After every batch, `a` is alive and a legit Go
 * peer `b` still pings it. HOSTILE_IMPL=go runs the same table against Go 1.6.1 (to check the
 * expectations themselves).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  concat,
  forgeSignature,
  HandshakeRefused,
  NebulaProbe,
  PROBE_TYPE,
  ProbeAgent,
  pemBytes,
  pemEncode,
  probeHeader,
  readProbeHeader,
  renameCert,
  requireGoNebula,
  requireRoot,
  Testnet,
} from '../src/index.js';

const IMPL = (process.env.HOSTILE_IMPL ?? 'ts') as 'ts' | 'go';
const CIPHER = (process.env.HOSTILE_CIPHER ?? 'aes') as 'aes' | 'chachapoly';

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

describe(`hostile packets against a ${IMPL} node (${CIPHER})`, () => {
  let net: Testnet;
  let agent: ProbeAgent;
  let probe: NebulaProbe;
  let target: string;
  let aIp: string;
  const certs: Record<string, { crt: string; key: string }> = {};

  const certPem = (h: string) => readFileSync(certs[h]?.crt ?? join(net.hostDir(h), 'host.crt'), 'utf8');
  const keyPem = (h: string) => readFileSync(certs[h]?.key ?? join(net.hostDir(h), 'host.key'), 'utf8');

  async function nebulaCert(args: string[]): Promise<void> {
    const r = await net.exec('p', ['nebula-cert', ...args], { timeoutMs: 20_000 });
    if (r.code !== 0) throw new Error(`nebula-cert ${args.join(' ')}: ${r.stderr}`);
  }

  const tailOf = (h: string) => net.log(h).split('\n').slice(-40).join('\n').slice(-12_000);

  /** The node is alive and a legit peer (Go b) pings it; the probe's own tunnel still works. */
  async function assertHealthy(withProbe = true): Promise<void> {
    expect(net.isRunning('a'), `a exited: ${JSON.stringify(net.exitStatus('a'))}`).toBe(true);
    const r = await net.ping('b', 'a', { count: 2, timeoutMs: 15_000 });
    // >= : a late reply to a retried echo counts too (ping prints it as DUP)
    expect(
      r.received,
      `legit ping b -> a\n--- a ---\n${tailOf('a')}\n--- b ---\n${tailOf('b')}`,
    ).toBeGreaterThanOrEqual(2);
    if (withProbe) expect(await probe.ping(aIp, { tries: 4 }), 'probe ping through its tunnel').toBe(true);
  }

  /** The probe's tunnel works, else a fresh handshake (a previous test may have closed it). */
  async function ensureProbe(): Promise<void> {
    if (probe.established && (await probe.test(1500))) return;
    probe = new NebulaProbe(agent, { cipher: CIPHER, target, certPem: certPem('p'), keyPem: keyPem('p') });
    await probe.handshake({ timeoutMs: 10_000 });
  }

  beforeEach(async () => {
    if (probe) await ensureProbe();
  }, 30_000);

  beforeAll(async () => {
    requireRoot();
    requireGoNebula();
    net = await Testnet.create({ prefix: 'hp', hosts: ['lh', 'a', 'b', 'p'] });
    await net.makePki({ tool: 'go' });
    const d = net.dir;
    // Identities the node must refuse.
    await nebulaCert(['ca', '-name', 'other-ca', '-out-crt', `${d}/o-ca.crt`, '-out-key', `${d}/o-ca.key`]);
    await nebulaCert([
      'sign',
      '-ca-crt',
      `${d}/o-ca.crt`,
      '-ca-key',
      `${d}/o-ca.key`,
      '-name',
      'p-other',
      '-ip',
      '203.0.113.26/24',
      '-out-crt',
      `${d}/p-other.crt`,
      '-out-key',
      `${d}/p-other.key`,
    ]);
    await nebulaCert([
      'sign',
      '-ca-crt',
      `${d}/ca.crt`,
      '-ca-key',
      `${d}/ca.key`,
      '-name',
      'p-exp',
      '-ip',
      '203.0.113.26/24',
      '-duration',
      '1s',
      '-out-crt',
      `${d}/p-exp.crt`,
      '-out-key',
      `${d}/p-exp.key`,
    ]);
    await nebulaCert([
      'sign',
      '-ca-crt',
      `${d}/ca.crt`,
      '-ca-key',
      `${d}/ca.key`,
      '-name',
      'p-blk',
      '-ip',
      '203.0.113.27/24',
      '-out-crt',
      `${d}/p-blk.crt`,
      '-out-key',
      `${d}/p-blk.key`,
    ]);
    for (const n of ['p-other', 'p-exp', 'p-blk']) certs[n] = { crt: `${d}/${n}.crt`, key: `${d}/${n}.key` };
    const blk = await net.exec('p', ['nebula-cert', 'print', '-json', '-path', `${d}/p-blk.crt`]);
    const fp = (JSON.parse(blk.stdout) as { fingerprint: string }).fingerprint;

    for (const h of ['lh', 'a', 'b']) {
      const c = net.baseConfig(h, { cipher: CIPHER }) as { pki: Record<string, unknown> };
      if (h === 'a') c.pki.blocklist = [fp];
      net.writeConfig(h, c);
    }
    await net.start('lh', { impl: 'go' });
    await net.start('a', { impl: IMPL });
    await net.start('b', { impl: 'go' });
    aIp = net.overlayIp('a');
    target = `${net.underlayIp('a')}:4242`;
    agent = await ProbeAgent.start({ ns: net.ns('p'), dir: net.dir });
    probe = new NebulaProbe(agent, { cipher: CIPHER, target, certPem: certPem('p'), keyPem: keyPem('p') });
  }, 90_000);

  afterAll(async () => {
    await agent?.close();
    await net?.destroy();
  });

  it('the probe handshakes with the node; Test and ICMP echo are answered through the tunnel', async () => {
    await probe.handshake({ timeoutMs: 10_000 });
    expect(probe.remoteIndex).not.toBe(0);
    expect(probe.peerCert?.length ?? 0).toBeGreaterThan(0);
    expect(await probe.test()).toBe(true);
    expect(await probe.ping(aIp)).toBe(true);
    await assertHealthy();
  }, 60_000);

  it('a replayed counter is dropped and answered with a recv_error', async () => {
    const from0 = agent.cursor;
    const { packet, seq } = probe.echoPacket(aIp);
    await probe.send(packet);
    expect(await probe.waitEchoReply(seq, 3000, from0), 'original answered').toBe(true);
    const from = agent.cursor;
    await probe.send(packet); // byte-identical replay
    expect(await probe.waitRecvError(3000, from), 'recv_error for the replay').toBe(true);
    expect(await probe.waitEchoReply(seq, 1000, from), 'replay must not reach the tun').toBe(false);
    // Only the first three recv_errors are tolerated by a peer; the node itself keeps our tunnel.
    expect(await probe.ping(aIp)).toBe(true);
    await assertHealthy();
  }, 60_000);

  it('counters reordered inside the window are all accepted; a jump ahead too', async () => {
    const base = probe.counter;
    const p5 = probe.echoPacket(aIp, { counter: base + 5n });
    const p3 = probe.echoPacket(aIp, { counter: base + 3n });
    const p4 = probe.echoPacket(aIp, { counter: base + 4n });
    const p1 = probe.echoPacket(aIp, { counter: base + 1n });
    probe.counter = base + 5n;
    const from = agent.cursor;
    for (const p of [p5, p3, p4, p1]) await probe.send(p.packet);
    for (const p of [p5, p3, p4, p1])
      expect(await probe.waitEchoReply(p.seq, 3000, from), `seq ${p.seq}`).toBe(true);
    // +500 jump, then an older one still inside the 1024 window
    const j = probe.echoPacket(aIp, { counter: base + 505n });
    const o = probe.echoPacket(aIp, { counter: base + 200n });
    probe.counter = base + 505n;
    const from2 = agent.cursor;
    await probe.send(j.packet);
    await probe.send(o.packet);
    expect(await probe.waitEchoReply(j.seq, 3000, from2)).toBe(true);
    expect(await probe.waitEchoReply(o.seq, 3000, from2)).toBe(true);
    // far behind the window: dropped
    const old = probe.echoPacket(aIp, { counter: 3n });
    const from3 = agent.cursor;
    await probe.send(old.packet);
    expect(await probe.waitEchoReply(old.seq, 1500, from3), 'out-of-window counter must be dropped').toBe(
      false,
    );
    await assertHealthy();
  }, 60_000);

  it('forged remote indexes get a recv_error carrying that index and change nothing', async () => {
    for (const idx of [probe.remoteIndex ^ 0x5a5a5a5a, 1, 0xffffffff]) {
      if (idx === probe.remoteIndex) continue;
      const from = agent.cursor;
      const { packet } = probe.echoPacket(aIp);
      const forged = packet.slice();
      new DataView(forged.buffer).setUint32(4, idx >>> 0);
      await probe.send(forged);
      expect(await probe.waitRecvError(3000, from, idx >>> 0), `recv_error for index ${idx}`).toBe(true);
    }
    expect(await probe.test()).toBe(true);
    await assertHealthy();
  }, 60_000);

  it('a valid index with a wrong key (tampered ciphertext) is dropped without a reply; the counter stays usable', async () => {
    const c = probe.counter + 1n;
    const { packet, seq } = probe.echoPacket(aIp, { counter: c });
    const bad = packet.slice();
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0xff;
    const from = agent.cursor;
    await probe.send(bad);
    expect(await probe.waitEchoReply(seq, 1000, from)).toBe(false);
    // check-before-decrypt, update-after: the same counter with the authentic packet is accepted
    await probe.send(packet);
    expect(await probe.waitEchoReply(seq, 3000, from), 'authentic packet with the same counter').toBe(true);
    await assertHealthy();
  }, 60_000);

  it('truncated, empty, header-only and oversized datagrams are dropped; the node keeps serving', async () => {
    const { packet } = probe.echoPacket(aIp);
    const batch: Uint8Array[] = [];
    for (let n = 0; n <= 16; n++) batch.push(packet.subarray(0, n)); // 0..16 bytes
    for (const n of [17, 20, 31, 32, 33, 40, packet.length - 1]) batch.push(packet.subarray(0, n));
    for (const t of [0, 1, 2, 3, 4, 6, 7, 9, 15]) {
      // header only, every type but closeTunnel (Go closes on a header-only one: next test)
      batch.push(probeHeader(t, 0, probe.remoteIndex, probe.counter + 1n));
      batch.push(probeHeader(t, 0xff, probe.remoteIndex, probe.counter + 1n));
    }
    for (const n of [1400, 1500, 9001, 9100, 16_000, 65_000]) {
      const big = NebulaProbe.random(n);
      big.set(probeHeader(PROBE_TYPE.Message, 0, probe.remoteIndex, probe.counter + 2n));
      batch.push(big);
      batch.push(NebulaProbe.random(n));
    }
    // a sealed, oversized inner packet (9000-byte ICMP, beyond the tun MTU)
    batch.push(probe.echoPacket(aIp, { payloadLen: 9000 }).packet);
    for (let i = 0; i < 200; i++) batch.push(NebulaProbe.random(1 + (i % 300)));
    await probe.send(batch);
    await new Promise((r) => setTimeout(r, 1000));
    await assertHealthy();
  }, 60_000);

  it('an unauthenticated (header-only) CloseTunnel: Go 1.6.1 closes the tunnel, ours may verify the tag', async () => {
    const off = net.logOffset('a');
    await probe.send(probeHeader(PROBE_TYPE.CloseTunnel, 0, probe.remoteIndex, probe.counter + 1n));
    await new Promise((r) => setTimeout(r, 500));
    const stillUp = await probe.test(1500);
    console.log(
      `[hostile] ${IMPL}: tunnel after an unauthenticated CloseTunnel: ${stillUp ? 'kept' : 'closed'}`,
    );
    if (IMPL === 'go') expect(stillUp).toBe(false); // spec dataplane.md §4: tag not verified
    void off;
    await ensureProbe();
    await assertHealthy();
  }, 60_000);

  it('an authenticated CloseTunnel closes the tunnel: later packets get a recv_error', async () => {
    await probe.send(probe.seal(PROBE_TYPE.CloseTunnel, 0, new Uint8Array(0)));
    await new Promise((r) => setTimeout(r, 500));
    const from = agent.cursor;
    await probe.send(probe.seal(PROBE_TYPE.Test, 0, new Uint8Array(0)));
    expect(await probe.waitRecvError(3000, from)).toBe(true);
    await ensureProbe();
    await assertHealthy();
  }, 60_000);

  const refused: Array<[string, () => { cert: string; key: string; forge?: (c: Uint8Array) => Uint8Array }]> =
    [
      ['a certificate of another CA', () => ({ cert: certPem('p-other'), key: keyPem('p-other') })],
      ['an expired certificate', () => ({ cert: certPem('p-exp'), key: keyPem('p-exp') })],
      ['a blocklisted certificate', () => ({ cert: certPem('p-blk'), key: keyPem('p-blk') })],
      ['a forged signature', () => ({ cert: certPem('p'), key: keyPem('p'), forge: forgeSignature })],
      [
        'a renamed certificate (stale signature)',
        () => ({ cert: certPem('p'), key: keyPem('p'), forge: (c) => renameCert(c, 'lh') }),
      ],
      ['a valid certificate with the wrong private key', () => ({ cert: certPem('p'), key: keyPem('b') })],
    ];
  for (const [what, get] of refused) {
    it(`a handshake with ${what} is refused and logged, no tunnel`, async () => {
      if (what.includes('expired')) await new Promise((r) => setTimeout(r, 1500)); // 1 s validity
      const { cert, key, forge } = get();
      let certText = cert;
      if (forge) certText = pemEncode('NEBULA CERTIFICATE', forge(pemBytes(cert, 'NEBULA CERTIFICATE')));
      const bad = new NebulaProbe(agent, { cipher: CIPHER, target, certPem: certText, keyPem: key });
      const off = net.logOffset('a');
      await expect(bad.handshake({ timeoutMs: 3000, retryMs: 1000 })).rejects.toBeInstanceOf(
        HandshakeRefused,
      );
      await net.waitForLog('a', /Invalid certificate from host|certificate/i, 5000, off);
      expect(net.log('a').slice(off)).not.toMatch(/Handshake message sent/);
      await assertHealthy();
    }, 60_000);
  }

  it('a handshake flood (garbage, mismatched keys, thousands of valid stage 1) keeps RSS bounded; a legit peer still handshakes', async () => {
    const pid = net.nodePid('a');
    expect(pid).toBeDefined();
    const rss0 = rssKb(pid as number);
    const t0 = Date.now();
    // 1. garbage stage 1: handshake header, random body
    const garbage: Uint8Array[] = [];
    for (let i = 0; i < 3000; i++) {
      const body = NebulaProbe.random(i % 400);
      const p = new Uint8Array(16 + body.length);
      p.set(probeHeader(PROBE_TYPE.Handshake, 0, 0, 1));
      p.set(body, 16);
      garbage.push(p);
    }
    for (let i = 0; i < garbage.length; i += 500) await probe.send(garbage.slice(i, i + 500));
    // 2. stage 1 from random static keys claiming p's certificate (must fail verification)
    const flooder = new NebulaProbe(agent, {
      cipher: CIPHER,
      target,
      certPem: certPem('p'),
      keyPem: keyPem('p'),
    });
    for (let round = 0; round < 4; round++) {
      const batch: Uint8Array[] = [];
      for (let i = 0; i < 500; i++) batch.push(flooder.stage1({ staticRandom: true }).packet);
      await probe.send(batch);
    }
    // 3. valid stage 1 from fresh ephemeral keys and indexes: each one is a real new handshake
    const validFrom = agent.cursor;
    for (let round = 0; round < 4; round++) {
      const batch: Uint8Array[] = [];
      for (let i = 0; i < 500; i++) batch.push(flooder.stage1().packet);
      await probe.send(batch);
      await new Promise((r) => setTimeout(r, 200));
    }
    const floodMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 3000));
    const stage2 = agent.since(validFrom).filter((d) => {
      const h = readProbeHeader(d.data);
      return h?.type === PROBE_TYPE.Handshake && h.counter === 2n;
    }).length;
    const rss1 = rssKb(pid as number);
    console.log(
      `[hostile] handshake flood: 3000 garbage + 2000 bad-key + 2000 valid stage-1 in ${floodMs} ms; ${stage2} stage-2 replies; RSS ${rss0} -> ${rss1} kB`,
    );
    expect(net.isRunning('a')).toBe(true);
    expect(rss1).toBeLessThan(Math.max(rss0 * 3, rss0 + 300_000));
    // the receive path still works: an unknown index gets a recv_error (no handshake involved)
    const idx = 0x0badf00d;
    const rxFrom = agent.cursor;
    await probe.send(concat(probeHeader(PROBE_TYPE.Message, 0, idx, 99), NebulaProbe.random(32)));
    expect(
      await probe.waitRecvError(5000, rxFrom, idx),
      `after the flood the node no longer answers on UDP\n--- a ---\n${tailOf('a')}`,
    ).toBe(true);
    // a legit peer that has never talked to a completes a handshake and pings: restart b
    await net.stop('b');
    await net.start('b', { impl: 'go' });
    const r = await net.ping('b', 'a', { count: 2, timeoutMs: 20_000 });
    expect(
      r.received,
      `after the flood, b -> a\n--- a ---\n${tailOf('a')}\n--- b ---\n${tailOf('b')}`,
    ).toBeGreaterThanOrEqual(2);
    // and the probe can still make a fresh tunnel
    probe = new NebulaProbe(agent, { cipher: CIPHER, target, certPem: certPem('p'), keyPem: keyPem('p') });
    await probe.handshake({ timeoutMs: 10_000 });
    expect(await probe.ping(aIp, { tries: 4 })).toBe(true);
  }, 120_000);
});
