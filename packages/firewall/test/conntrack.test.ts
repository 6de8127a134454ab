import { describe, expect, it } from 'vitest';
import {
  Conntrack,
  ConntrackCache,
  ConntrackTicker,
  DROP_NO_RULE,
  DROP_NONE,
  Firewall,
  isConntrackError,
  nextRulesVersion,
  parseFirewallConfig,
} from '../src/index.js';
import { firewall, peer, pkt } from './helpers.js';

const allowIn = (port: string | number = 'any') => ({
  conntrack: { tcp_timeout: '12m', udp_timeout: '3m', default_timeout: '10m' },
  inbound: [{ port, proto: 'any', group: 'any' }],
});

describe('conntrack lifetimes (coarse shared clock, 100 ms units)', () => {
  it.each([
    ['tcp', 6, 12 * 600],
    ['udp', 17, 3 * 600],
    ['icmp uses default_timeout', 1, 10 * 600],
    ['gre uses default_timeout', 47, 10 * 600],
  ])('%s entry lives exactly its timeout', (_n, protocol, units) => {
    const ct = Conntrack.create({ capacity: 64 });
    const fw = firewall(allowIn(), { conntrack: ct });
    const p = pkt({ protocol, localPort: protocol === 1 ? 0 : 10 });
    ct.setNow(1000);
    expect(fw.drop(p, true, peer(), null)).toBe(DROP_NONE);
    ct.setNow(1000 + units - 1);
    expect(ct.has(p)).toBe(true);
    ct.setNow(1000 + units);
    expect(ct.has(p)).toBe(false);
  });

  it('a non-first TCP fragment uses the TCP timeout', () => {
    const ct = Conntrack.create({ capacity: 64 });
    const fw = firewall(allowIn(), { conntrack: ct });
    const p = pkt({ protocol: 6, fragment: true, localPort: 0, remotePort: 0 });
    fw.drop(p, true, peer(), null);
    ct.setNow(1 + 3 * 600 + 5);
    expect(ct.has(p)).toBe(true);
  });

  it('each hit refreshes expiry to now + timeout', () => {
    const ct = Conntrack.create({ capacity: 64 });
    const fw = firewall(allowIn(), { conntrack: ct });
    const out = firewall({}, { conntrack: ct }); // no outbound rules: passes only via conntrack
    const p = pkt();
    ct.setNow(10);
    fw.drop(p, true, peer(), null);
    let last = 10;
    for (let t = 10; t < 10 + 5 * 1800; t += 1000) {
      ct.setNow(t);
      expect(out.drop(p, false, peer(), null)).toBe(DROP_NONE); // gaps of 1000 < 1800 keep it alive
      last = t;
    }
    ct.setNow(last + 1799);
    expect(ct.has(p)).toBe(true);
    ct.setNow(last + 1800);
    expect(out.drop(p, false, peer(), null)).toBe(DROP_NO_RULE);
  });

  it('outbound creates the entry, the inbound reply matches it without inbound rules', () => {
    const ct = Conntrack.create({ capacity: 64 });
    const fw = firewall({ outbound: [{ port: 'any', proto: 'any', host: 'any' }] }, { conntrack: ct });
    const p = pkt({ protocol: 6, localPort: 40000, remotePort: 22 });
    expect(fw.drop(p, true, peer(), null)).toBe(DROP_NO_RULE);
    expect(fw.drop(p, false, peer(), null)).toBe(DROP_NONE);
    expect(fw.drop(p, true, peer(), null)).toBe(DROP_NONE);
    // a different tuple (other port) is not covered
    expect(fw.drop(pkt({ protocol: 6, localPort: 40001, remotePort: 22 }), true, peer(), null)).toBe(
      DROP_NO_RULE,
    );
    expect(ct.stats().count).toBe(1);
  });

  it('ConntrackTicker drives the clock from an injected time source and sweeps expired entries', () => {
    const ct = Conntrack.create({ capacity: 64 });
    let nowMs = 5_000;
    const ticker = new ConntrackTicker(ct, { cacheTimeoutMs: 0, clock: () => nowMs, sweepBucketsPerTick: 8 });
    const fw = firewall({ ...allowIn(), conntrack: { udp_timeout: '2s' } }, { conntrack: ct });
    fw.drop(pkt(), true, peer(), null);
    fw.drop(pkt({ localPort: 11 }), true, peer(), null);
    expect(ct.stats().count).toBe(2);
    nowMs += 1_900;
    ticker.step();
    expect(ct.stats().count).toBe(2);
    nowMs += 200;
    ticker.step();
    expect(ct.stats().count).toBe(0);
    expect(ct.stats().expired).toBe(2);
  });

  it('a full bucket evicts its soonest-expiring entry and counts it; the table never grows', () => {
    const ct = Conntrack.create({ capacity: 8 }); // one bucket of 8
    const fw = firewall(allowIn(), { conntrack: ct });
    for (let i = 0; i < 8; i++) {
      ct.setNow(100 + i);
      expect(fw.drop(pkt({ localPort: 1000 + i }), true, peer(), null)).toBe(DROP_NONE);
    }
    expect(ct.stats()).toMatchObject({ count: 8, evicted: 0, capacity: 8 });
    fw.drop(pkt({ localPort: 2000 }), true, peer(), null);
    expect(ct.stats()).toMatchObject({ count: 8, evicted: 1 });
    expect(ct.has(pkt({ localPort: 1000 }))).toBe(false); // the oldest one went
    expect(ct.has(pkt({ localPort: 1001 }))).toBe(true);
    for (let i = 0; i < 100; i++) fw.drop(pkt({ localPort: 3000 + i }), true, peer(), null);
    expect(ct.stats()).toMatchObject({ count: 8, evicted: 101 });
  });

  it('expired entries are reused before anything is evicted', () => {
    const ct = Conntrack.create({ capacity: 8 });
    const fw = firewall({ ...allowIn(), conntrack: { udp_timeout: '1s' } }, { conntrack: ct });
    for (let i = 0; i < 8; i++) fw.drop(pkt({ localPort: 1000 + i }), true, peer(), null);
    ct.setNow(ct.now() + 10);
    fw.drop(pkt({ localPort: 5 }), true, peer(), null);
    expect(ct.stats()).toMatchObject({ count: 1, evicted: 0, expired: 8 });
  });

  it('fromShared attaches to the same memory; bad buffers are refused', () => {
    const ct = Conntrack.create({ capacity: 64 });
    const fw = firewall(allowIn(), { conntrack: ct });
    fw.drop(pkt(), true, peer(), null);
    expect(Conntrack.fromShared(ct.buffer).has(pkt())).toBe(true);
    let err: unknown;
    try {
      Conntrack.fromShared(new SharedArrayBuffer(1024));
    } catch (e) {
      err = e;
    }
    expect(isConntrackError(err)).toBe(true);
  });
});

