/**
 * Property test: the compiled tables agree with a direct, rule-by-rule reading of firewall.md §2
 * ("port AND proto AND (ca_sha OR ca_name OR no CA) AND (any OR groups ⊆ peer OR host OR cidr)",
 * port = destination port of the original direction, -1 for fragments, plus the port-0 rules).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Conntrack,
  Firewall,
  type FirewallPacket,
  FirewallPeer,
  type FirewallRule,
  newFirewallPacket,
  parseFirewallConfig,
} from '../src/index.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const CA_NAMES: Record<string, string> = { sha1: 'ca-one', sha2: 'ca-two' };

function modelRuleMatches(
  r: FirewallRule,
  p: FirewallPacket,
  incoming: boolean,
  peer: FirewallPeer,
): boolean {
  if (r.proto !== 0 && r.proto !== p.protocol) return false;
  const port = p.fragment ? -1 : incoming ? p.localPort : p.remotePort;
  const inRange = (x: number) => r.startPort <= x && x <= r.endPort;
  if (!inRange(port) && !inRange(0)) return false;
  if (r.caSha !== '' || r.caName !== '') {
    const shaOk = r.caSha !== '' && r.caSha === peer.issuer;
    const nameOk = r.caName !== '' && CA_NAMES[peer.issuer] === r.caName;
    if (!shaOk && !nameOk) return false;
  }
  const groups = r.groups ?? [];
  const isAny =
    (groups.length === 0 && r.host === '' && r.cidr === null) ||
    groups.includes('any') ||
    r.host === 'any' ||
    (r.cidr?.containsZero ?? false);
  if (isAny) return true;
  if (groups.length > 0 && groups.every((g) => peer.groups.includes(g))) return true;
  if (r.host !== '' && r.host === peer.name) return true;
  return r.cidr !== null && (p.remoteIp & r.cidr.mask) >>> 0 === r.cidr.addr;
}

const ruleArb = fc
  .record(
    {
      port: fc.constantFrom('any', 0, 22, 80, 443, '20-30', '0-5', 'fragment', 65535, '1-65535', '80-80'),
      proto: fc.constantFrom('any', 'tcp', 'udp', 'icmp'),
      host: fc.constantFrom('h1', 'h2', 'any'),
      groups: fc.oneof(fc.subarray(['g1', 'g2', 'g3']), fc.constant(['g1', 'any'])),
      cidr: fc.constantFrom('203.0.113.0/24', '203.0.113.2/32', '10.0.0.0/8', '0.0.0.0/0', '198.51.100.0/25'),
      ca_sha: fc.constantFrom('sha1', 'sha2', 'sha3'),
      ca_name: fc.constantFrom('ca-one', 'ca-two', 'ca-none'),
    },
    { requiredKeys: ['port', 'proto'] },
  )
  .filter(
    (r) =>
      r.host !== undefined ||
      (r.groups?.length ?? 0) > 0 ||
      r.cidr !== undefined ||
      r.ca_sha !== undefined ||
      r.ca_name !== undefined,
  );

const ipArb = fc.constantFrom(0xcb007101, 0xcb007102, 0xcb007163, 0x0a010203, 0xc6336405, 0xc63364f0);
const packetArb = fc.record({
  localIp: ipArb,
  remoteIp: ipArb,
  localPort: fc.constantFrom(0, 5, 22, 25, 80, 443, 65535, 1000),
  remotePort: fc.constantFrom(0, 5, 22, 25, 80, 443, 65535, 1000),
  protocol: fc.constantFrom(1, 6, 17, 47),
  fragment: fc.boolean(),
});
const peerArb = fc.record({
  name: fc.constantFrom('h1', 'h2', 'h3'),
  groups: fc.subarray(['g1', 'g2', 'g3']),
  issuer: fc.constantFrom('sha1', 'sha2', 'sha3'),
});

describe('compiled rule tables vs the spec model', () => {
  it('agree for random rule sets, packets, peers and directions', () => {
    const conntrack = Conntrack.create({ capacity: 8 });
    const p = newFirewallPacket();
    fc.assert(
      fc.property(
        fc.array(ruleArb, { maxLength: 6 }),
        fc.array(ruleArb, { maxLength: 6 }),
        fc.array(fc.tuple(packetArb, peerArb, fc.boolean()), { minLength: 1, maxLength: 12 }),
        (inbound, outbound, probes) => {
          const rules = parseFirewallConfig({ inbound, outbound });
          const fw = new Firewall({ rules, conntrack, localNets: [], caNameForIssuer: (i) => CA_NAMES[i] });
          for (const [pk, who, incoming] of probes) {
            Object.assign(p, pk);
            const peer = new FirewallPeer({ ...who, ips: [], subnets: [] });
            const table = incoming ? rules.inbound : rules.outbound;
            const want = table.some((r) => modelRuleMatches(r, p, incoming, peer));
            expect(fw.matchRules(p, incoming, peer)).toBe(want);
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
