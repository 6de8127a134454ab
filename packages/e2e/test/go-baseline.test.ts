import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isE2eError, requireGoNebula, requireRoot, Testnet } from '../src/index.js';

// Proves the harness and the Go 1.6.1 baseline: lighthouse + two nodes, overlay traffic a <-> b.
describe('Testnet with Go nebula 1.6.1', () => {
  let net: Testnet;

  beforeAll(async () => {
    requireRoot();
    requireGoNebula();
    net = await Testnet.create({ prefix: 'nte', hosts: ['lh', 'a', 'b'] });
    await net.makePki({ tool: 'go', groups: { a: ['x'], b: ['x', 'y'] } });
    for (const h of net.hosts) net.writeConfig(h, net.baseConfig(h));
    for (const h of net.hosts) await net.start(h, { impl: 'go' });
  });

  afterAll(async () => {
    await net?.destroy();
  });

  it('assigns the documented addresses', () => {
    expect(net.underlayIp('lh')).toBe('198.51.100.1');
    expect(net.underlayIp('a')).toBe('198.51.100.11');
    expect(net.overlayIp('b')).toBe('203.0.113.12');
    expect(net.ns('a')).toMatch(new RegExp(`^nte${process.pid}-\\d+-a$`));
  });

  it('a pings b over the overlay through the lighthouse', async () => {
    const r = await net.ping('a', 'b', { count: 3, timeoutMs: 15_000 });
    expect(r.received).toBe(3);
    expect(r.rttMs.every((t) => t > 0)).toBe(true);
    await net.waitForLog('a', /Handshake message received/, 5000);
  });

  it('b pings the lighthouse and a', async () => {
    expect((await net.ping('b', 'lh', { count: 2, timeoutMs: 10_000 })).received).toBe(2);
    expect((await net.ping('b', 'a', { count: 2, timeoutMs: 10_000 })).received).toBe(2);
  });

  it('moves 1 MiB over TCP with matching sha256', async () => {
    const r = await net.tcpTransfer('a', 'b', { bytes: 1 << 20 });
    expect(r.bytes).toBe(1 << 20);
    expect(r.receivedSha).toBe(r.sentSha);
  });

  it('iperf3 over the overlay reports receiver throughput', async () => {
    const r = await net.iperf('a', 'b', { seconds: 1 });
    expect(r.mbps).toBeGreaterThan(1);
  });

  it('exec runs inside the namespace and sees the tun', async () => {
    const r = await net.exec('a', ['ip', '-j', 'addr', 'show', 'dev', 'nebula1']);
    expect(r.code).toBe(0);
    const addrs = JSON.parse(r.stdout) as Array<{ mtu: number; addr_info: Array<{ local: string }> }>;
    expect(addrs[0]?.mtu).toBe(1300);
    expect(addrs[0]?.addr_info.map((a) => a.local)).toContain('203.0.113.11');
  });

  it('100% loss on b cuts the overlay; removing it restores it', async () => {
    await net.dropPercent('b', 100);
    expect((await net.ping('a', 'b', { count: 1, timeoutMs: 2500 })).received).toBe(0);
    await net.dropPercent('b', 0);
    expect((await net.ping('a', 'b', { count: 1, timeoutMs: 10_000 })).received).toBe(1);
  });

  it('SIGHUP reloads a Go node, stop() ends it with SIGTERM', async () => {
    const before = net.logOffset('a');
    await net.signal('a', 'SIGHUP');
    await net.waitForLog('a', /Caught HUP, reloading config/, 5000, before);
    expect(net.isRunning('a')).toBe(true);
    const exit = await net.stop('a');
    expect(exit).toBeDefined();
    expect(net.isRunning('a')).toBe(false);
    expect(net.nodePid('a')).toBeUndefined();
  });

  it('start() fails with the log tail when the node exits early', async () => {
    net.writeConfig('a', 'pki: {ca: /nonexistent}\n', `${net.hostDir('a')}/bad.yml`);
    const err = await net
      .start('a', { impl: 'go', configPath: `${net.hostDir('a')}/bad.yml`, timeoutMs: 10_000 })
      .catch((e: unknown) => e);
    expect(isE2eError(err)).toBe(true);
    expect((err as Error).message).toMatch(/exited/);
  });
});

describe('Testnet lifecycle', () => {
  it('destroy() removes namespaces and the temp dir, and is idempotent', async () => {
    requireRoot();
    const net = await Testnet.create({ prefix: 'ntl', hosts: ['a', 'b'] });
    const { execFileSync } = await import('node:child_process');
    const { existsSync } = await import('node:fs');
    const list = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    expect(list()).toContain(net.ns('a'));
    expect((await net.ping('a', 'b', { underlay: true, count: 1 })).received).toBe(1);
    await net.destroy();
    await net.destroy();
    expect(list()).not.toContain(`${net.base}-`);
    expect(existsSync(net.dir)).toBe(false);
  });

  it('rejects bad host names', async () => {
    requireRoot();
    await expect(Testnet.create({ hosts: ['br'] })).rejects.toThrow(/bad host name/);
    await expect(Testnet.create({ hosts: ['Has Space'] })).rejects.toThrow(/bad host name/);
  });
});
