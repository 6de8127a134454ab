import { describe, expect, it } from 'vitest';
import {
  Conntrack,
  DROP_LOCAL_IP,
  DROP_NO_RULE,
  DROP_NONE,
  DROP_REMOTE_IP,
  Firewall,
  type FirewallPacket,
  type FirewallPeerInit,
  localNetsOf,
  parseFirewallConfig,
} from '../src/index.js';
import { firewall, ip, net, peer, pkt } from './helpers.js';

type Case = [
  name: string,
  rule: Record<string, unknown>,
  p: Partial<FirewallPacket>,
  who: Partial<FirewallPeerInit>,
  pass: boolean,
];

/** Each case: one inbound rule, an incoming packet (local port = destination), a peer. */
function runInbound(cases: Case[]) {
  it.each(cases)('%s', (_n, rule, p, who, pass) => {
    const fw = firewall({ inbound: [rule] });
    expect(fw.drop(pkt(p), true, peer(who), null)).toBe(pass ? DROP_NONE : DROP_NO_RULE);
  });
}

const any = { host: 'any' };

describe('proto', () => {
  runInbound([
    ['any matches udp', { port: 'any', proto: 'any', ...any }, { protocol: 17 }, {}, true],
    ['any matches tcp', { port: 'any', proto: 'any', ...any }, { protocol: 6 }, {}, true],
    [
      'any matches icmp',
      { port: 'any', proto: 'any', ...any },
      { protocol: 1, localPort: 0, remotePort: 0 },
      {},
      true,
    ],
    ['any matches gre (47)', { port: 'any', proto: 'any', ...any }, { protocol: 47 }, {}, true],
    ['any matches esp (50)', { port: 'any', proto: 'any', ...any }, { protocol: 50, localPort: 0 }, {}, true],
    ['tcp matches tcp', { port: 'any', proto: 'tcp', ...any }, { protocol: 6 }, {}, true],
    ['tcp refuses udp', { port: 'any', proto: 'tcp', ...any }, { protocol: 17 }, {}, false],
    ['tcp refuses icmp', { port: 'any', proto: 'tcp', ...any }, { protocol: 1 }, {}, false],
    ['udp matches udp', { port: 'any', proto: 'udp', ...any }, { protocol: 17 }, {}, true],
    ['udp refuses tcp', { port: 'any', proto: 'udp', ...any }, { protocol: 6 }, {}, false],
    ['icmp matches icmp', { port: 'any', proto: 'icmp', ...any }, { protocol: 1, localPort: 0 }, {}, true],
    ['icmp refuses udp', { port: 'any', proto: 'icmp', ...any }, { protocol: 17 }, {}, false],
    ['icmp refuses gre', { port: 'any', proto: 'icmp', ...any }, { protocol: 47 }, {}, false],
    ['tcp refuses gre', { port: 'any', proto: 'tcp', ...any }, { protocol: 47 }, {}, false],
    ['icmp with code any', { code: 'any', proto: 'icmp', ...any }, { protocol: 1, localPort: 0 }, {}, true],
    [
      'icmp with code 8 never matches (icmp has port 0)',
      { code: 8, proto: 'icmp', ...any },
      { protocol: 1, localPort: 0 },
      {},
      false,
    ],
  ]);
});

