#!/usr/bin/env node
/**
 * `pnpm demo`: a three-host Nebula network in network namespaces, explained as it goes.
 *   1. a CA and host certificates made with our `nebula-cert`
 *   2. a lighthouse and two nodes started with our `nebula` (or Go's, with --impl go)
 *   3. the handshake, pings across the overlay, a TCP transfer checked by sha256
 *   4. the tunnels and a few metrics, then everything is removed again
 * Needs root and a build: `pnpm turbo run build --filter=@nebula-ts/nebula-cli...`.
 */
import { parseArgs } from 'node:util';
import { type Impl, requireRoot, Testnet, TS_NEBULA_CERT_JS, TS_NEBULA_JS } from '@nebula-ts/e2e';

const HOSTS = ['lh', 'a', 'b'] as const;
const METRICS_PORT = 8080;

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string): string => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
const step = (n: number, s: string): void => console.log(`\n${bold(`${n}. ${s}`)}`);
const indent = (text: string, by = '   '): string =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => by + l)
    .join('\n');

/** Pulls `key=value` / `key="value"` fields out of a logrus text line. */
function fields(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|(\S+))/g))
    out[m[1] as string] = m[2] ?? m[3] ?? '';
  return out;
}

async function fetchMetrics(net: Testnet, host: string): Promise<string> {
  const script = `fetch('http://127.0.0.1:${METRICS_PORT}/metrics').then(r=>r.text()).then(t=>process.stdout.write(t),e=>{console.error(String(e));process.exit(1)})`;
  const r = await net.exec(host, [process.execPath, '-e', script], { timeoutMs: 10_000 });
  return r.code === 0 ? r.stdout : '';
}

