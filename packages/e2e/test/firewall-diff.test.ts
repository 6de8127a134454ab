/**
 * Firewall differential (issue #10): the same inbound rules on a Go 1.6.1 node (g) and on ours (t);
 * the same flows (ICMP echo, TCP connect, UDP echo) from Go peers with different names/groups; the
 * same pass/drop decisions, observed by whether the flow gets through the overlay. Then the same
 * for outbound rules: g and t open the flows towards the peers, whose inbound allows anything.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireGoNebula, requireRoot, Testnet } from '../src/index.js';

const TARGETS = ['g', 't'] as const; // g: Go, t: ours
const PEERS = ['x', 'y', 'n'] as const;
const GROUPS: Record<string, string[]> = { x: ['x'], y: ['y', 'z'], n: [] };
const TCP_PORTS = [80, 443, 8080];
const UDP_PORTS = [53, 5353];
const CA_NAME = 'fwdiff-ca';

const SERVER = `import net from 'node:net'; import dgram from 'node:dgram';
const [tcp, udp] = [process.argv[2].split(',').map(Number), process.argv[3].split(',').map(Number)];
for (const p of tcp) net.createServer((s) => { s.on('error', () => {}); s.end('hi'); }).listen(p, '0.0.0.0');
for (const p of udp) { const s = dgram.createSocket('udp4'); s.on('message', (m, r) => s.send(m, r.port, r.address)); s.bind(p, '0.0.0.0'); }
console.log('ready');
`;

// argv[2]: JSON [{id, kind: 'icmp'|'tcp'|'udp', host, port}] -> prints JSON {id: 'pass'|'drop'}
const CLIENT = `import net from 'node:net'; import dgram from 'node:dgram'; import { execFile } from 'node:child_process';
const flows = JSON.parse(process.argv[2]); const T = Number(process.argv[3] ?? 2500); const out = {};
const tcp = (h, p) => new Promise((res) => { const s = net.connect({ host: h, port: p }); const t = setTimeout(() => { s.destroy(); res('drop'); }, T);
  s.on('connect', () => { clearTimeout(t); s.destroy(); res('pass'); }); s.on('error', (e) => { clearTimeout(t); res(e.code === 'ECONNREFUSED' ? 'pass' : 'drop'); }); });
const udp = (h, p) => new Promise((res) => { const s = dgram.createSocket('udp4'); let done = false;
  const fin = (r) => { if (!done) { done = true; clearInterval(i); clearTimeout(t); s.close(); res(r); } };
  s.on('message', () => fin('pass')); s.on('error', () => fin('drop'));
  const send = () => s.send('fwdiff', p, h); const i = setInterval(send, 500); send(); const t = setTimeout(() => fin('drop'), T); });
const icmp = (h) => new Promise((res) => execFile('ping', ['-n', '-c', '3', '-i', '0.5', '-W', String(Math.ceil(T / 1000)), '-w', String(Math.ceil(T / 1000) + 1), h], (e, so) => res(/ 0 received/.test(so) || !/time=/.test(so) ? 'drop' : 'pass')));
await Promise.all(flows.map(async (f) => { out[f.id] = f.kind === 'tcp' ? await tcp(f.host, f.port) : f.kind === 'udp' ? await udp(f.host, f.port) : await icmp(f.host); }));
console.log(JSON.stringify(out));
`;

interface RuleSet {
  readonly name: string;
  readonly inbound: (net: Testnet) => Record<string, unknown>[];
}

const RULE_SETS: readonly RuleSet[] = [
  {
    name: 'icmp any, tcp/80 group x, udp/53 groups [y z]',
    inbound: () => [
      { port: 'any', proto: 'icmp', host: 'any' },
      { port: 80, proto: 'tcp', group: 'x' },
      { port: 53, proto: 'udp', groups: ['y', 'z'] },
    ],
  },
  {
    name: 'tcp 8000-8100 host n, udp any group y, icmp groups [x y]',
    inbound: () => [
      { port: '8000-8100', proto: 'tcp', host: 'n' },
      { port: 'any', proto: 'udp', group: 'y' },
      { port: 'any', proto: 'icmp', groups: ['x', 'y'] },
    ],
  },
  {
    name: 'any from cidr of x, udp/5353 any host',
    inbound: (net) => [
      { port: 'any', proto: 'any', cidr: `${net.overlayIp('x')}/32` },
      { port: 5353, proto: 'udp', host: 'any' },
    ],
  },
  {
    name: 'tcp/443 ca_name, udp/53 ca_sha of another CA',
    inbound: () => [
      { port: 443, proto: 'tcp', ca_name: CA_NAME },
      { port: 53, proto: 'udp', ca_sha: '00'.repeat(32) },
    ],
  },
  {
    name: 'tcp any group z, icmp host y, nothing else',
    inbound: () => [
      { port: 'any', proto: 'tcp', group: 'z' },
      { port: 'any', proto: 'icmp', host: 'y' },
    ],
  },
  { name: 'empty inbound (drop all)', inbound: () => [] },
];

interface OutboundRuleSet {
  readonly name: string;
  readonly outbound: (net: Testnet) => Record<string, unknown>[];
}

// Outbound rules match the destination's certificate (host, groups, ca) and address.
const OUTBOUND_RULE_SETS: readonly OutboundRuleSet[] = [
  {
    name: 'icmp any, tcp/80 group x, udp/53 host y',
    outbound: () => [
      { port: 'any', proto: 'icmp', host: 'any' },
      { port: 80, proto: 'tcp', group: 'x' },
      { port: 53, proto: 'udp', host: 'y' },
    ],
  },
  {
    name: 'tcp 400-500 groups [y z], udp any cidr of n, icmp group x',
    outbound: (net) => [
      { port: '400-500', proto: 'tcp', groups: ['y', 'z'] },
      { port: 'any', proto: 'udp', cidr: `${net.overlayIp('n')}/32` },
      { port: 'any', proto: 'icmp', group: 'x' },
    ],
  },
  { name: 'empty outbound (send nothing)', outbound: () => [] },
];

const FLOW_NAMES = ['icmp', ...TCP_PORTS.map((x) => `tcp/${x}`), ...UDP_PORTS.map((x) => `udp/${x}`)];

/** The flow client's argument for every flow towards `hosts` (ids are `<host>|<flow>`). */
function clientFlows(net: Testnet, hosts: readonly string[]): string {
  return JSON.stringify(
    hosts.flatMap((h) => [
      { id: `${h}|icmp`, kind: 'icmp', host: net.overlayIp(h), port: 0 },
      ...TCP_PORTS.map((port) => ({ id: `${h}|tcp/${port}`, kind: 'tcp', host: net.overlayIp(h), port })),
      ...UDP_PORTS.map((port) => ({ id: `${h}|udp/${port}`, kind: 'udp', host: net.overlayIp(h), port })),
    ]),
  );
}