describe('port', () => {
  runInbound([
    ['single port hit', { port: 443, proto: 'tcp', ...any }, { protocol: 6, localPort: 443 }, {}, true],
    [
      'single port string hit',
      { port: '443', proto: 'tcp', ...any },
      { protocol: 6, localPort: 443 },
      {},
      true,
    ],
    ['single port miss', { port: 443, proto: 'tcp', ...any }, { protocol: 6, localPort: 444 }, {}, false],
    [
      'remote port is not checked inbound',
      { port: 443, proto: 'tcp', ...any },
      { protocol: 6, localPort: 1, remotePort: 443 },
      {},
      false,
    ],
    ['range low edge', { port: '200-901', proto: 'tcp', ...any }, { protocol: 6, localPort: 200 }, {}, true],
    ['range high edge', { port: '200-901', proto: 'tcp', ...any }, { protocol: 6, localPort: 901 }, {}, true],
    ['range middle', { port: '200-901', proto: 'tcp', ...any }, { protocol: 6, localPort: 555 }, {}, true],
    ['range below', { port: '200-901', proto: 'tcp', ...any }, { protocol: 6, localPort: 199 }, {}, false],
    ['range above', { port: '200-901', proto: 'tcp', ...any }, { protocol: 6, localPort: 902 }, {}, false],
    [
      'range with spaces',
      { port: ' 200 - 901 ', proto: 'tcp', ...any },
      { protocol: 6, localPort: 300 },
      {},
      true,
    ],
    ['full range 1-65535', { port: '1-65535', proto: 'udp', ...any }, { localPort: 65535 }, {}, true],
    ['range 1-65535 misses port 0', { port: '1-65535', proto: 'udp', ...any }, { localPort: 0 }, {}, false],
    [
      'range past 65535 clipped',
      { port: '65000-70000', proto: 'udp', ...any },
      { localPort: 65535 },
      {},
      true,
    ],
    [
      'port 70000 never matches',
      { port: 70000, proto: 'udp', ...any },
      { localPort: 70000 & 0xffff },
      {},
      false,
    ],
    ['any', { port: 'any', proto: 'udp', ...any }, { localPort: 12345 }, {}, true],
    ['0 is any', { port: 0, proto: 'udp', ...any }, { localPort: 12345 }, {}, true],
    ['0-x is any', { port: '0-5', proto: 'udp', ...any }, { localPort: 12345 }, {}, true],
    ['any matches port 0', { port: 'any', proto: 'udp', ...any }, { localPort: 0 }, {}, true],
    [
      'any matches a fragment',
      { port: 'any', proto: 'udp', ...any },
      { localPort: 0, remotePort: 0, fragment: true },
      {},
      true,
    ],
    [
      'fragment matches fragment',
      { port: 'fragment', proto: 'udp', ...any },
      { localPort: 0, remotePort: 0, fragment: true },
      {},
      true,
    ],
    [
      'fragment refuses first fragment',
      { port: 'fragment', proto: 'udp', ...any },
      { localPort: 53 },
      {},
      false,
    ],
    [
      'port rule refuses fragment',
      { port: 53, proto: 'udp', ...any },
      { localPort: 0, fragment: true },
      {},
      false,
    ],
    [
      'range refuses fragment',
      { port: '1-65535', proto: 'udp', ...any },
      { localPort: 0, fragment: true },
      {},
      false,
    ],
    [
      'int32 wrap 4294967295 is fragment',
      { port: '4294967295', proto: 'udp', ...any },
      { fragment: true, localPort: 0 },
      {},
      true,
    ],
    [
      'int32 wrap 4294967376 is 80',
      { port: '4294967376', proto: 'udp', ...any },
      { localPort: 80 },
      {},
      true,
    ],
  ]);

  it.each([
    ['inbound uses the local (destination) port', true, { localPort: 22, remotePort: 5555 }, true],
    ['inbound ignores the remote port', true, { localPort: 5555, remotePort: 22 }, false],
    ['outbound uses the remote (destination) port', false, { localPort: 5555, remotePort: 22 }, true],
    ['outbound ignores the local port', false, { localPort: 22, remotePort: 5555 }, false],
  ] as const)('%s', (_n, incoming, p, pass) => {
    const dir = incoming ? 'inbound' : 'outbound';
    const fw = firewall({ [dir]: [{ port: 22, proto: 'tcp', host: 'any' }] });
    expect(fw.drop(pkt({ protocol: 6, ...p }), incoming, peer(), null)).toBe(pass ? DROP_NONE : DROP_NO_RULE);
  });

  it('rules split across overlapping ranges keep each rule at each port', () => {
    const fw = firewall({
      inbound: [
        { port: '100-200', proto: 'tcp', host: 'a' },
        { port: 150, proto: 'tcp', host: 'b' },
        { port: '180-300', proto: 'tcp', host: 'c' },
      ],
    });
    const check = (port: number, name: string) =>
      fw.drop(pkt({ protocol: 6, localPort: port }), true, peer({ name }), null) === DROP_NONE;
    expect([
      check(100, 'a'),
      check(150, 'a'),
      check(150, 'b'),
      check(151, 'b'),
      check(190, 'a'),
      check(190, 'c'),
      check(250, 'a'),
      check(300, 'c'),
      check(301, 'c'),
    ]).toEqual([true, true, true, false, true, true, false, true, false]);
  });
});

