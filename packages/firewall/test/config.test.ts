import { describe, expect, it } from 'vitest';
import { FirewallConfigError, isFirewallConfigError, parseFirewallConfig, parsePort } from '../src/index.js';

const out = (rule: unknown) => ({ outbound: [rule] });
const inb = (...rules: unknown[]) => ({ inbound: rules });

describe('parsePort (Go parsePort)', () => {
  it.each([
    ['any', [0, 0]],
    ['fragment', [-1, -1]],
    ['0', [0, 0]],
    ['443', [443, 443]],
    ['+80', [80, 80]],
    [' 1 - 2    ', [1, 2]],
    ['200-901', [200, 901]],
    ['0-1', [0, 0]],
    ['0-65535', [0, 0]],
    ['0 - 5', [0, 0]],
    ['5-3', [5, 3]],
    ['70000', [70000, 70000]],
    ['4294967376', [80, 80]], // int32() truncation, as Go
    ['4294967295', [-1, -1]],
  ] as const)('%j → %j', (s, want) => {
    expect(parsePort(s)).toEqual(want);
  });

  it.each([
    ['', 'was not a number; ``'],
    ['  ', 'was not a number; `  `'],
    [' 80', 'was not a number; ` 80`'],
    ['ANY', 'was not a number; `ANY`'],
    ['-', 'appears to be a range but could not be parsed; `-`'],
    [' - ', 'appears to be a range but could not be parsed; ` - `'],
    ['-5', 'appears to be a range but could not be parsed; `-5`'],
    ['a-b', 'beginning range was not a number; `a`'],
    ['1-b', 'ending range was not a number; `b`'],
    ['0-x', 'ending range was not a number; `x`'],
    ['1.5', 'was not a number; `1.5`'],
    ['99999999999999999999', 'was not a number; `99999999999999999999`'],
  ])('%j refused: %s', (s, why) => {
    expect(parsePort(s)).toBe(why);
  });
});

