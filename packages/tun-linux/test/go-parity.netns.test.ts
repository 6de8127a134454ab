/**
 * Parity with Debian's Go nebula 1.6.1: the same tun settings programmed by the Go binary and by
 * `configureNebulaTun` give the same kernel state (`ip -j -d link/addr/route`), in two namespaces.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireGoNebula, requireRoot } from '@nebula-ts/e2e';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNs, Driver, deleteNs, ipJson, requireBuilt } from './helpers/netns.js';

const namespaces: string[] = [];
const drivers: Driver[] = [];
let goProc: ChildProcess | undefined;
let dir = '';

beforeAll(() => {
  requireRoot();
  requireBuilt();
  requireGoNebula();
  dir = mkdtempSync(join(tmpdir(), 'ntun-go-'));
});

afterAll(() => {
  if (goProc?.pid !== undefined && goProc.exitCode === null) goProc.kill('SIGKILL');
  for (const d of drivers) d.kill();
  for (const ns of namespaces) deleteNs(ns);
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

const TUN = {
  mtu: 1300,
  txQueueLen: 1000,
  routes: [{ route: '203.0.113.64/26', mtu: 8800 }],
  unsafeRoutes: [
    { route: '203.0.113.128/26', mtu: 1400, metric: 100 },
    { route: '203.0.113.192/27', metric: 7 },
  ],
};

interface Snapshot {
  link: Record<string, unknown>;
  addrs: unknown[];
  routes: unknown[];
}

function snapshot(ns: string, dev: string): Snapshot {
  const [l] = ipJson<
    { mtu: number; txqlen: number; flags: string[]; qdisc: string; linkinfo: { info_data: unknown } }[]
  >(ns, '-d', 'link', 'show', dev);
  const [a] = ipJson<{ addr_info: { family: string }[] }[]>(ns, 'addr', 'show', dev);
  const routes = ipJson<Record<string, unknown>[]>(ns, '-d', 'route', 'show', 'dev', dev)
    .map(({ dev: _d, ...r }) => r)
    .sort((x, y) => String(x.dst).localeCompare(String(y.dst)));
  return {
    link: { mtu: l.mtu, txqlen: l.txqlen, flags: l.flags, info: l.linkinfo.info_data, qdisc: l.qdisc },
    addrs: a.addr_info.filter((x) => x.family === 'inet').map((x) => ({ ...x, label: undefined })),
    routes,
  };
}

async function until<T>(what: () => string, fn: () => T | undefined): Promise<T> {
  for (let i = 0; i < 100; i++) {
    if (goProc?.exitCode !== null && goProc?.exitCode !== undefined) break;
    try {
      const v = fn();
      if (v !== undefined) return v;
    } catch {
      // not there yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what()}`);
}

describe('parity with Go nebula 1.6.1 tun programming', () => {
  it('programs the same link, address and routes as the Go binary', async () => {
    execFileSync('nebula-cert', [
      'ca',
      '-name',
      'parity-ca',
      '-out-crt',
      join(dir, 'ca.crt'),
      '-out-key',
      join(dir, 'ca.key'),
    ]);
    execFileSync('nebula-cert', [
      'sign',
      '-ca-crt',
      join(dir, 'ca.crt'),
      '-ca-key',
      join(dir, 'ca.key'),
      '-name',
      'host',
      '-ip',
      '203.0.113.1/25',
      '-out-crt',
      join(dir, 'host.crt'),
      '-out-key',
      join(dir, 'host.key'),
    ]);
    const cfg = {
      pki: { ca: join(dir, 'ca.crt'), cert: join(dir, 'host.crt'), key: join(dir, 'host.key') },
      static_host_map: {},
      lighthouse: { am_lighthouse: true },
      listen: { host: '0.0.0.0', port: 4242 }, // a lighthouse needs a fixed port; own netns
      routines: 2,
      tun: {
        dev: 'ngo0',
        mtu: TUN.mtu,
        tx_queue: TUN.txQueueLen,
        routes: TUN.routes,
        unsafe_routes: TUN.unsafeRoutes.map((r) => ({ ...r, via: '203.0.113.2' })),
      },
      firewall: { outbound: [{ port: 'any', proto: 'any', host: 'any' }], inbound: [] },
    };
    writeFileSync(join(dir, 'config.yml'), JSON.stringify(cfg)); // JSON is YAML
    const goNs = createNs();
    namespaces.push(goNs);
    goProc = spawn('ip', ['netns', 'exec', goNs, 'nebula', '-config', join(dir, 'config.yml')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    goProc.stdout?.on('data', (b: Buffer) => (log += b.toString()));
    goProc.stderr?.on('data', (b: Buffer) => (log += b.toString()));
    const go = await until(
      () => `Go nebula to program ngo0; its log:\n${log}`,
      () => {
        const s = snapshot(goNs, 'ngo0');
        return s.routes.length === 4 && (s.link.flags as string[]).includes('UP') ? s : undefined;
      },
    );

    const ns = createNs();
    namespaces.push(ns);
    const d = new Driver(ns);
    drivers.push(d);
    await d.ok({ op: 'open', opts: { name: 'nt6', queues: 2 } });
    await d.ok({ op: 'configure', opts: { vpnIp: '203.0.113.1', prefixLen: 25, ...TUN } });
    const ours = snapshot(ns, 'nt6');

    expect(ours.link).toEqual(go.link);
    expect(ours.addrs).toEqual(go.addrs);
    expect(ours.routes).toEqual(go.routes);
    expect(go.routes).toHaveLength(4);
    await d.ok({ op: 'close' });
    await d.ok({ op: 'exit' });
  });
});