describe('host / group / groups / cidr', () => {
  runInbound([
    ['host exact', { port: 'any', proto: 'any', host: 'host1' }, {}, {}, true],
    ['host other', { port: 'any', proto: 'any', host: 'host2' }, {}, {}, false],
    ['host is case sensitive', { port: 'any', proto: 'any', host: 'Host1' }, {}, {}, false],
    ['host any', { port: 'any', proto: 'any', host: 'any' }, {}, { name: 'whatever' }, true],
    ['group hit', { port: 'any', proto: 'any', group: 'default-group' }, {}, {}, true],
    ['group miss', { port: 'any', proto: 'any', group: 'nope' }, {}, {}, false],
    ['group any', { port: 'any', proto: 'any', group: 'any' }, {}, { groups: [] }, true],
    ['group on a peer without groups', { port: 'any', proto: 'any', group: 'g' }, {}, { groups: [] }, false],
    ['group one-element list', { port: 'any', proto: 'any', group: ['default-group'] }, {}, {}, true],
    [
      'groups AND all present',
      { port: 'any', proto: 'any', groups: ['a', 'b'] },
      {},
      { groups: ['b', 'c', 'a'] },
      true,
    ],
    [
      'groups AND one missing',
      { port: 'any', proto: 'any', groups: ['a', 'b'] },
      {},
      { groups: ['a'] },
      false,
    ],
    [
      'groups AND none present',
      { port: 'any', proto: 'any', groups: ['a', 'b'] },
      {},
      { groups: ['c'] },
      false,
    ],
    ['groups single string', { port: 'any', proto: 'any', groups: 'a' }, {}, { groups: ['a'] }, true],
    ['groups containing any', { port: 'any', proto: 'any', groups: ['a', 'any'] }, {}, { groups: [] }, true],
    [
      'groups with a comma is one name',
      { port: 'any', proto: 'any', groups: ['a, b'] },
      {},
      { groups: ['a', 'b'] },
      false,
    ],
    ['cidr contains remote', { port: 'any', proto: 'any', cidr: '203.0.113.0/24' }, {}, {}, true],
    ['cidr /32 exact', { port: 'any', proto: 'any', cidr: '203.0.113.2/32' }, {}, {}, true],
    ['cidr /32 other', { port: 'any', proto: 'any', cidr: '203.0.113.3/32' }, {}, {}, false],
    [
      'cidr is matched against remote, not local',
      { port: 'any', proto: 'any', cidr: '203.0.113.1/32' },
      {},
      {},
      false,
    ],
    ['cidr host bits masked', { port: 'any', proto: 'any', cidr: '203.0.113.99/24' }, {}, {}, true],
    ['cidr /0 is any', { port: 'any', proto: 'any', cidr: '0.0.0.0/0' }, {}, {}, true],
    [
      'cidr containing 0.0.0.0 is any (Go isAny)',
      { port: 'any', proto: 'any', cidr: '0.0.0.0/8' },
      {},
      {},
      true,
    ],
    ['cidr miss', { port: 'any', proto: 'any', cidr: '10.0.0.0/8' }, {}, {}, false],
    [
      'ipv6 /64 cidr matches every IPv4 remote (1.6.1 tree keeps the low 32 bits)',
      { port: 'any', proto: 'any', cidr: 'fd00::/64' },
      {},
      {},
      true,
    ],
    [
      'ipv6 /128 matches only its low 32 bits',
      { port: 'any', proto: 'any', cidr: '::cb00:7102/128' },
      {},
      {},
      true,
    ],
    ['ipv6 /128 other low bits', { port: 'any', proto: 'any', cidr: '::cb00:7103/128' }, {}, {}, false],
    ['host OR group: host hits', { port: 'any', proto: 'any', host: 'host1', group: 'nope' }, {}, {}, true],
    [
      'host OR group: group hits',
      { port: 'any', proto: 'any', host: 'x', group: 'default-group' },
      {},
      {},
      true,
    ],
    [
      'host OR cidr: cidr hits',
      { port: 'any', proto: 'any', host: 'x', cidr: '203.0.113.0/24' },
      {},
      {},
      true,
    ],
    [
      'host, group, cidr all miss',
      { port: 'any', proto: 'any', host: 'x', group: 'y', cidr: '10.0.0.0/8' },
      {},
      {},
      false,
    ],
  ]);

  it('several rules: any group list fully present wins', () => {
    const fw = firewall({
      inbound: [
        { port: 'any', proto: 'any', groups: ['a', 'b'] },
        { port: 'any', proto: 'any', groups: ['c'] },
      ],
    });
    expect(fw.drop(pkt(), true, peer({ groups: ['c'] }), null)).toBe(DROP_NONE);
    expect(fw.drop(pkt({ localPort: 11 }), true, peer({ groups: ['a'] }), null)).toBe(DROP_NO_RULE);
  });
});

