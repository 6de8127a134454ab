/**
 * Issue #7, in network namespaces: our lighthouse serves Go 1.6.1 nodes and Go's lighthouse serves
 * ours. The nodes' static_host_map holds ONLY the lighthouse, so a can only reach b at b's
 * underlay address after learning it from the lighthouse (HostQueryReply). Also: the meta counters
 * on the Prometheus endpoint move with the control packets and not with data packets, the metric
 * names match Go's, and the lighthouse DNS answers A queries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireGoNebula, requireRoot, Testnet } from '../src/index.js';
import { dnsQuery, familyNames, type Samples, scrape, v } from './helpers/lighthouse-probe.js';

const STATS_PORT = 9100;
const DNS_PORT = 5353;
const PINGS = 20;

/** The meta counters issue #7 asks about (Prometheus names, empty namespace/subsystem). */
const WATCHED = [
  'lighthouse_rx_HostUpdateNotification',
  'lighthouse_rx_HostQuery',
  'lighthouse_tx_HostQueryReply',
  'lighthouse_tx_HostPunchNotification',
  'messages_rx_handshake_ixpsk0',
  'messages_tx_handshake_ixpsk0',
  'messages_rx_lighthouse',
  'messages_tx_lighthouse',
] as const;

function lighthouseConfig(net: Testnet, tunDisabled = false): Record<string, unknown> {
  const base = net.baseConfig('lh', { logLevel: 'debug' }) as {
    lighthouse: Record<string, unknown>;
    tun: Record<string, unknown>;
  } & Record<string, unknown>;
  return {
    ...base,
    tun: { ...base.tun, disabled: tunDisabled },
    lighthouse: {
      ...base.lighthouse,
      serve_dns: true,
      dns: { host: net.underlayIp('lh'), port: DNS_PORT },
    },
    stats: {
      type: 'prometheus',
      listen: `${net.underlayIp('lh')}:${STATS_PORT}`,
      path: '/metrics',
      interval: '1s',
      message_metrics: true,
      lighthouse_metrics: true,
    },
  };
}

