/**
 * `network.tcp.rtt` (firewall.md §4) beside Go 1.6.1's: our node (a) and a Go node (b) exchange TCP
 * through the overlay; both export the histogram under the same name and `type` labels, both
 * counted the handshakes and ACKs they measured, and the values are overlay round trips.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireGoNebula, requireRoot, Testnet } from '../src/index.js';
import { type Samples, scrape } from './helpers/lighthouse-probe.js';

const STATS_PORT = 9102;

describe('network.tcp.rtt: ours and Go 1.6.1 side by side', () => {
  let net: Testnet;
  const url = (h: string) => `http://${net.underlayIp(h)}:${STATS_PORT}/metrics`;
  const rtt = (s: Samples, type: string) => s.get(`network_tcp_rtt{type="${type}"}`);

  beforeAll(async () => {
    requireRoot();
    requireGoNebula();
    net = await Testnet.create({ prefix: 'rtt', hosts: ['lh', 'a', 'b'] });
    await net.makePki({ tool: 'go' });
    net.writeConfig('lh', net.baseConfig('lh'));
    for (const h of ['a', 'b'])
      net.writeConfig(h, {
        ...net.baseConfig(h),
        stats: {
          type: 'prometheus',
          listen: `${net.underlayIp(h)}:${STATS_PORT}`,
          path: '/metrics',
          interval: '1s',
        },
      });
    await net.start('lh', { impl: 'go' });
    await net.start('a', { impl: 'ts' });
    await net.start('b', { impl: 'go' });
  }, 90_000);

  afterAll(async () => {
    await net?.destroy();
  });

  it('after TCP both ways, both nodes report RTT samples with the same labels', async () => {
    // Several connections each way: every SYN and first data segment opens a measurement.
    for (let i = 0; i < 3; i++) {
      const ab = await net.tcpTransfer('a', 'b', { bytes: 256 << 10, port: 5400 + i, timeoutMs: 30_000 });
      expect(ab.receivedSha).toBe(ab.sentSha);
      const ba = await net.tcpTransfer('b', 'a', { bytes: 256 << 10, port: 5410 + i, timeoutMs: 30_000 });
      expect(ba.receivedSha).toBe(ba.sentSha);
    }
    // Go refreshes its exporter every stats.interval.
    await new Promise((r) => setTimeout(r, 1500));
    const ours = (await scrape(net, 'a', url('a'))).samples;
    const go = (await scrape(net, 'b', url('b'))).samples;
    const labels = (s: Samples) => [...s.keys()].filter((k) => k.startsWith('network_tcp_rtt{')).sort();
    const show = (s: Samples) => ({ count: rtt(s, 'count'), perc75: rtt(s, 'perc75'), max: rtt(s, 'max') });
    console.log('network.tcp.rtt (ns)', { ours: show(ours), go: show(go) });
    expect(labels(ours)).toEqual(labels(go).filter((k) => !/rate/.test(k)));
    for (const [who, s] of [
      ['ours', ours],
      ['go', go],
    ] as const) {
      expect(rtt(s, 'count'), who).toBeGreaterThan(0);
      // Overlay round trips in ns: more than 10 µs, less than a second.
      expect(rtt(s, 'perc75'), who).toBeGreaterThan(10_000);
      expect(rtt(s, 'perc75'), who).toBeLessThan(1e9);
    }
  }, 120_000);
});