describe('ca_name / ca_sha', () => {
  runInbound([
    ['ca_sha hit', { port: 'any', proto: 'any', ca_sha: 'signer-shasum' }, {}, {}, true],
    ['ca_sha miss', { port: 'any', proto: 'any', ca_sha: 'other' }, {}, {}, false],
    ['ca_name hit', { port: 'any', proto: 'any', ca_name: 'ca-good' }, {}, {}, true],
    ['ca_name miss', { port: 'any', proto: 'any', ca_name: 'ca-bad' }, {}, {}, false],
    [
      'ca_name for an unknown CA',
      { port: 'any', proto: 'any', ca_name: 'ca-good' },
      {},
      { issuer: 'unknown' },
      false,
    ],
    [
      'ca_sha AND group',
      { port: 'any', proto: 'any', ca_sha: 'signer-shasum', group: 'default-group' },
      {},
      {},
      true,
    ],
    [
      'ca_sha AND group: group misses',
      { port: 'any', proto: 'any', ca_sha: 'signer-shasum', group: 'nope' },
      {},
      {},
      false,
    ],
    [
      'ca_sha AND group: CA misses',
      { port: 'any', proto: 'any', ca_sha: 'other', group: 'default-group' },
      {},
      {},
      false,
    ],
    ['ca_name AND host', { port: 'any', proto: 'any', ca_name: 'ca-good', host: 'host1' }, {}, {}, true],
    [
      'ca_name AND host: wrong CA',
      { port: 'any', proto: 'any', ca_name: 'ca-bad', host: 'host1' },
      {},
      {},
      false,
    ],
    [
      'ca_name + ca_sha: sha matches (OR)',
      { port: 'any', proto: 'any', ca_name: 'ca-bad', ca_sha: 'signer-shasum' },
      {},
      {},
      true,
    ],
    [
      'ca_name + ca_sha: name matches (OR)',
      { port: 'any', proto: 'any', ca_name: 'ca-good', ca_sha: 'nope' },
      {},
      {},
      true,
    ],
  ]);

  it('ca name does not get in the way of group checks (Go TestFirewall_Drop)', () => {
    const fw = firewall({
      inbound: [
        { port: 'any', proto: 'any', group: 'nope', ca_name: 'ca-good' },
        { port: 'any', proto: 'any', group: 'default-group', ca_name: 'ca-good-bad' },
      ],
    });
    expect(fw.drop(pkt(), true, peer(), null)).toBe(DROP_NO_RULE);
    const fw2 = firewall({
      inbound: [
        { port: 'any', proto: 'any', group: 'nope', ca_name: 'ca-good-bad' },
        { port: 'any', proto: 'any', group: 'default-group', ca_name: 'ca-good' },
      ],
    });
    expect(fw2.drop(pkt(), true, peer(), null)).toBe(DROP_NONE);
  });

  it('host rule and ca_sha rule on the same port (Go TestFirewall_Drop3)', () => {
    const fw = firewall({
      inbound: [
        { port: 1, proto: 'any', host: 'host1' },
        { port: 1, proto: 'any', ca_sha: 'signer-sha' },
      ],
    });
    const p = () => pkt({ localPort: 1, remotePort: 1 });
    expect(fw.drop(p(), true, peer({ name: 'host1', issuer: 'signer-sha-bad' }), null)).toBe(DROP_NONE);
    fw.conntrack.clear();
    expect(fw.drop(p(), true, peer({ name: 'host2', issuer: 'signer-sha' }), null)).toBe(DROP_NONE);
    fw.conntrack.clear();
    expect(fw.drop(p(), true, peer({ name: 'host3', issuer: 'signer-sha-bad' }), null)).toBe(DROP_NO_RULE);
  });
});