function nodeConfig(net: Testnet, host: string): Record<string, unknown> {
  const c = net.baseConfig(host, { logLevel: 'debug' });
  // The whole point: the only address a node is told about is the lighthouse's.
  expect(c.static_host_map).toEqual({ [net.overlayIp('lh')]: [`${net.underlayIp('lh')}:4242`] });
  expect((c.lighthouse as { hosts: string[] }).hosts).toEqual([net.overlayIp('lh')]);
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function deltas(before: Samples, after: Samples, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = v(after, n) - v(before, n);
  return out;
}

/** Scrapes until `ok` holds (the exporter refreshes every stats.interval), bounded. */
async function scrapeUntil(
  net: Testnet,
  url: string,
  ok: (s: Samples) => boolean,
  timeoutMs = 10_000,
): Promise<Samples> {
  const deadline = Date.now() + timeoutMs;
  let last: Samples = new Map();
  for (let i = 0; i < 50; i++) {
    try {
      last = (await scrape(net, 'lh', url)).samples;
      if (ok(last)) return last;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    if (Date.now() > deadline) break;
    await sleep(500);
  }
  return last;
}

/** A line of `host`'s log naming `peer` by vpnIp and by its underlay address in a handshake. */
function handshakeEvidence(net: Testnet, host: string, peer: string): string | undefined {
  const vpn = net.overlayIp(peer).replaceAll('.', '\\.');
  const udp = `${net.underlayIp(peer).replaceAll('.', '\\.')}:4242`;
  const re = /Handshake message (received|sent)/;
  return net
    .log(host)
    .split('\n')
    .find((l) => re.test(l) && new RegExp(vpn).test(l) && new RegExp(udp).test(l));
}

/**
 * Pings the lighthouse's overlay IP from a PINGS times and returns every messages_/lighthouse_
 * counter that moved meanwhile. Data (type 1) packets must never be counted on a real tun.
 */
async function countersMovedByPings(net: Testnet, url: string): Promise<Record<string, number>> {
  const before = (await scrape(net, 'lh', url)).samples;
  const r = await net.ping('a', 'lh', { count: PINGS, timeoutMs: 30_000 });
  expect(r.received, `a -> lh over the overlay\n${net.log('lh').slice(-3000)}`).toBe(PINGS);
  await sleep(2500); // > stats.interval: the Go exporter copies values every interval
  const after = (await scrape(net, 'lh', url)).samples;
  return Object.fromEntries(
    Object.entries(deltas(before, after, familyNames(after))).filter(([, d]) => d !== 0),
  );
}

/**
 * Restarts the lighthouse with `tun.disabled: true` (1.6.1 then answers ICMP echo itself and, with
 * message_metrics, counts packets delivered to / read from the disabled tun as
 * messages.rx/tx.message) and pings it PINGS times from a.
 */
async function disabledTunPhase(
  net: Testnet,
  impl: 'go' | 'ts',
  url: string,
): Promise<{ moved: Record<string, number>; names: string[] }> {
  await net.stop('lh');
  net.writeConfig('lh', lighthouseConfig(net, true));
  await net.start('lh', { impl, timeoutMs: 30_000 });
  const before = await scrapeUntil(net, url, (s) => s.has('messages_rx_handshake_ixpsk0'));
  const r = await net.ping('a', 'lh', { count: PINGS, timeoutMs: 40_000 });
  expect(r.received, `a -> lh (tun disabled)\n--- lh ---\n${net.log('lh').slice(-3000)}`).toBe(PINGS);
  const after = await scrapeUntil(
    net,
    url,
    (s) => v(s, 'messages_tx_message') - v(before, 'messages_tx_message') >= PINGS,
    8000,
  );
  const moved = Object.fromEntries(
    Object.entries(deltas(before, after, familyNames(after))).filter(([, d]) => d !== 0),
  );
  return { moved, names: familyNames(after) };
}

// Names our endpoint exports for the watched families, compared against Go's below.
let tsFamilyNames: string[] | undefined;
let tsDisabledNames: string[] | undefined;

describe('our lighthouse with two Go 1.6.1 nodes', () => {
  let net: Testnet;
  const url = () => `http://${net.underlayIp('lh')}:${STATS_PORT}/metrics`;
  let s0: Samples; // before any node
  let s1: Samples; // after join + query + ping

  beforeAll(async () => {
    requireRoot();
    requireGoNebula();
    net = await Testnet.create({ prefix: 'lhi', hosts: ['lh', 'a', 'b'] });
    await net.makePki({ tool: 'go' });
    net.writeConfig('lh', lighthouseConfig(net));
    for (const h of ['a', 'b']) net.writeConfig(h, nodeConfig(net, h));
    await net.start('lh', { impl: 'ts', timeoutMs: 30_000 });
  }, 90_000);

  afterAll(async () => {
    await net?.destroy();
  });

  it('exports the meta counters at zero before any node joins', async () => {
    s0 = await scrapeUntil(net, url(), (s) => WATCHED.every((n) => s.has(n)));
    for (const n of WATCHED) expect(s0.get(n), n).toBe(0);
  }, 30_000);

  it('Go a and b learn each other only from our lighthouse and ping both ways', async () => {
    await net.start('a', { impl: 'go', timeoutMs: 20_000 });
    await net.start('b', { impl: 'go', timeoutMs: 20_000 });
    // Both tunnels to the lighthouse: the HostUpdateNotifications go out once they are up.
    await net.waitForLog('a', /Handshake message received.*vpnIp=203\.0\.113\.1\b/, 20_000);
    await net.waitForLog('b', /Handshake message received.*vpnIp=203\.0\.113\.1\b/, 20_000);

    const ab = await net.ping('a', 'b', { count: 3, timeoutMs: 20_000 });
    expect(
      ab.received,
      `a -> b\n${net.log('a').slice(-3000)}\n--- lh ---\n${net.log('lh').slice(-3000)}`,
    ).toBe(3);
    const ba = await net.ping('b', 'a', { count: 3, timeoutMs: 15_000 });
    expect(ba.received).toBe(3);

    // a was never told b's underlay address, yet its handshake with b names it.
    const evidence = handshakeEvidence(net, 'a', 'b');
    expect(
      evidence,
      `no handshake line on a naming 203.0.113.12 at 198.51.100.12:4242\n${net.log('a')}`,
    ).toBeDefined();
  }, 90_000);

  it('the lighthouse and message counters moved with the control packets', async () => {
    s1 = await scrapeUntil(
      net,
      url(),
      (s) =>
        v(s, 'lighthouse_rx_HostUpdateNotification') >= 2 &&
        v(s, 'lighthouse_rx_HostQuery') >= 1 &&
        v(s, 'lighthouse_tx_HostPunchNotification') >= 1,
    );
    const d = deltas(s0, s1, WATCHED);
    console.log('our lighthouse, deltas after join + query:', d);
    expect(d.lighthouse_rx_HostUpdateNotification).toBeGreaterThanOrEqual(2);
    expect(d.lighthouse_rx_HostQuery).toBeGreaterThanOrEqual(1);
    expect(d.lighthouse_tx_HostQueryReply).toBeGreaterThanOrEqual(1);
    expect(d.lighthouse_tx_HostPunchNotification).toBeGreaterThanOrEqual(1);
    // Two tunnels with the lighthouse (a, b): at least one stage 1 in and one stage 2 out each.
    expect(d.messages_rx_handshake_ixpsk0).toBeGreaterThanOrEqual(2);
    expect(d.messages_tx_handshake_ixpsk0).toBeGreaterThanOrEqual(2);
    // Plausible: every lighthouse packet received is an update or a query.
    expect(d.messages_rx_lighthouse).toBeGreaterThanOrEqual(
      (d.lighthouse_rx_HostUpdateNotification ?? 0) + (d.lighthouse_rx_HostQuery ?? 0),
    );
    expect(d.messages_tx_lighthouse).toBeGreaterThanOrEqual(
      (d.lighthouse_tx_HostQueryReply ?? 0) + (d.lighthouse_tx_HostPunchNotification ?? 0),
    );
    for (const n of WATCHED) expect(d[n], n).toBeLessThan(50);
    tsFamilyNames = familyNames(s1);
  }, 30_000);

  it(`${PINGS} pings through the lighthouse do not move the message counters`, async () => {
    const moved = await countersMovedByPings(net, url());
    console.log(`our lighthouse, counters moved by ${PINGS} pings a -> lh:`, moved);
    // 2*PINGS type-1 packets crossed the lighthouse; none may be counted.
    for (const [n, d] of Object.entries(moved)) expect(d, n).toBeLessThan(5);
  }, 60_000);

  it('serve_dns answers an A query for a cert name with its vpnIp', async () => {
    const ss = await net.exec('lh', ['ss', '-Hlun', `sport = :${DNS_PORT}`], { timeoutMs: 5000 });
    expect(
      ss.stdout.trim(),
      `nothing listens on udp/${DNS_PORT} in lh although lighthouse.serve_dns is true; lh log:\n${net.log('lh').slice(0, 1500)}`,
    ).not.toBe('');
    const ans = await dnsQuery(net, 'a', net.underlayIp('lh'), DNS_PORT, 'a.');
    expect(ans.rcode).toBe(0);
    expect(ans.answers.filter((x) => x.type === 1).map((x) => x.data)).toEqual([net.overlayIp('a')]);
    const none = await dnsQuery(net, 'a', net.underlayIp('lh'), DNS_PORT, 'nobody.');
    expect(none.rcode).toBe(0);
    expect(none.answers).toEqual([]);
  }, 30_000);

  it('with tun.disabled our lighthouse answers pings and counts them as messages_rx/tx_message', async () => {
    const r = await disabledTunPhase(net, 'ts', url());
    tsDisabledNames = r.names;
    console.log(`our lighthouse (tun disabled), counters moved by ${PINGS} pings a -> lh:`, r.moved);
    expect(r.moved.messages_rx_message ?? 0).toBeGreaterThanOrEqual(PINGS);
    expect(r.moved.messages_tx_message ?? 0).toBeGreaterThanOrEqual(PINGS);
    expect(r.moved.messages_rx_message ?? 0).toBeLessThan(PINGS + 10);
  }, 90_000);
});

describe('Go 1.6.1 lighthouse with two of our nodes', () => {
  let net: Testnet;
  const url = () => `http://${net.underlayIp('lh')}:${STATS_PORT}/metrics`;
  let g0: Samples;

  beforeAll(async () => {
    requireRoot();
    requireGoNebula();
    net = await Testnet.create({ prefix: 'lhg', hosts: ['lh', 'a', 'b'] });
    await net.makePki({ tool: 'go' });
    net.writeConfig('lh', lighthouseConfig(net));
    for (const h of ['a', 'b']) net.writeConfig(h, nodeConfig(net, h));
    await net.start('lh', { impl: 'go', timeoutMs: 20_000 });
    g0 = await scrapeUntil(net, url(), (s) => WATCHED.every((n) => s.has(n)));
  }, 90_000);

  afterAll(async () => {
    await net?.destroy();
  });

  it('our a and b learn each other only from the Go lighthouse and ping both ways', async () => {
    await net.start('a', { impl: 'ts', timeoutMs: 30_000 });
    await net.start('b', { impl: 'ts', timeoutMs: 30_000 });
    const ab = await net.ping('a', 'b', { count: 3, timeoutMs: 25_000 });
    expect(ab.received, `a -> b\n${net.log('a').slice(-4000)}`).toBe(3);
    const ba = await net.ping('b', 'a', { count: 3, timeoutMs: 15_000 });
    expect(ba.received).toBe(3);
    const evidence = handshakeEvidence(net, 'a', 'b') ?? handshakeEvidence(net, 'b', 'a');
    expect(
      evidence,
      `no handshake line naming the peer's underlay address\n${net.log('a').slice(-4000)}`,
    ).toBeDefined();
  }, 90_000);

  it('the Go lighthouse counted our updates and query; its metric names equal ours', async () => {
    const g1 = await scrapeUntil(
      net,
      url(),
      (s) => v(s, 'lighthouse_rx_HostUpdateNotification') >= 2 && v(s, 'lighthouse_rx_HostQuery') >= 1,
    );
    const d = deltas(g0, g1, WATCHED);
    console.log('Go lighthouse, deltas after our nodes joined + queried:', d);
    expect(d.lighthouse_rx_HostUpdateNotification).toBeGreaterThanOrEqual(2);
    expect(d.lighthouse_rx_HostQuery).toBeGreaterThanOrEqual(1);
    expect(d.lighthouse_tx_HostQueryReply).toBeGreaterThanOrEqual(1);
    expect(d.messages_rx_handshake_ixpsk0).toBeGreaterThanOrEqual(2);

    const goNames = familyNames(g1);
    expect(tsFamilyNames, 'our lighthouse was not scraped (first describe failed)').toBeDefined();
    const ours = new Set(tsFamilyNames);
    const theirs = new Set(goNames);
    const missing = goNames.filter((n) => !ours.has(n));
    const extra = (tsFamilyNames ?? []).filter((n) => !theirs.has(n));
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });
  }, 30_000);

  it('the Go lighthouse answers the same DNS probe (baseline for the probe)', async () => {
    const ans = await dnsQuery(net, 'a', net.underlayIp('lh'), DNS_PORT, 'a.');
    expect(ans.answers.filter((x) => x.type === 1).map((x) => x.data)).toEqual([net.overlayIp('a')]);
  }, 30_000);

  it(`Go baseline: ${PINGS} pings through the Go lighthouse move no message counter either`, async () => {
    const moved = await countersMovedByPings(net, url());
    console.log(`Go lighthouse, counters moved by ${PINGS} pings a -> lh:`, moved);
    for (const [n, d] of Object.entries(moved)) expect(d, n).toBeLessThan(5);
  }, 60_000);

  let goDisabledNames: string[] | undefined;

  it('Go baseline: with tun.disabled the Go lighthouse counts the pings as messages_rx/tx_message', async () => {
    const r = await disabledTunPhase(net, 'go', url());
    goDisabledNames = r.names;
    console.log(`Go lighthouse (tun disabled), counters moved by ${PINGS} pings a -> lh:`, r.moved);
    expect(r.moved.messages_rx_message ?? 0).toBeGreaterThanOrEqual(PINGS);
    expect(r.moved.messages_tx_message ?? 0).toBeGreaterThanOrEqual(PINGS);
  }, 90_000);

  it("the Go lighthouse keeps a's A record after a's tunnel closed (ours does the same, ts-ts.test.ts)", async () => {
    const before = net.logOffset('lh');
    await net.stop('a');
    await net.waitForLog('lh', /Close tunnel received, tearing down/, 10_000, before);
    const ans = await dnsQuery(net, 'b', net.underlayIp('lh'), DNS_PORT, 'a.');
    expect(ans.answers.filter((x) => x.type === 1).map((x) => x.data)).toEqual([net.overlayIp('a')]);
  }, 30_000);

  it("with tun.disabled our metric names equal Go's", () => {
    expect(
      tsDisabledNames,
      'our tun-disabled lighthouse was not scraped (first describe failed)',
    ).toBeDefined();
    expect(goDisabledNames, 'the Go tun-disabled lighthouse was not scraped').toBeDefined();
    const ours = new Set(tsDisabledNames);
    const theirs = new Set(goDisabledNames);
    expect({
      missing: (goDisabledNames ?? []).filter((n) => !ours.has(n)),
      extra: (tsDisabledNames ?? []).filter((n) => !theirs.has(n)),
    }).toEqual({ missing: [], extra: [] });
  });
});