/** A Go lighthouse and Go peers, the flow scripts, and a flow server in each of `serverHosts`. */
async function flowNet(
  prefix: string,
  serverHosts: readonly string[],
  servers: ChildProcess[],
): Promise<Testnet> {
  requireRoot();
  requireGoNebula();
  const net = await Testnet.create({ prefix, hosts: ['lh', ...TARGETS, ...PEERS] });
  await net.makePki({ tool: 'go', caName: CA_NAME, groups: GROUPS });
  writeFileSync(join(net.dir, 'fw-server.mjs'), SERVER);
  writeFileSync(join(net.dir, 'fw-client.mjs'), CLIENT);
  for (const h of net.hosts) net.writeConfig(h, net.baseConfig(h));
  await net.start('lh', { impl: 'go' });
  for (const p of PEERS) await net.start(p, { impl: 'go' });
  for (const h of serverHosts) {
    const args = [process.execPath, join(net.dir, 'fw-server.mjs'), TCP_PORTS.join(','), UDP_PORTS.join(',')];
    servers.push(
      spawn('ip', ['netns', 'exec', net.ns(h), 'timeout', '-k', '2', '900', ...args], { stdio: 'ignore' }),
    );
  }
  return net;
}

async function stopFlowNet(
  net: Testnet | undefined,
  servers: ChildProcess[],
  title: string,
  results: string[],
) {
  for (const s of servers) if (s.pid !== undefined && s.exitCode === null) s.kill('SIGTERM');
  if (results.length) console.log(`[${title}]\n${results.join('\n')}`);
  await net?.destroy();
}

/** Restarts g (Go) and t (ours) with `rules` as their inbound or outbound table. */
async function restartTargets(net: Testnet, table: 'inbound' | 'outbound', rules: Record<string, unknown>[]) {
  for (const t of TARGETS) {
    await net.stop(t);
    const c = net.baseConfig(t) as { firewall: Record<string, unknown> };
    c.firewall[table] = rules;
    net.writeConfig(t, c);
    await net.start(t, { impl: t === 'g' ? 'go' : 'ts' });
  }
}

/** Runs the flow client in `from`'s namespace: flow id → 'pass' | 'drop'. */
async function runFlows(
  net: Testnet,
  from: string,
  flows: string,
  waitMs: number,
): Promise<Record<string, string>> {
  const r = await net.exec(from, [process.execPath, join(net.dir, 'fw-client.mjs'), flows, String(waitMs)], {
    timeoutMs: waitMs * 6 + 15_000,
  });
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, string>;
}