describe('combinations and directions', () => {
  it('default drop: no rules at all', () => {
    const fw = firewall({});
    expect(fw.drop(pkt(), true, peer(), null)).toBe(DROP_NO_RULE);
    expect(fw.drop(pkt(), false, peer(), null)).toBe(DROP_NO_RULE);
  });

  it('inbound rules do not allow outbound packets and vice versa', () => {
    const fw = firewall({ inbound: [{ port: 'any', proto: 'any', host: 'any' }] });
    expect(fw.drop(pkt(), false, peer(), null)).toBe(DROP_NO_RULE);
    expect(fw.drop(pkt(), true, peer(), null)).toBe(DROP_NONE);
    // the inbound pass created the conntrack entry: the same tuple outbound now passes
    expect(fw.drop(pkt(), false, peer(), null)).toBe(DROP_NONE);
  });

  it('proto any rule + specific proto rule both consulted', () => {
    const fw = firewall({
      inbound: [
        { port: 53, proto: 'any', host: 'a' },
        { port: 53, proto: 'udp', host: 'b' },
      ],
    });
    expect(fw.drop(pkt({ localPort: 53 }), true, peer({ name: 'a' }), null)).toBe(DROP_NONE);
    expect(fw.drop(pkt({ localPort: 53, remotePort: 1 }), true, peer({ name: 'b' }), null)).toBe(DROP_NONE);
    expect(fw.drop(pkt({ localPort: 53, protocol: 6 }), true, peer({ name: 'b' }), null)).toBe(DROP_NO_RULE);
  });

  it('specific port then port any are both tried', () => {
    const fw = firewall({
      inbound: [
        { port: 80, proto: 'tcp', host: 'a' },
        { port: 'any', proto: 'tcp', host: 'b' },
      ],
    });
    expect(fw.drop(pkt({ protocol: 6, localPort: 80 }), true, peer({ name: 'b' }), null)).toBe(DROP_NONE);
    expect(fw.drop(pkt({ protocol: 6, localPort: 81 }), true, peer({ name: 'a' }), null)).toBe(DROP_NO_RULE);
  });
});

describe('remote-IP and local-IP checks', () => {
  const open = {
    inbound: [{ port: 'any', proto: 'any', host: 'any' }],
    outbound: [{ port: 'any', proto: 'any', host: 'any' }],
  };
  it.each([
    ['single-IP cert: remote must equal the vpnIp', {}, { remoteIp: ip('203.0.113.2') }, DROP_NONE],
    ['single-IP cert: another IP in the /24 is refused', {}, { remoteIp: ip('203.0.113.3') }, DROP_REMOTE_IP],
    [
      'cert with subnet: IP inside the subnet',
      { subnets: [net('198.51.100.0/24')] },
      { remoteIp: ip('198.51.100.7') },
      DROP_NONE,
    ],
    [
      'cert with subnet: its own IP as /32',
      { subnets: [net('198.51.100.0/24')] },
      { remoteIp: ip('203.0.113.2') },
      DROP_NONE,
    ],
    [
      'cert with subnet: IP outside',
      { subnets: [net('198.51.100.0/24')] },
      { remoteIp: ip('198.51.101.7') },
      DROP_REMOTE_IP,
    ],
    [
      'cert with subnet: not the IP network, only /32',
      { subnets: [net('198.51.100.0/24')] },
      { remoteIp: ip('203.0.113.3') },
      DROP_REMOTE_IP,
    ],
    [
      'cert with two IPs: the second',
      { ips: [net('203.0.113.2/24'), net('203.0.113.9/24')] },
      { remoteIp: ip('203.0.113.9') },
      DROP_NONE,
    ],
    ['cert with no IP: everything refused', { ips: [] }, { remoteIp: 0 }, DROP_REMOTE_IP],
    ['local IP is ours', {}, { localIp: ip('203.0.113.1') }, DROP_NONE],
    ['local IP in our network but not ours', {}, { localIp: ip('203.0.113.5') }, DROP_LOCAL_IP],
    [
      'remote check comes before local check',
      {},
      { localIp: ip('1.1.1.1'), remoteIp: ip('2.2.2.2') },
      DROP_REMOTE_IP,
    ],
  ] as const)('%s', (_n, who, p, want) => {
    const fw = firewall(open);
    expect(fw.drop(pkt(p), true, peer(who), null)).toBe(want);
    expect(fw.drop(pkt(p), false, peer(who), null)).toBe(want);
  });

  it('local subnets of our cert are handled', () => {
    const fw = new Firewall({
      rules: parseFirewallConfig(open),
      conntrack: Conntrack.create({ capacity: 64 }),
      localNets: localNetsOf({
        name: 'me',
        groups: [],
        issuer: '',
        ips: [net('203.0.113.1/24')],
        subnets: [net('10.9.0.0/16')],
      }),
    });
    expect(fw.drop(pkt({ localIp: ip('10.9.3.4') }), true, peer(), null)).toBe(DROP_NONE);
    expect(fw.drop(pkt({ localIp: ip('10.8.3.4') }), true, peer(), null)).toBe(DROP_LOCAL_IP);
  });

  it('conntrack hit is checked before the address checks', () => {
    const fw = firewall(open);
    expect(fw.drop(pkt(), true, peer(), null)).toBe(DROP_NONE);
    // a different peer cert for the same tuple still hits conntrack (1.6.1 order)
    expect(fw.drop(pkt(), true, peer({ ips: [net('198.51.100.1/24')] }), null)).toBe(DROP_NONE);
  });
});

