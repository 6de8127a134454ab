/**
 * `pnpm bench lighthouse [--ops N]`: the HostQuery request handler (seed g), modelled on Go's
 * `BenchmarkLighthouseHandleRequest` (lighthouse_test.go) run on a *real* lighthouse
 * (`am_lighthouse: true`, go-bench.md "follow-up"): two cached hosts, vpnIp 3 with 4.5.6.7:12345
 * and :12346 (owner 3) and vpnIp 2 with 1.2.2.3:12345 and :12346 (owner 2), a query from vpnIp 2 at
 * 1.2.2.3:12345, a no-op sender.
 *
 * - `notfound`: HostQuery for vpnIp 4 (no entry): decode, lookup miss, no reply.
 * - `found`: HostQuery for vpnIp 3: decode, HostQueryReply to 2, HostPunchNotification to 3
 *   (two 26-byte encodes, two sends).
 * Each with the handler's reuse on (one meta + one MTU buffer per handler) and off (a fresh meta
 * and buffer per request, like pre-seed-g Nebula). Extra rows: the same with vpnIps and underlay
 * addresses ≥ 2^31 (heap numbers in V8, not Smis: the realistic case), and Go's original fixture
 * with `am_lighthouse` off (what Go's unmodified benchmark times).
 *
 * ns/op: the harness's CPU-time measure (best of 5 rounds). Allocation: V8 heap bytes and
 * ArrayBuffer bytes per op, summed over chunks in which no GC ran (a chunk whose heap shrank saw a
 * GC and is dropped), minus the same loop with an empty body; ≥ 1M ops.
 */

import { PerformanceObserver } from 'node:perf_hooks';
import {
  decodeMeta,
  encodeMeta,
  LightHouse,
  type LighthouseSender,
  MetaType,
  NebulaMeta,
} from '@nebula-ts/lighthouse';
import { measure } from '../harness.js';

const gc = (globalThis as { gc?: () => void }).gc;

interface AllocResult {
  heapBytesPerOp: number;
  bufferBytesPerOp: number;
  opsCounted: number;
}

function allocPerOp(ops: number, chunk: number, fn: (i: number) => void): AllocResult {
  const run = (body: (i: number) => void): { heap: number; buf: number; counted: number } => {
    gc?.();
    let heap = 0;
    let buf = 0;
    let counted = 0;
    for (let done = 0; done < ops; done += chunk) {
      const m0 = process.memoryUsage();
      for (let i = 0; i < chunk; i++) body(i);
      const m1 = process.memoryUsage();
      const dh = m1.heapUsed - m0.heapUsed;
      const db = m1.arrayBuffers - m0.arrayBuffers;
      if (dh < 0 || db < 0) continue; // a GC ran inside this chunk
      heap += dh;
      buf += db;
      counted += chunk;
    }
    return { heap, buf, counted };
  };
  for (let i = 0; i < Math.min(ops, 100_000); i++) fn(i);
  const base = run(() => {});
  const r = run(fn);
  const per = (x: number, n: number): number => (n === 0 ? Number.NaN : x / n);
  return {
    heapBytesPerOp: Math.max(0, per(r.heap, r.counted) - per(base.heap, base.counted)),
    bufferBytesPerOp: Math.max(0, per(r.buf, r.counted) - per(base.buf, base.counted)),
    opsCounted: r.counted,
  };
}

type Logger = ConstructorParameters<typeof LightHouse>[0]['logger'];

/** A silent logger with pino's surface (the bench app does not depend on pino). */
function silentLogger(): Logger {
  const l = {
    child: () => l,
    isLevelEnabled: () => false,
    trace: () => {},
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: () => {},
    fatal: () => {},
  };
  return l as unknown as Logger;
}

/**
 * Garbage collections V8 ran during `ops` calls (GC performance entries are delivered after the
 * synchronous loop). Any steady allocation, even 1 byte per op, fills the young generation many
 * times over 10M ops, so 0 here means no allocation per op.
 */
