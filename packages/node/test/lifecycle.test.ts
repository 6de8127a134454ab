/**
 * Connection manager and reload against a Go peer (static_host_map only, no lighthouse):
 * a dead tunnel is tested then deleted (timers 1 s / 1 s), SIGHUP applies a new firewall
 * (conntrack kept, flows re-checked) and refuses a certificate whose IP changed.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { type Pki, requireGoNebula, requireRoot, Testnet } from '@nebula-ts/e2e';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines } from './helpers.js';

describe('connection manager and SIGHUP reload (our node a, Go peer b)', () => {
  let net: Testnet;
  let pki: Pki;
  let aConfig: Record<string, unknown>;

  beforeAll(async () => {
    requireRoot();
    requireGoNebula();
    net = await Testnet.create({ prefix: 'ndlc', hosts: ['a', 'b'] });
    pki = await net.makePki({ tool: 'go' });
    const staticTo = (h: string) => ({ [net.overlayIp(h)]: [`${net.underlayIp(h)}:4242`] });
    aConfig = {
      ...net.baseConfig('a', { lighthouse: null, logFormat: 'json' }),
      static_host_map: staticTo('b'),
      timers: { connection_alive_interval: 1, pending_deletion_interval: 1 },
    };
    net.writeConfig('a', aConfig);
    net.writeConfig('b', {
      ...net.baseConfig('b', { lighthouse: null, logFormat: 'json' }),
      static_host_map: staticTo('a'),
    });
    await net.start('b', { impl: 'go' });
    await net.start('a', { impl: 'ts' });
  });

  afterAll(async () => {
    await net?.destroy();
  });

  it('a tunnel whose peer went silent is tested, then deleted ("Tunnel status" dead); traffic later re-handshakes', async () => {
    expect((await net.ping('a', 'b', { count: 2, timeoutMs: 10_000 })).received).toBe(2);
    const before = net.logOffset('a');
    await net.dropPercent('a', 100);
    try {
      // Outbound traffic marks the tunnel; no answer comes back.
      const pinging = net.ping('a', 'b', { count: 1, timeoutMs: 4000 });
      const line = await net.waitForLog('a', /"msg":"Tunnel status"/, 8000, before);
      const rec = JSON.parse(line) as {
        vpnIp: string;
        certName: string;
        tunnelCheck: { state: string; method: string };
      };
      expect(rec.tunnelCheck).toEqual({ state: 'dead', method: 'active' });
      expect(rec.vpnIp).toBe(net.overlayIp('b'));
      expect(rec.certName).toBe('b');
      await pinging;
    } finally {
      await net.dropPercent('a', 0);
    }
    // >= : once, under heavy machine load, ping reported a DUP reply here (not reproduced since).
    expect((await net.ping('a', 'b', { count: 2, timeoutMs: 10_000 })).received).toBeGreaterThanOrEqual(2);
    const sent = jsonLines(net.log('a').slice(before)).filter((l) => l.msg === 'Handshake message sent');
    expect(sent.length).toBeGreaterThan(0);
  });

  it('SIGHUP installs a new firewall: new TCP flows refused, ICMP still allowed; then back', async () => {
    expect((await net.ping('b', 'a', { count: 1, timeoutMs: 5000 })).received).toBe(1);
    const icmpOnly = {
      ...aConfig,
      firewall: { ...(aConfig.firewall as object), inbound: [{ port: 'any', proto: 'icmp', host: 'any' }] },
    };
    net.writeConfig('a', icmpOnly);
    let before = net.logOffset('a');
    await net.signal('a', 'SIGHUP');
    await net.waitForLog('a', /New firewall has been installed/, 5000, before);
    expect((await net.ping('b', 'a', { count: 2, timeoutMs: 5000 })).received).toBe(2);
    await expect(
      net.tcpTransfer('b', 'a', { bytes: 64 << 10, port: 5302, timeoutMs: 4000 }),
    ).rejects.toThrow();
    net.writeConfig('a', aConfig);
    before = net.logOffset('a');
    await net.signal('a', 'SIGHUP');
    await net.waitForLog('a', /New firewall has been installed/, 5000, before);
    const t = await net.tcpTransfer('b', 'a', { bytes: 256 << 10, port: 5303 });
    expect(t.receivedSha).toBe(t.sentSha);
  });

  it('SIGHUP with a certificate for another IP keeps the old one', async () => {
    const crt = join(net.dir, 'a-other.crt');
    const key = join(net.dir, 'a-other.key');
    execFileSync('nebula-cert', [
      'sign',
      '-ca-crt',
      pki.caCrt,
      '-ca-key',
      pki.caKey,
      '-name',
      'a2',
      '-ip',
      '203.0.113.99/24',
      '-out-crt',
      crt,
      '-out-key',
      key,
    ]);
    net.writeConfig('a', { ...aConfig, pki: { ...(aConfig.pki as object), cert: crt, key } });
    const before = net.logOffset('a');
    await net.signal('a', 'SIGHUP');
    await net.waitForLog('a', /IP address of the certificate changed/, 5000, before);
    net.writeConfig('a', aConfig);
    expect((await net.ping('b', 'a', { count: 2, timeoutMs: 5000 })).received).toBe(2);
  });
});
