import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conntrack, DROP_NO_RULE, DROP_NONE, newFirewallPacket } from '../src/index.js';
import { ip, net } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = join(here, '..');
const workerFile = join(here, 'fixtures', 'conntrack-worker.mjs');

const PEER = {
  name: 'host1',
  groups: ['default-group'],
  issuer: 'signer-shasum',
  ips: [net('203.0.113.2/24')],
  subnets: [],
};
const LOCAL_NETS = [{ addr: ip('203.0.113.1'), mask: 0xffffffff }];
const TUPLE = {
  localIp: ip('203.0.113.1'),
  remoteIp: ip('203.0.113.2'),
  localPort: 40000,
  remotePort: 22,
  protocol: 6,
};

interface Reply {
  reason?: number;
  cached?: boolean;
  passed?: number;
}

class Routine {
  readonly worker: Worker;
  private readonly ready: Promise<void>;
  constructor(sab: SharedArrayBuffer, config: unknown, start: SharedArrayBuffer) {
    this.worker = new Worker(workerFile, {
      workerData: { sab, config, localNets: LOCAL_NETS, peer: PEER, start },
    });
    this.ready = new Promise((res, rej) => {
      this.worker.once('message', () => res());
      this.worker.once('error', rej);
    });
  }
  async call(msg: object): Promise<Reply> {
    await this.ready;
    return new Promise((res, rej) => {
      this.worker.once('message', res);
      this.worker.once('error', rej);
      this.worker.postMessage(msg);
    });
  }
}

const workers: Worker[] = [];
const spawn = (sab: SharedArrayBuffer, config: unknown, start = new SharedArrayBuffer(8)) => {
  const r = new Routine(sab, config, start);
  workers.push(r.worker);
  return r;
};

beforeAll(() => {
  // The workers load dist/: make sure it is built from the current sources.
  execFileSync(
    process.execPath,
    [join(pkgDir, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-b'],
    { cwd: pkgDir, stdio: 'inherit' },
  );
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.terminate()));
});

describe('two worker threads sharing one conntrack', () => {
  it('an entry created by worker A is a hit in worker B; each routine has its own cache', async () => {
    const ct = Conntrack.create({ capacity: 1024 });
    const outOnly = { outbound: [{ port: 'any', proto: 'any', host: 'any' }] };
    const a = spawn(ct.buffer, outOnly);
    const b = spawn(ct.buffer, outOnly);

    // B alone: the inbound packet has no rule
    expect((await b.call({ op: 'drop', tuple: TUPLE, incoming: true, useCache: true })).reason).toBe(
      DROP_NO_RULE,
    );
    // A sends the outbound packet: creates the shared entry (new flows are not cached)
    expect(await a.call({ op: 'drop', tuple: TUPLE, incoming: false, useCache: true })).toEqual({
      reason: DROP_NONE,
      cached: false,
    });
    // B: the reply hits A's entry in the shared table, and lands in B's cache only
    expect(await b.call({ op: 'drop', tuple: TUPLE, incoming: true, useCache: true })).toEqual({
      reason: DROP_NONE,
      cached: true,
    });
    expect((await a.call({ op: 'cached', tuple: TUPLE })).cached).toBe(false);
    // the main thread sees the same entry
    const p = Object.assign(newFirewallPacket(), TUPLE);
    expect(ct.has(p)).toBe(true);
    expect(ct.stats().count).toBe(1);
    // B keeps passing from its cache even once the shared entry is gone, until the tick moves
    ct.clear();
    expect((await b.call({ op: 'drop', tuple: TUPLE, incoming: true, useCache: true })).reason).toBe(
      DROP_NONE,
    );
    ct.bumpCacheTick();
    expect((await b.call({ op: 'drop', tuple: TUPLE, incoming: true, useCache: true })).reason).toBe(
      DROP_NO_RULE,
    );
  });

  it('concurrent inserts from both workers do not corrupt the table', async () => {
    const ct = Conntrack.create({ capacity: 1 << 16 });
    const open = { inbound: [{ port: 'any', proto: 'any', host: 'any' }] };
    const start = new SharedArrayBuffer(8);
    const gate = new Int32Array(start);
    const a = spawn(ct.buffer, open, start);
    const b = spawn(ct.buffer, open, start);
    const N = 4000;
    const tuple = { ...TUPLE, protocol: 17 };
    // A: ports 1..N, B: ports N/2+1..N+N/2: half of the flows are inserted by both at once
    const ra = a.call({
      op: 'insertMany',
      tuple,
      incoming: true,
      firstPort: 1,
      count: N,
      rounds: 3,
      useCache: false,
    });
    const rb = b.call({
      op: 'insertMany',
      tuple,
      incoming: true,
      firstPort: N / 2 + 1,
      count: N,
      rounds: 3,
      useCache: false,
    });
    while (Atomics.load(gate, 1) < 2) await new Promise((r) => setTimeout(r, 1));
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    const [pa, pb] = await Promise.all([ra, rb]);
    expect(pa.passed).toBe(3 * N);
    expect(pb.passed).toBe(3 * N);
    const unique = N + N / 2;
    expect(ct.stats()).toMatchObject({ count: unique, evicted: 0 });
    const p = Object.assign(newFirewallPacket(), tuple);
    let present = 0;
    for (let port = 1; port <= unique; port++) {
      p.localPort = port;
      if (ct.has(p)) present++;
    }
    p.localPort = unique + 1;
    expect(ct.has(p)).toBe(false);
    expect(present).toBe(unique);
    expect(ct.scanCount()).toBe(unique);
  });

  it('under eviction pressure the shared counters stay exact and the table stays capped', async () => {
    const ct = Conntrack.create({ capacity: 256 });
    const open = { inbound: [{ port: 'any', proto: 'any', host: 'any' }] };
    const start = new SharedArrayBuffer(8);
    const gate = new Int32Array(start);
    const a = spawn(ct.buffer, open, start);
    const b = spawn(ct.buffer, open, start);
    const tuple = { ...TUPLE, protocol: 17 };
    const job = { op: 'insertMany', tuple, incoming: true, count: 5000, rounds: 2, useCache: true };
    const ra = a.call({ ...job, firstPort: 1 });
    const rb = b.call({ ...job, firstPort: 2501 });
    while (Atomics.load(gate, 1) < 2) await new Promise((r) => setTimeout(r, 1));
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    const [pa, pb] = await Promise.all([ra, rb]);
    expect(pa.passed! + pb.passed!).toBe(20_000);
    const s = ct.stats();
    expect(s.count).toBe(ct.scanCount());
    expect(s.count).toBeLessThanOrEqual(256);
    expect(s.count).toBeGreaterThan(200);
    expect(s.evicted).toBeGreaterThan(7500 - 256);
  });
});