async function gcDuring(ops: number, fn: () => void): Promise<number> {
  gc?.();
  await new Promise((r) => setTimeout(r, 50));
  let count = 0;
  const obs = new PerformanceObserver((list) => {
    count += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  for (let i = 0; i < ops; i++) fn();
  await new Promise((r) => setTimeout(r, 200));
  obs.disconnect();
  return count;
}

class NoopSender implements LighthouseSender {
  sendMeta(_vpnIp: number, _bytes: Uint8Array, _len: number): void {}
  punch(_addrs: Uint32Array, _i: number, _byte: number): void {}
  sendTest(_vpnIp: number): void {}
  triggerHandshake(_vpnIp: number): void {}
}

class CountingSender extends NoopSender {
  readonly sent: { vpnIp: number; len: number; type: number }[] = [];
  override sendMeta(vpnIp: number, bytes: Uint8Array, len: number): void {
    this.sent.push({ vpnIp, len, type: decodeMeta(bytes, 0, len).type });
  }
}

interface Fixture {
  lh: LightHouse;
  querier: number;
  found: number;
  missing: number;
}

function fixture(
  sender: LighthouseSender,
  amLighthouse: boolean,
  ids: [number, number, number],
  underlay: [number, number],
): Fixture {
  const [querier, found, missing] = ids;
  const lh = new LightHouse({
    myVpnIp: 0x0a800001,
    myVpnMask: 0, // Go's benchmark uses a /0 vpn network
    raw: { listen: { port: 4242 }, lighthouse: { am_lighthouse: amLighthouse } },
    sender,
    logger: silentLogger(),
  });
  const m = new NebulaMeta();
  // stored directly, like Go's fixture (unlockedSetV4 with an accept-all check)
  m.details.addIp4(underlay[1], 12345);
  m.details.addIp4(underlay[1], 12346);
  lh.queryCache(found).setReportedFromMeta(found, m.details);
  m.reset();
  m.details.addIp4(underlay[0], 12345);
  m.details.addIp4(underlay[0], 12346);
  lh.queryCache(querier).setReportedFromMeta(querier, m.details);
  return { lh, querier, found, missing };
}

function query(vpnIp: number): Uint8Array {
  const m = new NebulaMeta();
  m.type = MetaType.HostQuery;
  m.details.vpnIp = vpnIp;
  const buf = new Uint8Array(64);
  return buf.slice(0, encodeMeta(m, buf, 0));
}

interface Row {
  name: string;
  ops: number;
  nsPerOp: number;
  heapBytesPerOp: number;
  bufferBytesPerOp: number;
  gcs: string;
}

export async function run(args: string[]): Promise<void> {
  const opsArg = args.indexOf('--ops');
  const ops = opsArg >= 0 ? Number(args[opsArg + 1]) : 2_000_000;
  const gcOps = 5 * Math.max(ops, 2_000_000);
  if (!gc) console.warn('warning: run node with --expose-gc for stable allocation figures');

  const rows: Row[] = [];
  const goUnderlay: [number, number] = [0x01020203, 0x04050607]; // 1.2.2.3, 4.5.6.7
  const variants: {
    label: string;
    ids: [number, number, number];
    underlay: [number, number];
    am: boolean;
    reuseOff: boolean;
  }[] = [
    { label: '', ids: [2, 3, 4], underlay: goUnderlay, am: true, reuseOff: true },
    // numbers ≥ 2^31 are heap numbers in V8 (not Smis): 203.0.113.2-4 vpnIps, 198.51.100.3/.7 underlay
    {
      label: ' (vpnIps 203.0.113.x, underlay 198.51.100.x)',
      ids: [0xcb007102, 0xcb007103, 0xcb007104],
      underlay: [0xc6336403, 0xc6336407],
      am: true,
      reuseOff: false,
    },
    {
      label: ' (am_lighthouse off, Go original)',
      ids: [2, 3, 4],
      underlay: goUnderlay,
      am: false,
      reuseOff: false,
    },
  ];

  for (const v of variants) {
    const fromAddrs = new Uint32Array([4, 12345, v.underlay[0], 0, 0, 0]);
    // what each case sends, checked once with a recording sender
    const probe = new CountingSender();
    const pf = fixture(probe, v.am, v.ids, v.underlay);
    const ph = pf.lh.newRequestHandler();
    const qMissing = query(pf.missing);
    const qFound = query(pf.found);
    ph.handleRequest(pf.querier, fromAddrs, 0, qMissing, 0, qMissing.length);
    const notfoundSent = probe.sent.splice(0);
    ph.handleRequest(pf.querier, fromAddrs, 0, qFound, 0, qFound.length);
    const foundSent = probe.sent.splice(0);
    const expectFound = v.am ? 2 : 0;
    if (notfoundSent.length !== 0 || foundSent.length !== expectFound) {
      throw new Error(
        `fixture check failed: notfound sent ${notfoundSent.length}, found sent ${foundSent.length}`,
      );
    }
    if (v.label === '') {
      console.log(
        `check: notfound sends 0; found sends ${foundSent
          .map((s) => `type ${s.type} (${s.len} B) to ${s.vpnIp}`)
          .join(', ')}`,
      );
    }

    for (const reuse of v.reuseOff ? [true, false] : [true]) {
      const f = fixture(new NoopSender(), v.am, v.ids, v.underlay);
      const h = f.lh.newRequestHandler({ reuse });
      const tag = `${reuse ? 'reuse on' : 'reuse off'}${v.label}`;
      for (const [name, q] of [
        ['notfound', qMissing],
        ['found', qFound],
      ] as const) {
        // a captured const holds the vpnIp as one heap number; reading an object field of double
        // representation would box a copy per call (a cost of this loop, not of the handler)
        const querier = f.querier;
        const fn = (): void => h.handleRequest(querier, fromAddrs, 0, q, 0, q.length);
        const t = measure(`${name}`, ops, fn);
        // allocation: chunks small enough that GC-free chunks exist even when allocating per op
        const a = allocPerOp(Math.max(ops, 1_000_000), reuse ? 10_000 : 200, fn);
        const gcs = reuse ? String(await gcDuring(gcOps, fn)) : '–';
        rows.push({ name: `${name}, ${tag}`, ops, nsPerOp: t.nsPerOp, ...a, gcs });
      }
    }
  }

  console.log(`| case | ops | ns/op (CPU, best of 5) | heap B/op | ArrayBuffer B/op | GCs in ${gcOps} ops |`);
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.ops} | ${r.nsPerOp.toFixed(1)} | ${r.heapBytesPerOp.toFixed(2)} | ${r.bufferBytesPerOp.toFixed(2)} | ${r.gcs} |`,
    );
  }
  console.log(
    'Go 1.6.1 on this machine (go-bench.md, am_lighthouse on): notfound 48–86 ns (medians 57 / 81), found 285–368 ns (medians 293 / 337), 0 B/op.',
  );
}
