/**
 * Interop with Debian's Go nebula 1.6.1 in network namespaces: a Go lighthouse, a Go peer and our
 * node, for both ciphers. Our node is the initiator towards the lighthouse and the responder for
 * the Go peer's first ping (both handshake roles), then pings flow both ways.
 */
import { requireGoNebula, requireRoot, Testnet } from '@nebula-ts/e2e';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines } from './helpers.js';

// chachapoly runs our node with 2 routines (worker threads) so both data-path modes meet Go.
for (const [cipher, routines] of [
  ['aes', 1],
  ['chachapoly', 2],
] as const) {
  describe(`TS node ↔ Go nebula 1.6.1 through a Go lighthouse (cipher ${cipher}, routines ${routines})`, () => {
    let net: Testnet;

    beforeAll(async () => {
      requireRoot();
      requireGoNebula();
      net = await Testnet.create({ prefix: 'ndig', hosts: ['lh', 'a', 'b'] });
      await net.makePki({ tool: 'go' });
      for (const h of net.hosts)
        net.writeConfig(
          h,
          net.baseConfig(h, { cipher, logFormat: 'json', routines: h === 'a' ? routines : 1 }),
        );
      await net.start('lh', { impl: 'go' });
      await net.start('b', { impl: 'go' });
      await net.start('a', { impl: 'ts' });
    });

    afterAll(async () => {
      await net?.destroy();
    });

    it('Go peer handshakes to us (we are the responder) and pings us', async () => {
      const r = await net.ping('b', 'a', { count: 3, timeoutMs: 15_000 });
      expect(r.received).toBeGreaterThanOrEqual(2);
      const lines = jsonLines(net.log('a'));
      const stage1 = lines.find(
        (l) =>
          l.msg === 'Handshake message received' &&
          (l.handshake as { stage: number }).stage === 1 &&
          l.certName === 'b',
      );
      expect(stage1, 'our node logs the Go stage 1').toBeDefined();
      expect(
        lines.some(
          (l) =>
            l.msg === 'Handshake message sent' &&
            (l.handshake as { stage: number }).stage === 2 &&
            l.vpnIp === net.overlayIp('b'),
        ),
      ).toBe(true);
    });

    it('we handshake to the Go lighthouse (initiator) and ping it', async () => {
      const r = await net.ping('a', 'lh', { count: 3, timeoutMs: 15_000 });
      expect(r.received).toBeGreaterThanOrEqual(2);
      const lines = jsonLines(net.log('a'));
      const stage2 = lines.find(
        (l) =>
          l.msg === 'Handshake message received' &&
          (l.handshake as { stage: number }).stage === 2 &&
          l.certName === 'lh',
      );
      expect(stage2, 'our node completed a stage 2 from the lighthouse').toBeDefined();
      expect(typeof stage2!.durationNs).toBe('number');
    });

    it('pings flow both ways between our node and the Go peer', async () => {
      const ab = await net.ping('a', 'b', { count: 5, timeoutMs: 15_000 });
      const ba = await net.ping('b', 'a', { count: 5, timeoutMs: 15_000 });
      expect(ab.received).toBeGreaterThanOrEqual(4);
      expect(ba.received).toBeGreaterThanOrEqual(4);
    });

    if (cipher !== 'aes') {
      it('TCP through the worker routines arrives intact', async () => {
        const ab = await net.tcpTransfer('a', 'b', { bytes: 4 << 20, timeoutMs: 30_000 });
        expect(ab.receivedSha).toBe(ab.sentSha);
      });
      return;
    }

    it('TCP transfers both ways arrive intact (sha256 match)', async () => {
      const ab = await net.tcpTransfer('a', 'b', { bytes: 4 << 20, timeoutMs: 30_000 });
      expect(ab.bytes).toBe(4 << 20);
      expect(ab.receivedSha).toBe(ab.sentSha);
      const ba = await net.tcpTransfer('b', 'a', { bytes: 2 << 20, port: 5301, timeoutMs: 30_000 });
      expect(ba.receivedSha).toBe(ba.sentSha);
    });

    it('a Go peer restart brings the tunnel back (its CloseTunnel is honoured)', async () => {
      const before = net.logOffset('a');
      await net.stop('b');
      // Go sends CloseTunnel on SIGTERM: we tear down with Nebula's log line and fields.
      const line = await net.waitForLog('a', /Close tunnel received, tearing down\./, 10_000, before);
      const rec = JSON.parse(line) as Record<string, unknown>;
      expect(rec.vpnIp).toBe(net.overlayIp('b'));
      expect(rec.certName).toBe('b');
      expect(rec.udpAddr).toBe(`${net.underlayIp('b')}:4242`);
      await net.start('b', { impl: 'go' });
      const r = await net.ping('a', 'b', { count: 3, timeoutMs: 15_000 });
      expect(r.received).toBeGreaterThanOrEqual(2);
    });

    it('a Go peer killed without CloseTunnel comes back after its restart', async () => {
      const pid = net.nodePid('b');
      expect(pid).toBeDefined();
      await net.signal('b', 'SIGKILL');
      await net.stop('b');
      await net.start('b', { impl: 'go' });
      // Our stale tunnel meets recv_errors / a newer handshake from b; either way it recovers.
      const r = await net.ping('b', 'a', { count: 3, timeoutMs: 20_000 });
      expect(r.received).toBeGreaterThanOrEqual(2);
      const r2 = await net.ping('a', 'b', { count: 2, timeoutMs: 10_000 });
      expect(r2.received).toBeGreaterThanOrEqual(1);
    });

    it('stopping our node sends CloseTunnel: Go drops the tunnel at once; we exit 0 and remove the tun', async () => {
      const before = net.logOffset('b');
      const exit = await net.stop('a');
      expect(exit?.code).toBe(0);
      await net.waitForLog('b', /Close tunnel received, tearing down/, 5000, before);
      const link = await net.exec('a', ['ip', '-o', 'link', 'show', 'nebula1'], { timeoutMs: 5000 });
      expect(link.code).not.toBe(0);
    });
  });
}