describe('rule field matrices (rule match only)', () => {
  const match = (rule: Record<string, unknown>, p: Partial<FirewallPacket>, who: Partial<FirewallPeerInit>) =>
    firewall({ inbound: [{ port: 'any', proto: 'any', ...rule }] }).matchRules(pkt(p), true, peer(who));

  it.each([
    ['203.0.113.0/24', '203.0.113.255', true],
    ['203.0.113.0/24', '203.0.112.255', false],
    ['203.0.113.128/25', '203.0.113.127', false],
    ['203.0.113.128/25', '203.0.113.128', true],
    ['203.0.113.4/30', '203.0.113.7', true],
    ['203.0.113.4/30', '203.0.113.8', false],
    ['203.0.113.4/31', '203.0.113.5', true],
    ['203.0.113.4/31', '203.0.113.6', false],
    ['128.0.0.0/1', '255.255.255.255', true],
    ['128.0.0.0/1', '127.255.255.255', false],
    ['10.0.0.0/8', '10.255.0.1', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['172.16.0.0/12', '172.31.255.255', true],
    ['172.16.0.0/12', '172.32.0.0', false],
    ['255.255.255.255/32', '255.255.255.255', true],
    ['255.255.255.255/32', '255.255.255.254', false],
    ['0.0.0.0/0', '1.2.3.4', true],
    ['0.0.0.0/32', '1.2.3.4', true], // contains 0.0.0.0 → the rule is "any"
    ['0.0.0.0/1', '200.0.0.1', true], // same quirk
    ['1.0.0.0/8', '0.0.0.0', false],
    ['::/0', '1.2.3.4', true],
    ['::ffff:10.0.0.0/104', '10.1.1.1', true],
    ['::ffff:10.0.0.0/104', '11.1.1.1', false],
    ['::ffff:0.0.0.0/96', '9.9.9.9', true],
  ] as const)('cidr %s vs remote %s → %s', (cidr, remote, want) => {
    expect(match({ cidr }, { remoteIp: ip(remote) }, {})).toBe(want);
  });

  it.each([
    ['web', 'web', true],
    ['web', 'db', false],
    ['web', 'Web', false],
    ['web', 'web ', false],
    ['web', 'any', false],
    ['any', 'anything', true],
    ['ANY', 'x', false],
    ['wéb', 'wéb', true],
    ['wéb', 'web', false],
    ['<nil>', '<nil>', true],
  ] as const)('host %j vs cert name %j → %s', (host, name, want) => {
    expect(match({ host }, {}, { name })).toBe(want);
  });

  it.each([
    [{ group: 'a' }, ['a'], true],
    [{ group: 'a' }, ['A'], false],
    [{ group: 'a' }, [], false],
    [{ group: 'a' }, ['b', 'c', 'a'], true],
    [{ group: 'any' }, [], true],
    [{ group: 'Any' }, ['x'], false],
    [{ groups: ['a'] }, ['a', 'b'], true],
    [{ groups: ['a', 'b'] }, ['a', 'b'], true],
    [{ groups: ['a', 'b'] }, ['b'], false],
    [{ groups: ['a', 'b', 'c'] }, ['a', 'b'], false],
    [{ groups: ['a', 'b', 'c'] }, ['c', 'b', 'a', 'd'], true],
    [{ groups: ['a', 'a'] }, ['a'], true],
    [{ groups: ['any', 'zzz'] }, [], true],
    [{ groups: 'a' }, ['a'], true],
    [{ groups: 'a,b' }, ['a', 'b'], false],
    [{ groups: [''] }, [], false],
  ] as const)('%j vs cert groups %j → %s', (rule, groups, want) => {
    expect(match(rule, {}, { groups: [...groups] })).toBe(want);
  });

  it.each([
    [{ ca_sha: 'signer-shasum' }, 'signer-shasum', true],
    [{ ca_sha: 'signer-shasum' }, 'SIGNER-SHASUM', false],
    [{ ca_sha: 'signer-shasum' }, '', false],
    [{ ca_name: 'ca-good' }, 'signer-shasum', true],
    [{ ca_name: 'ca-good' }, 'other-sha', false],
    [{ ca_name: 'ca-other' }, 'other-sha', true],
    [{ ca_name: 'CA-GOOD' }, 'signer-shasum', false],
    [{ ca_sha: 'other-sha', host: 'host1' }, 'other-sha', true],
    [{ ca_sha: 'other-sha', host: 'host2' }, 'other-sha', false],
    [{ ca_name: 'ca-other', group: 'default-group' }, 'other-sha', true],
    [{ ca_name: 'ca-other', group: 'default-group' }, 'signer-shasum', false],
    [{ ca_name: 'ca-good', ca_sha: 'other-sha' }, 'other-sha', true],
    [{ ca_name: 'ca-good', ca_sha: 'other-sha' }, 'signer-shasum', true],
    [{ ca_name: 'ca-good', ca_sha: 'other-sha' }, 'third', false],
  ] as const)('%j vs cert issuer %j → %s', (rule, issuer, want) => {
    const fw = firewall(
      { inbound: [{ port: 'any', proto: 'any', ...rule }] },
      { caNames: { 'signer-shasum': 'ca-good', 'other-sha': 'ca-other' } },
    );
    expect(fw.matchRules(pkt(), true, peer({ issuer }))).toBe(want);
  });
});

describe('group bitmask fast path', () => {
  it('more than 31 distinct group names falls back to the string path, same answers', () => {
    const names = Array.from({ length: 40 }, (_, i) => `g${i}`);
    const fw = firewall({
      inbound: names.map((g, i) => ({ port: 'any', proto: 'any', groups: [g, names[(i + 1) % 40]] })),
    });
    expect(fw.matchRules(pkt(), true, peer({ groups: ['g38', 'g39'] }))).toBe(true);
    expect(fw.matchRules(pkt(), true, peer({ groups: ['g39', 'g0'] }))).toBe(true);
    expect(fw.matchRules(pkt(), true, peer({ groups: ['g1', 'g3'] }))).toBe(false);
  });

  it('a peer object reused across a reload (new bit numbering) is re-evaluated', () => {
    const who = peer({ groups: ['b'] });
    let fw = firewall({
      inbound: [
        { port: 'any', proto: 'any', groups: ['a'] },
        { port: 'any', proto: 'any', groups: ['b'] },
      ],
    });
    expect(fw.matchRules(pkt(), true, who)).toBe(true);
    fw = fw.reload(parseFirewallConfig({ inbound: [{ port: 'any', proto: 'any', groups: ['b', 'a'] }] }));
    expect(fw.matchRules(pkt(), true, who)).toBe(false);
    fw = fw.reload(parseFirewallConfig({ inbound: [{ port: 'any', proto: 'any', group: 'b' }] }));
    expect(fw.matchRules(pkt(), true, who)).toBe(true);
  });
});