describe('parseFirewallConfig errors: path and Go message', () => {
  const cases: [string, unknown, string, string, string][] = [
    [
      'outbound not a list',
      { outbound: 'asdf' },
      'ERR_FIREWALL_RULES_NOT_LIST',
      'firewall.outbound',
      'firewall.outbound failed to parse, should be an array of rules',
    ],
    [
      'inbound a map',
      { inbound: { port: 1 } },
      'ERR_FIREWALL_RULES_NOT_LIST',
      'firewall.inbound',
      'firewall.inbound failed to parse, should be an array of rules',
    ],
    [
      'rule not a map',
      inb('x'),
      'ERR_FIREWALL_RULE_NOT_MAP',
      'firewall.inbound[0]',
      'firewall.inbound rule #0; could not parse rule',
    ],
    [
      'rule is a list',
      inb([1]),
      'ERR_FIREWALL_RULE_NOT_MAP',
      'firewall.inbound[0]',
      'firewall.inbound rule #0; could not parse rule',
    ],
    [
      'port and code',
      out({ port: '1', code: '2' }),
      'ERR_FIREWALL_PORT_AND_CODE',
      'firewall.outbound[0].code',
      'firewall.outbound rule #0; only one of port or code should be provided',
    ],
    [
      'no selector',
      out({}),
      'ERR_FIREWALL_NO_SELECTOR',
      'firewall.outbound[0]',
      'firewall.outbound rule #0; at least one of host, group, cidr, ca_name, or ca_sha must be provided',
    ],
    [
      'empty groups only',
      out({ port: 1, proto: 'any', groups: [] }),
      'ERR_FIREWALL_NO_SELECTOR',
      'firewall.outbound[0]',
      'firewall.outbound rule #0; at least one of host, group, cidr, ca_name, or ca_sha must be provided',
    ],
    [
      'bad code',
      out({ code: 'a', host: 'testh' }),
      'ERR_FIREWALL_BAD_PORT',
      'firewall.outbound[0].code',
      'firewall.outbound rule #0; code was not a number; `a`',
    ],
    [
      'bad port',
      out({ port: 'a', host: 'testh' }),
      'ERR_FIREWALL_BAD_PORT',
      'firewall.outbound[0].port',
      'firewall.outbound rule #0; port was not a number; `a`',
    ],
    [
      'missing port',
      out({ proto: 'tcp', host: 'h' }),
      'ERR_FIREWALL_BAD_PORT',
      'firewall.outbound[0].port',
      'firewall.outbound rule #0; port was not a number; ``',
    ],
    [
      'bad range start',
      out({ port: 'x-5', proto: 'tcp', host: 'h' }),
      'ERR_FIREWALL_BAD_PORT',
      'firewall.outbound[0].port',
      'firewall.outbound rule #0; port beginning range was not a number; `x`',
    ],
    [
      'bad range end',
      out({ port: '5-', proto: 'tcp', host: 'h' }),
      'ERR_FIREWALL_BAD_PORT',
      'firewall.outbound[0].port',
      'firewall.outbound rule #0; port appears to be a range but could not be parsed; `5-`',
    ],
    [
      'missing proto',
      out({ code: '1', host: 'testh' }),
      'ERR_FIREWALL_BAD_PROTO',
      'firewall.outbound[0].proto',
      'firewall.outbound rule #0; proto was not understood; ``',
    ],
    [
      'proto TCP uppercase',
      out({ port: 1, proto: 'TCP', host: 'h' }),
      'ERR_FIREWALL_BAD_PROTO',
      'firewall.outbound[0].proto',
      'firewall.outbound rule #0; proto was not understood; `TCP`',
    ],
    [
      'proto number',
      out({ port: 1, proto: 6, host: 'h' }),
      'ERR_FIREWALL_BAD_PROTO',
      'firewall.outbound[0].proto',
      'firewall.outbound rule #0; proto was not understood; `6`',
    ],
    [
      'bad cidr',
      out({ code: '1', cidr: 'testh', proto: 'any' }),
      'ERR_FIREWALL_BAD_CIDR',
      'firewall.outbound[0].cidr',
      'firewall.outbound rule #0; cidr did not parse; invalid CIDR address: testh',
    ],
    [
      'cidr without mask',
      out({ port: 1, cidr: '10.0.0.1', proto: 'any' }),
      'ERR_FIREWALL_BAD_CIDR',
      'firewall.outbound[0].cidr',
      'firewall.outbound rule #0; cidr did not parse; invalid CIDR address: 10.0.0.1',
    ],
    [
      'cidr /33',
      out({ port: 1, cidr: '10.0.0.0/33', proto: 'any' }),
      'ERR_FIREWALL_BAD_CIDR',
      'firewall.outbound[0].cidr',
      'firewall.outbound rule #0; cidr did not parse; invalid CIDR address: 10.0.0.0/33',
    ],
    [
      'cidr leading zero',
      out({ port: 1, cidr: '010.0.0.0/8', proto: 'any' }),
      'ERR_FIREWALL_BAD_CIDR',
      'firewall.outbound[0].cidr',
      'firewall.outbound rule #0; cidr did not parse; invalid CIDR address: 010.0.0.0/8',
    ],
    [
      'group and groups',
      inb({ port: '1', proto: 'any', group: 'a', groups: ['b', 'c'] }),
      'ERR_FIREWALL_GROUP_AND_GROUPS',
      'firewall.inbound[0].groups',
      'firewall.inbound rule #0; only one of group or groups should be defined, both provided',
    ],
    [
      'group list of two',
      inb({ port: 1, proto: 'any', group: ['a', 'b'] }),
      'ERR_FIREWALL_GROUP_ARRAY',
      'firewall.inbound[0].group',
      'firewall.inbound rule #0; group should contain a single value, an array with more than one entry was provided',
    ],
    [
      'range reversed',
      inb({ port: '5-3', proto: 'any', host: 'h' }),
      'ERR_FIREWALL_PORT_ORDER',
      'firewall.inbound[0].port',
      'firewall.inbound rule #0; `start port was lower than end port`',
    ],
    [
      'third rule bad',
      inb(
        { port: 1, proto: 'any', host: 'a' },
        { port: 2, proto: 'any', host: 'b' },
        { port: 'nope', proto: 'any', host: 'c' },
      ),
      'ERR_FIREWALL_BAD_PORT',
      'firewall.inbound[2].port',
      'firewall.inbound rule #2; port was not a number; `nope`',
    ],
  ];
  it.each(cases)('%s', (_name, raw, code, path, message) => {
    let err: unknown;
    try {
      parseFirewallConfig(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FirewallConfigError);
    expect(isFirewallConfigError(err)).toBe(true);
    expect(err).toMatchObject({ code, path, message });
  });

  it('uses the given base path', () => {
    expect(() => parseFirewallConfig({ inbound: [{}] }, 'fw')).toThrow(
      expect.objectContaining({ path: 'fw.inbound[0]' }),
    );
  });

  it('outbound is checked before inbound', () => {
    expect(() => parseFirewallConfig({ inbound: [{}], outbound: [{}] })).toThrow(
      expect.objectContaining({ path: 'firewall.outbound[0]' }),
    );
  });
});

describe('parseFirewallConfig values', () => {
  it('reads values as strings via generic formatting: port 443 == "443"', () => {
    const a = parseFirewallConfig(inb({ port: 443, proto: 'tcp', host: 'any' }));
    const b = parseFirewallConfig(inb({ port: '443', proto: 'tcp', host: 'any' }));
    expect(a.inbound).toEqual(b.inbound);
    expect(a.hash).toBe(b.hash);
    expect(a.inbound[0]).toMatchObject({ startPort: 443, endPort: 443, proto: 6, incoming: true });
  });

  it('absent or null tables mean no rules', () => {
    expect(parseFirewallConfig({}).inbound).toEqual([]);
    expect(parseFirewallConfig({ inbound: null }).inbound).toEqual([]);
    expect(parseFirewallConfig(undefined).outbound).toEqual([]);
  });

  it('one-element group list is accepted with a warning', () => {
    const r = parseFirewallConfig(inb({ port: 1, proto: 'any', group: ['a'] }));
    expect(r.inbound[0]!.groups).toEqual(['a']);
    expect(r.warnings).toEqual([
      'firewall.inbound rule #0; group was an array with a single value, converting to simple value',
    ]);
  });

  it('groups as a single string, and non-string scalars', () => {
    expect(parseFirewallConfig(inb({ port: 1, proto: 'any', groups: 'a' })).inbound[0]!.groups).toEqual([
      'a',
    ]);
    expect(parseFirewallConfig(inb({ port: 1, proto: 'any', groups: 7 })).inbound[0]!.groups).toEqual(['7']);
    expect(parseFirewallConfig(inb({ port: 1, proto: 'any', host: 'h' })).inbound[0]!.groups).toBeNull();
  });

  it('a null host is Go\'s "<nil>" text', () => {
    expect(parseFirewallConfig(inb({ port: 1, proto: 'any', host: null })).inbound[0]!.host).toBe('<nil>');
  });

  it('conntrack timeouts: defaults, Go durations, invalid → default', () => {
    const d = parseFirewallConfig({}).conntrack;
    expect(d).toEqual({
      tcpTimeoutMs: 720_000,
      udpTimeoutMs: 180_000,
      defaultTimeoutMs: 600_000,
      routineCacheTimeoutMs: undefined,
    });
    const c = parseFirewallConfig({
      conntrack: {
        tcp_timeout: '1h30m',
        udp_timeout: 60,
        default_timeout: '500ms',
        routine_cache_timeout: '0s',
      },
    }).conntrack;
    expect(c).toEqual({
      tcpTimeoutMs: 5_400_000,
      udpTimeoutMs: 180_000,
      defaultTimeoutMs: 500,
      routineCacheTimeoutMs: 0,
    });
    expect(
      parseFirewallConfig({ conntrack: { routine_cache_timeout: '2s' } }).conntrack.routineCacheTimeoutMs,
    ).toBe(2000);
  });
});

describe('firewallHash', () => {
  it('renders each rule as 1.6.1 does, outbound first', () => {
    const r = parseFirewallConfig({
      inbound: [
        { port: 'any', proto: 'icmp', host: 'any' },
        { port: '200-901', proto: 'tcp', groups: ['a', 'b'], ca_name: 'ca', ca_sha: 'ff' },
        { port: 'fragment', proto: 'any', cidr: '10.1.2.3/16' },
      ],
      outbound: [{ port: 'any', proto: 'any', host: 'any' }],
    });
    expect(r.ruleText).toBe(
      'incoming: false, proto: 0, startPort: 0, endPort: 0, groups: [], host: any, ip: , caName: , caSha: \n' +
        'incoming: true, proto: 1, startPort: 0, endPort: 0, groups: [], host: any, ip: , caName: , caSha: \n' +
        'incoming: true, proto: 6, startPort: 200, endPort: 901, groups: [a b], host: , ip: , caName: ca, caSha: ff\n' +
        'incoming: true, proto: 0, startPort: -1, endPort: -1, groups: [], host: , ip: 10.1.0.0/16, caName: , caSha: \n',
    );
    expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is the SHA-256 of the empty string with no rules', () => {
    expect(parseFirewallConfig({}).hash).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('IPv6 cidr text as Go prints it', () => {
    const r = parseFirewallConfig(
      inb(
        { port: 1, proto: 'any', cidr: 'fd00:0:0:0:0:0:0:1/64' },
        { port: 1, proto: 'any', cidr: '::ffff:1.2.3.4/120' },
      ),
    );
    expect(r.inbound.map((x) => x.cidr!.text)).toEqual(['fd00::/64', '1.2.3.0/24']);
  });
});
