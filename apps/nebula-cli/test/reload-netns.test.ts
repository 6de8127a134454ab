import { requireGoNebula, requireRoot, Testnet } from '@nebula-ts/e2e';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// SIGHUP firewall reload, end to end in network namespaces: lh and a run Go nebula 1.6.1, b runs the
// implementation under test. The Go variant checks the test itself against the reference; the ts
// variant needs @nebula-ts/node (NebulaNode) and fails until it exists.
describe.each(['go', 'ts'] as const)('SIGHUP firewall reload on b (impl %s)', (impl) => {
  let net: Testnet;
  const icmpOnly = [{ port: 'any', proto: 'icmp', host: 'any' }];
  const tcpOnly = [{ port: 'any', proto: 'tcp', host: 'any' }];

  const bConfig = (inbound: unknown) => {
    const c = net.baseConfig('b') as { firewall: { inbound: unknown } };
    c.firewall.inbound = inbound;
    return c;
  };

  beforeAll(async () => {
    requireRoot();
    requireGoNebula();
    net = await Testnet.create({ prefix: 'ntr', hosts: ['lh', 'a', 'b'] });
    await net.makePki({ tool: 'go' });
    net.writeConfig('lh', net.baseConfig('lh'));
    net.writeConfig('a', net.baseConfig('a'));
    net.writeConfig('b', bConfig(icmpOnly));
    await net.start('lh', { impl: 'go' });
    await net.start('a', { impl: 'go' });
    await net.start('b', { impl });
  }, 60_000);

  afterAll(async () => {
    await net?.destroy();
  });

  it('icmp passes with the initial rules', async () => {
    expect((await net.ping('a', 'b', { count: 2, timeoutMs: 15_000 })).received).toBe(2);
  });

  it('an edited firewall + SIGHUP changes what passes', async () => {
    net.writeConfig('b', bConfig(tcpOnly));
    const from = net.logOffset('b');
    await net.signal('b', 'SIGHUP');
    await net.waitForLog('b', /Caught HUP, reloading config/, 5000, from);
    await net.waitForLog('b', /New firewall has been installed/, 5000, from);
    expect((await net.ping('a', 'b', { count: 1, timeoutMs: 2500 })).received).toBe(0);
    const t = await net.tcpTransfer('a', 'b', { bytes: 256 << 10 });
    expect(t.receivedSha).toBe(t.sentSha);
  });

  it('a bad edit + SIGHUP is logged and the running rules stay', async () => {
    net.writeConfig('b', bConfig([{ port: 'any', proto: 'bogus', host: 'any' }]));
    const from = net.logOffset('b');
    await net.signal('b', 'SIGHUP');
    await net.waitForLog('b', /level=error.*proto was not understood/, 5000, from);
    expect(net.isRunning('b')).toBe(true);
    expect((await net.ping('a', 'b', { count: 1, timeoutMs: 2500 })).received).toBe(0);
    const t = await net.tcpTransfer('a', 'b', { bytes: 256 << 10 });
    expect(t.receivedSha).toBe(t.sentSha);
  });

  it('SIGTERM stops b cleanly and removes its tun', async () => {
    const exit = await net.stop('b');
    expect(exit?.code).toBe(0);
    const link = await net.exec('b', ['ip', 'link', 'show', 'nebula1']);
    expect(link.code).not.toBe(0);
  });
});