describe('reload: conntrack kept, entries re-validated lazily (Go TestFirewall_DropConntrackReload)', () => {
  it('kept when the new rules still allow it, dropped when they do not', () => {
    const ct = Conntrack.create({ capacity: 64 });
    const p = pkt({ localPort: 10, remotePort: 90 });
    let fw = firewall({ inbound: [{ port: 'any', proto: 'any', group: 'any' }] }, { conntrack: ct });
    expect(fw.drop(p, false, peer(), null)).toBe(DROP_NO_RULE);
    expect(fw.drop(p, true, peer(), null)).toBe(DROP_NONE);
    expect(fw.drop(p, false, peer(), null)).toBe(DROP_NONE);

    fw = fw.reload(parseFirewallConfig({ inbound: [{ port: 10, proto: 'any', group: 'any' }] }));
    expect(fw.rulesVersion).toBe(1);
    expect(fw.drop(p, false, peer(), null)).toBe(DROP_NONE); // re-validated against inbound port 10: ok

    fw = fw.reload(parseFirewallConfig({ inbound: [{ port: 11, proto: 'any', group: 'any' }] }));
    expect(fw.drop(p, false, peer(), null)).toBe(DROP_NO_RULE); // no longer allowed
    expect(ct.has(p)).toBe(false);
  });

  it('re-validation uses the direction that created the entry', () => {
    const ct = Conntrack.create({ capacity: 64 });
    const p = pkt();
    let fw = firewall({ outbound: [{ port: 'any', proto: 'any', host: 'any' }] }, { conntrack: ct });
    fw.drop(p, false, peer(), null);
    // new rules allow only inbound: the outbound-created entry fails re-validation on an inbound packet
    fw = fw.reload(
      parseFirewallConfig({ inbound: [{ port: 'any', proto: 'any', host: 'any' }], outbound: [] }),
    );
    expect(fw.drop(p, true, peer(), null)).toBe(DROP_NONE); // ...but then passes the new inbound rules as a new flow
    fw = fw.reload(
      parseFirewallConfig({ inbound: [], outbound: [{ port: 'any', proto: 'any', host: 'any' }] }),
    );
    expect(fw.drop(p, false, peer(), null)).toBe(DROP_NONE);
  });

  it('a revalidated entry is stamped with the new version (no second match)', () => {
    const ct = Conntrack.create({ capacity: 64 });
    let fw = firewall(allowIn(), { conntrack: ct });
    fw.drop(pkt(), true, peer(), null);
    fw = fw.reload(parseFirewallConfig(allowIn()));
    let calls = 0;
    const orig = fw.revalidate.bind(fw);
    fw.revalidate = (...a) => {
      calls++;
      return orig(...a);
    };
    fw.drop(pkt(), true, peer(), null);
    fw.drop(pkt(), true, peer(), null);
    expect(calls).toBe(1);
  });

  it('version wraps 65535 → 0 and the table starts empty', () => {
    expect(nextRulesVersion(65535)).toBe(0);
    const ct = Conntrack.create({ capacity: 64 });
    const rules = parseFirewallConfig(allowIn());
    const fw = new Firewall({ rules, conntrack: ct, localNets: [{ addr: 0, mask: 0 }], rulesVersion: 65535 });
    fw.drop(pkt(), true, peer(), null);
    expect(ct.stats().count).toBe(1);
    const next = fw.reload(rules);
    expect(next.rulesVersion).toBe(0);
    expect(ct.stats().count).toBe(0);
    expect(next.conntrack).toBe(ct);
  });
});

