/**
 * The data-path warm-up (warmup.ts): two private routines over real tun-queue objects (packet
 * socket pairs) and real UDP sockets on loopback carry every packet the driver writes, both ways;
 * nothing is left open and no shared state is touched; where it cannot run it says why; and it
 * does what it is for: under the `nebula` bin's V8 flags, the routine's hot functions are
 * TurboFan code afterwards. The loopback-down case needs root and `ip netns` (CI has both).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Conntrack } from '@nebula-ts/firewall';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { FirewallShared } from '../src/firewall-adapter.js';
import { isNodeError, type RoutineSettings, warmDataPath } from '../src/index.js';
import { ip } from './support.js';

const CHILD = fileURLToPath(new URL('./fixtures/warmup-child.mjs', import.meta.url));
/** The `nebula` bin's tiering flags (apps/nebula-cli/src/bin/v8-tiering.ts). */
const BIN_V8_FLAGS = ['--always-sparkplug', '--interrupt-budget=128'];
/** What one pass delivers at batch 64: 8 pings each way, 64 segments + 32 ACKs, 16 + 1 UDP. */
const DELIVERED_PER_PASS = 16 + 64 + 32 + 16 + 1;

function settings(net = '203.0.113.0', mask = 0xffffff00, me = '203.0.113.11'): RoutineSettings {
  // Cloned, as workerData is.
  return structuredClone({
    index: 0,
    batch: 64,
    vpnIp: ip(me),
    netAddr: ip(net),
    netMask: mask,
    dropLocalBroadcast: false,
    dropMulticast: false,
    sendRecvError: 'always' as const,
    unsafeRoutes: [],
  });
}

function firewallShared(conntrack = Conntrack.create({ capacity: 64 })): FirewallShared {
  return {
    conntrack: conntrack.buffer,
    firewallRaw: {
      conntrack: {
        tcp_timeout: '12m',
        udp_timeout: '3m',
        default_timeout: '10m',
        routine_cache_timeout: '1s',
      },
      outbound: [],
      inbound: [{ port: 22, proto: 'tcp', host: 'any' }],
    },
    rulesVersion: 0,
    localNets: [{ addr: ip('203.0.113.11'), mask: 0xffffffff }],
    cacheTimeoutMs: 1000,
    caNames: {},
  };
}

const silent = pino({ level: 'silent' });
const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('warmDataPath', () => {
  for (const tso of [false, true]) {
    for (const cipher of ['aes', 'chachapoly'] as const) {
      it(`carries every packet both ways (tso ${tso}, ${cipher})`, () => {
        const r = warmDataPath({
          settings: settings(),
          firewall: firewallShared(),
          tso,
          udpHost: '0.0.0.0',
          aead: 'native',
          cipher,
          logger: silent,
          budgetMs: 1,
        });
        expect(r.passes).toBeGreaterThanOrEqual(60);
        // Exactly: a lost, duplicated or undecryptable packet shows here. The odd cases (no tunnel,
        // to ourselves, a runt, control and replayed datagrams) deliver nothing.
        expect(r.delivered).toBe(r.passes * DELIVERED_PER_PASS);
      });
    }
  }

  it('runs on IPv6 loopback when the node listens on IPv6, with the node:crypto AEAD', () => {
    const r = warmDataPath({
      settings: settings(),
      firewall: firewallShared(),
      tso: false,
      udpHost: '::',
      aead: 'node',
      cipher: 'aes',
      logger: silent,
      budgetMs: 1,
    });
    expect(r.delivered).toBe(r.passes * DELIVERED_PER_PASS);
  });

  it('leaves no fd open and touches neither the shared conntrack nor the settings', () => {
    const conntrack = Conntrack.create({ capacity: 64 });
    const s = settings();
    const before = JSON.stringify(s);
    const fds = openFds();
    const r = warmDataPath({
      settings: s,
      firewall: firewallShared(conntrack),
      tso: true,
      udpHost: '0.0.0.0',
      aead: 'native',
      cipher: 'aes',
      logger: silent,
      budgetMs: 1,
    });
    expect(r.delivered).toBeGreaterThan(0);
    expect(openFds()).toBe(fds);
    expect(conntrack.stats().count).toBe(0);
    expect(JSON.stringify(s)).toBe(before);
  });

  it('refuses with ERR_NODE_WARMUP on a network with no second address', () => {
    let err: unknown;
    try {
      warmDataPath({
        settings: settings('203.0.113.11', 0xffffffff),
        firewall: firewallShared(),
        tso: false,
        udpHost: '0.0.0.0',
        aead: 'native',
        cipher: 'aes',
        logger: silent,
      });
    } catch (e) {
      err = e;
    }
    expect(isNodeError(err) && err.code).toBe('ERR_NODE_WARMUP');
    expect((err as Error).message).toMatch(/no second address/);
  });

  it('refuses with ERR_NODE_WARMUP, closing what it opened, where loopback is down', () => {
    const ns = `nwarm-${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      // A new namespace's lo is down; the warm-up's sockets bind but nothing crosses.
      const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, CHILD, '{}'], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      const res = JSON.parse(out) as { error?: { code: string; message: string } };
      expect(res.error?.code).toBe('ERR_NODE_WARMUP');
      expect(res.error?.message).toMatch(/no packet crossed 127\.0\.0\.1 \(is the loopback interface up\?\)/);
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });

  it("leaves the routine's hot functions as TurboFan code under the bin's V8 flags", () => {
    const out = execFileSync(
      process.execPath,
      ['--allow-natives-syntax', ...BIN_V8_FLAGS, CHILD, JSON.stringify({ status: true, budgetMs: 400 })],
      { encoding: 'utf8', timeout: 30_000 },
    );
    const res = JSON.parse(out) as { report: { delivered: number }; optimized: Record<string, number> };
    expect(res.report.delivered).toBeGreaterThan(0);
    // V8's %GetOptimizationStatus: bit 4 optimised, bit 6 by TurboFan. turn() and onUdpReadable()
    // are small and often inlined into the driver instead; the three that carry the packets are not.
    const TURBOFANNED = 16 | 64;
    for (const name of ['inside', 'outside', 'onTunReadable'])
      expect({ name, status: res.optimized[name]! & TURBOFANNED }).toEqual({ name, status: TURBOFANNED });
  });
});