async function demo(impl: 'ts' | 'go', keep: boolean): Promise<number> {
  requireRoot();
  const nodeImpl: Impl = impl;
  console.log(
    bold('nebula-ts demo') + dim(`  (nodes: ${impl === 'ts' ? `node ${TS_NEBULA_JS}` : 'Go nebula 1.6.1'})`),
  );

  const net = await Testnet.create({ prefix: 'demo', hosts: [...HOSTS], keepDir: keep });
  const cleanup = (): void => {
    void net.destroy().then(() => process.exit(130));
  };
  process.once('SIGINT', cleanup);
  try {
    step(1, 'Network namespaces');
    for (const h of HOSTS)
      console.log(
        `   ${h.padEnd(3)} ns ${net.ns(h).padEnd(18)} underlay ${net.underlayIp(h).padEnd(14)} overlay ${net.overlayIp(h)}`,
      );
    console.log(dim(`   files in ${net.dir}`));

    step(2, `Certificates (our nebula-cert: ${TS_NEBULA_CERT_JS})`);
    const pki = await net.makePki({
      tool: 'ts',
      caName: 'nebula-ts demo CA',
      groups: { a: ['laptop'], b: ['server'], lh: ['infra'] },
    });
    // Times print in UTC: the namespaces share the host clock and a fixed zone reads the same everywhere.
    const printed = await net.exec('a', [
      'env',
      'TZ=UTC',
      process.execPath,
      TS_NEBULA_CERT_JS,
      'print',
      '-path',
      pki.hosts.a?.crt as string,
    ]);
    console.log(indent(printed.stdout || printed.stderr));

    step(3, 'Configs and processes');
    for (const h of HOSTS) {
      const c = net.baseConfig(h);
      c.stats = {
        type: 'prometheus',
        listen: `127.0.0.1:${METRICS_PORT}`,
        path: '/metrics',
        interval: '1s',
        message_metrics: true,
        lighthouse_metrics: true,
      };
      // b only accepts ping and TCP from the laptop group; everything else is dropped.
      if (h === 'b') {
        (c.firewall as Record<string, unknown>).inbound = [
          { port: 'any', proto: 'icmp', host: 'any' },
          { port: 'any', proto: 'tcp', group: 'laptop' },
        ];
      }
      net.writeConfig(h, c);
    }
    for (const h of HOSTS) {
      const { pid } = await net.start(h, { impl: nodeImpl });
      console.log(
        `   ${h.padEnd(3)} pid ${String(pid).padEnd(7)} listening on udp/4242 ${dim(net.logPath(h))}`,
      );
    }

    step(4, 'Handshake a -> b (through the lighthouse)');
    const from = net.logOffset('a');
    const first = await net.ping('a', 'b', { count: 1, timeoutMs: 15_000 });
    if (first.received === 0) throw new Error(`no tunnel a -> b; see ${net.logPath('a')}`);
    const hs = (await net.waitForLog('a', /Handshake message received/, 5000, from).catch(() => '')) || '';
    const f = fields(hs);
    console.log(
      `   tunnel up: ${f.certName ?? 'b'} vpnIp=${f.vpnIp ?? net.overlayIp('b')} via udpAddr=${f.udpAddr ?? '?'}${f.durationNs ? ` in ${(Number(f.durationNs) / 1e6).toFixed(1)} ms` : ''}`,
    );
    if (hs) console.log(dim(indent(hs, '   > ')));

    step(5, 'Ping across the overlay');
    for (const [x, y] of [
      ['a', 'b'],
      ['b', 'a'],
      ['a', 'lh'],
    ] as const) {
      const r = await net.ping(x, y, { count: 3, timeoutMs: 10_000 });
      const rtts = r.rttMs.map((t) => `${t.toFixed(2)} ms`).join(', ');
      console.log(`   ${x} -> ${y} (${net.overlayIp(y)}): ${r.received}/3 replies  ${dim(rtts)}`);
    }

    step(6, 'TCP over the overlay (4 MiB, sha256 checked at both ends)');
    const t = await net.tcpTransfer('a', 'b', { bytes: 4 << 20 });
    const ok = t.sentSha === t.receivedSha;
    console.log(
      `   ${ok ? 'match' : 'MISMATCH'} ${t.receivedSha.slice(0, 16)}...  ${t.ms} ms, ${((t.bytes * 8) / 1e3 / Math.max(t.ms, 1)).toFixed(1)} Mbit/s`,
    );
    const denied = await net.exec('lh', [
      process.execPath,
      '-e',
      `const s=require('net').connect(22,'${net.overlayIp('b')}');s.setTimeout(1500,()=>{console.log('timeout');process.exit(0)});s.on('connect',()=>{console.log('connected');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)})`,
    ]);
    console.log(
      `   lh -> b tcp/22 (lh is not in group laptop): ${denied.stdout.trim() === 'timeout' ? "dropped by b's firewall" : denied.stdout.trim()}`,
    );

    step(7, 'Tunnels and metrics');
    for (const h of ['a', 'b'] as const) {
      const peers = new Map<string, string>();
      for (const line of net.log(h).split('\n')) {
        if (!/Handshake message (received|sent)|Tunnel status/.test(line)) continue;
        const lf = fields(line);
        if (lf.vpnIp) peers.set(lf.vpnIp, `${lf.certName ?? '?'} at ${lf.udpAddr ?? '?'}`);
      }
      console.log(
        `   ${h}: ${[...peers].map(([ip, d]) => `${ip} (${d})`).join(', ') || 'no tunnel lines logged'}`,
      );
    }
    const metrics = await fetchMetrics(net, 'a');
    // A fixed selection in a readable order; the exposition order is registration order.
    const shown = [
      'hostmap_main_hosts',
      'handshake_manager_initiated',
      'handshake_manager_timed_out',
      'messages_tx_handshake_ixpsk0',
      'messages_rx_handshake_ixpsk0',
      'messages_tx_lighthouse',
      'messages_rx_lighthouse',
      'lighthouse_tx_HostQuery',
      'lighthouse_rx_HostQueryReply',
      'lighthouse_tx_HostUpdateNotification',
      'firewall_conntrack_count',
      'routines',
    ];
    const lines = metrics.split('\n');
    const interesting = shown.flatMap((name) => lines.filter((l) => l.startsWith(`${name} `)));
    console.log(
      `   a's /metrics (${metrics.split('\n').filter((l) => l && !l.startsWith('#')).length} series):`,
    );
    console.log(indent(interesting.join('\n') || '(no nebula metrics exported)', '     '));

    step(8, 'Stop');
    for (const h of ['b', 'a', 'lh'] as const) {
      const exit = await net.stop(h);
      console.log(`   ${h.padEnd(3)} exit ${exit?.code ?? exit?.signal ?? '?'}`);
    }
    return 0;
  } finally {
    process.off('SIGINT', cleanup);
    await net.destroy();
    console.log(dim(`\nnamespaces removed${keep ? `; files kept in ${net.dir}` : ''}`));
  }
}

// `pnpm demo -- --impl go` passes the `--` through; drop it so the flags after it count.
const argv = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
const { values } = parseArgs({
  args: argv,
  options: {
    impl: { type: 'string', default: 'ts' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help || (values.impl !== 'ts' && values.impl !== 'go')) {
  console.log(
    'usage: demo [--impl ts|go] [--keep]   (root; build first: pnpm turbo run build --filter=@nebula-ts/nebula-cli...)',
  );
  process.exit(values.help ? 0 : 2);
}
demo(values.impl as 'ts' | 'go', values.keep === true).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`demo failed: ${(e as Error).message}`);
    process.exit(1);
  },
);