describe('routine-local cache (seed a)', () => {
  it('miss → global hit fills the cache → cache hit skips the table', () => {
    const ct = Conntrack.create({ capacity: 64 });
    const fw = firewall(allowIn(), { conntrack: ct });
    const cache = new ConntrackCache(ct);
    const p = pkt();
    expect(fw.drop(p, true, peer(), cache)).toBe(DROP_NONE); // new flow via rules: not cached
    expect(cache.has(p)).toBe(false);
    expect(fw.drop(p, true, peer(), cache)).toBe(DROP_NONE); // global hit: cached now
    expect(cache.has(p)).toBe(true);
    ct.clear();
    expect(fw.drop(p, false, peer(), cache)).toBe(DROP_NONE); // outbound has no rules: only the cache allows it
  });

  it('routine_cache_timeout 0 means no cache', () => {
    const ct = Conntrack.create({ capacity: 64 });
    expect(ConntrackCache.forTimeout(ct, 0)).toBeNull();
    expect(ConntrackCache.forTimeout(ct, 1000)).toBeInstanceOf(ConntrackCache);
  });

  it('misses are not cached', () => {
    const ct = Conntrack.create({ capacity: 64 });
    const fw = firewall({}, { conntrack: ct });
    const cache = new ConntrackCache(ct);
    expect(fw.drop(pkt(), true, peer(), cache)).toBe(DROP_NO_RULE);
    expect(cache.count).toBe(0);
  });

  it('a tick change invalidates the whole cache', () => {
    const ct = Conntrack.create({ capacity: 64 });
    const fw = firewall(allowIn(), { conntrack: ct });
    const cache = new ConntrackCache(ct);
    for (let i = 0; i < 50; i++) {
      fw.drop(pkt({ localPort: i + 1 }), true, peer(), cache);
      fw.drop(pkt({ localPort: i + 1 }), true, peer(), cache);
    }
    expect(cache.count).toBe(50);
    expect(cache.has(pkt({ localPort: 7 }))).toBe(true);
    ct.bumpCacheTick();
    expect(cache.has(pkt({ localPort: 7 }))).toBe(false);
    expect(cache.count).toBe(0);
  });

  it('the ticker advances the cache tick on its own timer', async () => {
    const ct = Conntrack.create({ capacity: 64 });
    const ticker = new ConntrackTicker(ct, { cacheTimeoutMs: 20 }).start();
    const t0 = ct.cacheTick();
    await new Promise((r) => setTimeout(r, 120));
    ticker.stop();
    expect(ct.cacheTick()).toBeGreaterThan(t0);
  });

  it('accepted staleness: a cached flow passes after a reload that forbids it, until the tick', () => {
    const ct = Conntrack.create({ capacity: 64 });
    let fw = firewall(allowIn(10), { conntrack: ct });
    const cache = new ConntrackCache(ct);
    const p = pkt();
    fw.drop(p, true, peer(), cache);
    fw.drop(p, true, peer(), cache);
    fw = fw.reload(parseFirewallConfig(allowIn(11)));
    expect(fw.drop(p, true, peer(), cache)).toBe(DROP_NONE);
    ct.bumpCacheTick();
    expect(fw.drop(p, true, peer(), cache)).toBe(DROP_NO_RULE);
  });

  it('cache hits do not refresh the global expiry', () => {
    const ct = Conntrack.create({ capacity: 64 });
    const fw = firewall({ ...allowIn(), conntrack: { udp_timeout: '1s' } }, { conntrack: ct });
    const cache = new ConntrackCache(ct);
    const p = pkt();
    fw.drop(p, true, peer(), cache);
    fw.drop(p, true, peer(), cache);
    ct.setNow(ct.now() + 9);
    fw.drop(p, true, peer(), cache);
    ct.setNow(ct.now() + 1);
    expect(ct.has(p)).toBe(false);
  });

  it('grows while under maxCapacity and keeps its entries', () => {
    const ct = Conntrack.create({ capacity: 1 << 14 });
    const fw = firewall(allowIn(), { conntrack: ct });
    const cache = new ConntrackCache(ct, 16, 1 << 16);
    for (let i = 1; i <= 1000; i++) {
      fw.drop(pkt({ localPort: i }), true, peer(), cache);
      fw.drop(pkt({ localPort: i }), true, peer(), cache);
    }
    expect(cache.capacity).toBeGreaterThanOrEqual(2048);
    expect(cache.capacity).toBeLessThanOrEqual(8192);
    let hits = 0;
    for (let i = 1; i <= 1000; i++) if (cache.has(pkt({ localPort: i }))) hits++;
    expect(hits).toBe(1000);
  });

  it('stays bounded: overflow overwrites, lookups still correct for what remains', () => {
    const ct = Conntrack.create({ capacity: 1 << 14 });
    const fw = firewall(allowIn(), { conntrack: ct });
    const cache = new ConntrackCache(ct, 16, 16);
    for (let i = 1; i <= 500; i++) {
      fw.drop(pkt({ localPort: i }), true, peer(), cache);
      fw.drop(pkt({ localPort: i }), true, peer(), cache);
    }
    let hits = 0;
    for (let i = 1; i <= 500; i++) if (cache.has(pkt({ localPort: i }))) hits++;
    expect(hits).toBeGreaterThan(0);
    expect(hits).toBeLessThanOrEqual(16);
    expect(cache.has(pkt({ localPort: 501 }))).toBe(false);
  });
});
