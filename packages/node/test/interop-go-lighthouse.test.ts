/**
 * Our node as the lighthouse (tun disabled, two routines) for Go nebula 1.6.1 clients: the Go
 * nodes register with HostUpdateNotification, find each other with HostQuery / HostQueryReply /
 * HostPunchNotification through us, and can ping the lighthouse itself (ICMP echo responder).
 */
import { requireGoNebula, requireRoot, Testnet } from '@nebula-ts/e2e';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines } from './helpers.js';

describe('Go nebula 1.6.1 clients through our lighthouse (tun disabled, routines 2)', () => {
  let net: Testnet;

  beforeAll(async () => {
    requireRoot();
    requireGoNebula();
    net = await Testnet.create({ prefix: 'ndgl', hosts: ['lh', 'a', 'b'] });
    await net.makePki({ tool: 'go' });
    const lh = net.baseConfig('lh', { logFormat: 'json', routines: 2 }) as Record<string, unknown> & {
      tun: Record<string, unknown>;
    };
    lh.tun = { ...lh.tun, disabled: true };
    lh.stats = {
      type: 'prometheus',
      listen: '127.0.0.1:0',
      path: '/metrics',
      interval: '10s',
      message_metrics: true,
      lighthouse_metrics: true,
    };
    net.writeConfig('lh', lh);
    for (const h of ['a', 'b']) net.writeConfig(h, net.baseConfig(h, { logFormat: 'json', interval: 1 }));
    await net.start('lh', { impl: 'ts' });
    await net.start('a', { impl: 'go' });
    await net.start('b', { impl: 'go' });
  });

  afterAll(async () => {
    await net?.destroy();
  });

  it('Go clients find each other through our lighthouse and ping both ways', async () => {
    const ab = await net.ping('a', 'b', { count: 3, timeoutMs: 15_000 });
    expect(ab.received).toBeGreaterThanOrEqual(2);
    const ba = await net.ping('b', 'a', { count: 3, timeoutMs: 10_000 });
    expect(ba.received).toBe(3);
    // Both Go clients completed handshakes with us (we were the responder).
    const got = jsonLines(net.log('lh')).filter((l) => l.msg === 'Handshake message received');
    expect(new Set(got.map((l) => l.certName))).toEqual(new Set(['a', 'b']));
  });

  it("our tun-less lighthouse answers Go clients' pings", async () => {
    const r = await net.ping('a', 'lh', { count: 3, timeoutMs: 10_000 });
    expect(r.received).toBe(3);
  });
});