/** Go's and our decision for each peer × flow, as report rows, mismatches and Go's pass count. */
function compareDecisions(
  label: (peer: string) => string,
  decide: (peer: string, flow: string) => readonly [string | undefined, string | undefined],
) {
  const rows: string[] = [];
  const mismatches: string[] = [];
  let passes = 0;
  for (const p of PEERS)
    for (const flow of FLOW_NAMES) {
      const [go, ts] = decide(p, flow);
      if (go === 'pass') passes++;
      rows.push(`  ${label(p)} ${flow}: go=${go} ts=${ts}${go === ts ? '' : '  <-- MISMATCH'}`);
      if (go !== ts) mismatches.push(`${p} ${flow}: go=${go} ts=${ts}`);
    }
  return { rows, mismatches, passes };
}

const peerLabel = (p: string) => `${p}(${GROUPS[p]?.join(',') || '-'})`;

describe('firewall differential: Go 1.6.1 vs ours, same rules, same flows', () => {
  let net: Testnet;
  const servers: ChildProcess[] = [];
  const results: string[] = [];

  beforeAll(async () => {
    net = await flowNet('fwd', TARGETS, servers);
  }, 120_000);

  afterAll(() => stopFlowNet(net, servers, 'firewall-diff', results));

  for (const rs of RULE_SETS) {
    it(`rule set: ${rs.name}`, async () => {
      await restartTargets(net, 'inbound', rs.inbound(net));
      // warm the tunnels (the handshake happens whatever the inbound rules say)
      await Promise.all(
        PEERS.flatMap((p) =>
          TARGETS.map((t) =>
            net.exec(p, ['ping', '-n', '-c', '2', '-i', '0.3', '-W', '1', net.overlayIp(t)], {
              timeoutMs: 8000,
            }),
          ),
        ),
      );
      const decisions: Record<string, Record<string, string>> = {};
      await Promise.all(
        PEERS.map(async (p) => {
          decisions[p] = await runFlows(net, p, clientFlows(net, TARGETS), 2500);
        }),
      );
      const { rows, mismatches, passes } = compareDecisions(peerLabel, (p, flow) => [
        decisions[p]?.[`g|${flow}`],
        decisions[p]?.[`t|${flow}`],
      ]);
      results.push(`${rs.name}\n${rows.join('\n')}`);
      expect(mismatches, `${rs.name}\n${rows.join('\n')}`).toEqual([]);
      if (rs.inbound(net).length > 0)
        expect(passes, 'rule set lets something through on Go').toBeGreaterThan(0);
      expect(rows.length).toBe(PEERS.length * 6);
    }, 120_000);
  }
});

describe('firewall differential, outbound: Go 1.6.1 vs ours send the same flows', () => {
  let net: Testnet;
  const servers: ChildProcess[] = [];
  const results: string[] = [];

  beforeAll(async () => {
    net = await flowNet('fwo', PEERS, servers);
  }, 120_000);

  afterAll(() => stopFlowNet(net, servers, 'firewall-diff outbound', results));

  for (const rs of OUTBOUND_RULE_SETS) {
    it(`outbound rule set: ${rs.name}`, async () => {
      await restartTargets(net, 'outbound', rs.outbound(net));
      // Tunnels from the peers' side (their outbound allows anything), so a target whose outbound
      // refuses everything still has them: what is compared is the rule decision, not the
      // handshake. UDP to the unused port 9, so the warm-up leaves no conntrack entry that a
      // tested flow (ICMP echo, TCP/UDP to the listed ports) could match.
      const warm = JSON.stringify(
        TARGETS.map((t) => ({ id: t, kind: 'udp', host: net.overlayIp(t), port: 9 })),
      );
      await Promise.all(PEERS.map((p) => runFlows(net, p, warm, 1500)));
      const decisions: Record<string, Record<string, string>> = {};
      await Promise.all(
        TARGETS.map(async (t) => {
          decisions[t] = await runFlows(net, t, clientFlows(net, PEERS), 2500);
        }),
      );
      const { rows, mismatches, passes } = compareDecisions(
        (p) => `-> ${peerLabel(p)}`,
        (p, flow) => [decisions.g?.[`${p}|${flow}`], decisions.t?.[`${p}|${flow}`]],
      );
      results.push(`${rs.name}\n${rows.join('\n')}`);
      expect(mismatches, `${rs.name}\n${rows.join('\n')}`).toEqual([]);
      if (rs.outbound(net).length > 0) expect(passes, 'rule set lets something out on Go').toBeGreaterThan(0);
      else expect(passes, 'an empty outbound lets nothing out on Go').toBe(0);
    }, 120_000);
  }
});
