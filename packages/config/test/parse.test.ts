import { describe, expect, it } from 'vitest';
import {
  type ConfigError,
  isConfigError,
  parseConfig,
  parseYaml,
  ROUTINES_DEPRECATION,
} from '../src/index.js';

const PKI = 'pki: {ca: /etc/nebula/ca.crt, cert: /etc/nebula/host.crt, key: /etc/nebula/host.key}\n';
const parse = (yaml: string) => parseConfig(parseYaml(PKI + yaml));
const errorOf = (yaml: string, withPki = true): ConfigError => {
  try {
    parseConfig(parseYaml((withPki ? PKI : '') + yaml));
  } catch (e) {
    if (isConfigError(e)) return e as ConfigError;
    throw e;
  }
  throw new Error('expected a ConfigError');
};

describe('parseConfig defaults (1.6.1)', () => {
  it('applies every default for a minimal config', () => {
    const { config, warnings } = parse('');
    expect(warnings).toEqual([]);
    expect(config.pki).toEqual({
      ca: '/etc/nebula/ca.crt',
      cert: '/etc/nebula/host.crt',
      key: '/etc/nebula/host.key',
      blocklist: [],
      disconnect_invalid: false,
    });
    expect(config.static_host_map.size).toBe(0);
    expect(config.lighthouse).toEqual({
      am_lighthouse: false,
      serve_dns: false,
      dns: { host: '', port: 53 },
      interval: 10,
      hosts: [],
      advertise_addrs: [],
    });
    expect(config.listen).toEqual({
      host: '0.0.0.0',
      port: 0,
      batch: 64,
      read_buffer: 0,
      write_buffer: 0,
      send_recv_error: 'always',
    });
    expect(config.routines).toBe(1);
    expect(config.cipher).toBe('aes');
    expect(config.preferred_ranges).toEqual([]);
    expect(config.punchy).toEqual({ punch: false, respond: false, delay: 1000 });
    expect(config.relay).toEqual({ am_relay: false, use_relays: true, relays: [] });
    expect(config.tun).toEqual({
      disabled: false,
      dev: '',
      mtu: 1300,
      tx_queue: 500,
      drop_local_broadcast: false,
      drop_multicast: false,
      tso: true,
      routes: [],
      unsafe_routes: [],
    });
    expect(config.handshakes).toEqual({ try_interval: 100, retries: 10, trigger_buffer: 64 });
    expect(config.timers).toEqual({ connection_alive_interval: 5, pending_deletion_interval: 10 });
    expect(config.firewall).toEqual({
      conntrack: {
        tcp_timeout: 720_000,
        udp_timeout: 180_000,
        default_timeout: 600_000,
        routine_cache_timeout: 0,
      },
      outbound: [],
      inbound: [],
    });
    expect(config.logging).toEqual({
      level: 'info',
      format: 'text',
      disable_timestamp: false,
      timestamp_format: '',
    });
    expect(config.stats.type).toBe('');
    expect(config.stats.prefix).toBe('nebula');
    expect(config.stats.protocol).toBe('tcp');
    expect(config.sshd).toEqual({ enabled: false, listen: '', host_key: '', authorized_users: [] });
  });

  it('requires pki.ca, pki.cert and pki.key', () => {
    const e = errorOf('pki: {cert: a, key: b}\n', false);
    expect(e.path).toBe('pki.ca');
    expect(e.code).toBe('ERR_CONFIG_REQUIRED');
    expect(e.message).toBe('pki.ca: no pki.ca path or PEM data provided');
    expect(errorOf('pki: {ca: a, key: b}\n', false).path).toBe('pki.cert');
  });
});

describe('Go-style conversions', () => {
  it('ints from numbers and numeric strings, YAML 1.1 hex and octal', () => {
    expect(parse('listen: {port: "4242"}').config.listen.port).toBe(4242);
    expect(parse('listen: {port: 0x10}').config.listen.port).toBe(16);
    expect(parse('listen: {port: 0644}').config.listen.port).toBe(420);
  });

  it('bools: YAML 1.1 yes/no/on/off and Go strings', () => {
    expect(parse('tun: {disabled: yes}').config.tun.disabled).toBe(true);
    expect(parse('tun: {disabled: on}').config.tun.disabled).toBe(true);
    expect(parse('tun: {disabled: off}').config.tun.disabled).toBe(false);
    expect(parse('tun: {disabled: "T"}').config.tun.disabled).toBe(true);
    expect(parse('tun: {disabled: "y"}').config.tun.disabled).toBe(true);
    expect(parse('tun: {disabled: 1}').config.tun.disabled).toBe(true);
    expect(parse('tun: {disabled: "FALSE"}').config.tun.disabled).toBe(false);
  });

  it('durations in Go syntax become milliseconds', () => {
    const c = parse(
      'punchy: {delay: 1h30m}\nhandshakes: {try_interval: 250ms}\nfirewall: {conntrack: {tcp_timeout: 1.5s, udp_timeout: 0}}',
    ).config;
    expect(c.punchy.delay).toBe(5_400_000);
    expect(c.handshakes.try_interval).toBe(250);
    expect(c.firewall.conntrack.tcp_timeout).toBe(1500);
    expect(c.firewall.conntrack.udp_timeout).toBe(0);
  });

  it.each([
    ['listen: {port: abc}', 'listen.port', 'listen.port: expected an integer, got "abc"'],
    ['listen: {port: 70000}', 'listen.port', 'listen.port: must be <= 65535, got 70000'],
    ['listen: {port: 1.5}', 'listen.port', 'listen.port: expected an integer, got 1.5'],
    ['listen: {port: [1]}', 'listen.port', 'listen.port: expected an integer, got a list'],
    [
      'tun: {disabled: maybe}',
      'tun.disabled',
      'tun.disabled: expected a boolean (true/false/yes/no), got "maybe"',
    ],
    [
      'punchy: {delay: 5}',
      'punchy.delay',
      'punchy.delay: expected a duration like 500ms, 10s, 12m or 1h30m, got 5',
    ],
    ['firewall: {conntrack: {tcp_timeout: 12x}}', 'firewall.conntrack.tcp_timeout', undefined],
    ['firewall: {inbound: {port: any}}', 'firewall.inbound', 'firewall.inbound: expected a list, got a map'],
    ['lighthouse: {hosts: ["10.1.0.300"]}', 'lighthouse.hosts[0]', undefined],
    ['lighthouse: {hosts: "10.1.0.1"}', 'lighthouse.hosts', undefined],
    ['lighthouse: {interval: -1}', 'lighthouse.interval', undefined],
    ['logging: {level: loud}', 'logging.level', undefined],
    [
      'logging: {format: xml}',
      'logging.format',
      'logging.format: unknown log format `xml`. possible formats: [text json]',
    ],
    ['listen: {batch: 0}', 'listen.batch', undefined],
    ['preferred_ranges: ["10.0.0.0/33"]', 'preferred_ranges[0]', undefined],
    ['relay: {relays: [nope]}', 'relay.relays[0]', undefined],
  ])('%s fails naming %s', (yaml, path, message) => {
    const e = errorOf(yaml);
    expect(e.path).toBe(path);
    expect(e.code).toMatch(/^ERR_CONFIG_/);
    if (message) expect(e.message).toBe(message);
    else expect(e.message.startsWith(`${path}: `)).toBe(true);
  });
});

describe('routines', () => {
  it('routines wins; < 1 becomes 1', () => {
    expect(parse('routines: 4').config.routines).toBe(4);
    expect(parse('routines: -3').config.routines).toBe(1);
  });

  it('falls back to max(tun.routines, listen.routines) with the deprecation warning', () => {
    const { config, warnings } = parse('tun: {routines: 2}\nlisten: {routines: 3}');
    expect(config.routines).toBe(3);
    expect(warnings).toContainEqual({ path: 'tun.routines', message: ROUTINES_DEPRECATION });
    expect(ROUTINES_DEPRECATION).toBe(
      'Setting tun.routines and listen.routines is deprecated. Use `routines` instead',
    );
  });

  it('routine_cache_timeout: 0 with one routine, 1s with more, explicit value wins', () => {
    expect(parse('').config.firewall.conntrack.routine_cache_timeout).toBe(0);
    expect(parse('routines: 2').config.firewall.conntrack.routine_cache_timeout).toBe(1000);
    expect(
      parse('routines: 2\nfirewall: {conntrack: {routine_cache_timeout: 0}}').config.firewall.conntrack
        .routine_cache_timeout,
    ).toBe(0);
    expect(
      parse('firewall: {conntrack: {routine_cache_timeout: 250ms}}').config.firewall.conntrack
        .routine_cache_timeout,
    ).toBe(250);
  });
});

describe('deprecated aliases', () => {
  it('pki.blacklist merges into the blocklist with a warning', () => {
    const { config, warnings } = parseConfig(
      parseYaml('pki: {ca: a, cert: b, key: c, blocklist: [AA], blacklist: [bb]}'),
    );
    expect(config.pki.blocklist).toEqual(['aa', 'bb']);
    expect(warnings.map((w) => w.path)).toEqual(['pki.blacklist']);
  });

  it('top-level punchy: true and punch_back', () => {
    const { config, warnings } = parse('punchy: true\npunch_back: true');
    expect(config.punchy.punch).toBe(true);
    expect(config.punchy.respond).toBe(true);
    expect(warnings.map((w) => w.path).sort()).toEqual(['punch_back', 'punchy']);
  });

  it('punchy.respond beats punch_back', () => {
    expect(parse('punchy: {respond: false}\npunch_back: true').config.punchy.respond).toBe(false);
  });

  it('local_range joins preferred_ranges', () => {
    const { config, warnings } = parse('preferred_ranges: ["192.168.0.0/16"]\nlocal_range: "10.1.2.3/8"');
    expect(config.preferred_ranges.map((c) => c.text)).toEqual(['192.168.0.0/16', '10.1.2.3/8']);
    expect(config.preferred_ranges[1]).toMatchObject({ addr: 0x0a000000, mask: 0xff000000, bits: 8 });
    expect(warnings.map((w) => w.path)).toEqual(['local_range']);
  });

  it('relay.use_relays is forced off on a relay', () => {
    expect(parse('relay: {am_relay: true}').config.relay.use_relays).toBe(false);
    const { config, warnings } = parse('relay: {am_relay: true, use_relays: true}');
    expect(config.relay.use_relays).toBe(false);
    expect(warnings.map((w) => w.path)).toEqual(['relay.use_relays']);
  });
});

describe('cipher, stats, send_recv_error', () => {
  it('accepts aes and chachapoly only', () => {
    expect(parse('cipher: chachapoly').config.cipher).toBe('chachapoly');
    expect(errorOf('cipher: foo').message).toBe('cipher: unknown cipher: foo');
  });

  it('validates stats', () => {
    expect(errorOf('stats: {type: bogus}').path).toBe('stats.type');
    expect(errorOf('stats: {type: prometheus}').path).toBe('stats.interval');
    expect(errorOf('stats: {type: prometheus, interval: 10s}').message).toBe(
      'stats.listen: stats.listen should not be empty',
    );
    expect(errorOf('stats: {type: prometheus, interval: 10s, listen: "127.0.0.1:8080"}').path).toBe(
      'stats.path',
    );
    expect(errorOf('stats: {type: graphite, interval: 10s}').path).toBe('stats.host');
    expect(errorOf('stats: {type: graphite, interval: 10s, host: "h:2003", protocol: foo}').path).toBe(
      'stats.protocol',
    );
    const s = parse(
      'stats: {type: prometheus, interval: 10s, listen: "127.0.0.1:8080", path: /metrics, namespace: nns, message_metrics: true}',
    ).config.stats;
    expect(s).toMatchObject({
      type: 'prometheus',
      interval: 10_000,
      listen: '127.0.0.1:8080',
      path: '/metrics',
      namespace: 'nns',
      subsystem: '',
      message_metrics: true,
      lighthouse_metrics: false,
    });
  });

  it('send_recv_error takes a string or a bool', () => {
    expect(parse('listen: {send_recv_error: private}').config.listen.send_recv_error).toBe('private');
    expect(parse('listen: {send_recv_error: NEVER}').config.listen.send_recv_error).toBe('never');
    expect(parse('listen: {send_recv_error: false}').config.listen.send_recv_error).toBe('never');
    expect(parse('listen: {send_recv_error: true}').config.listen.send_recv_error).toBe('always');
    expect(errorOf('listen: {send_recv_error: sometimes}').path).toBe('listen.send_recv_error');
  });
});

describe('tun routes', () => {
  it('parses routes and unsafe_routes', () => {
    const { tun } = parse(`tun:
  routes: [{mtu: 8800, route: 10.0.0.0/16}]
  unsafe_routes:
    - {route: 172.16.1.0/24, via: 192.168.100.99, mtu: 1300, metric: 100}
    - {route: 172.16.2.0/24, via: 192.168.100.99}
`).config;
    expect(tun.routes).toEqual([
      { route: { addr: 0x0a000000, mask: 0xffff0000, bits: 16, text: '10.0.0.0/16' }, mtu: 8800 },
    ]);
    expect(tun.unsafe_routes[0]).toMatchObject({ via: '192.168.100.99', mtu: 1300, metric: 100 });
    expect(tun.unsafe_routes[1]).toMatchObject({ mtu: 0, metric: 0 });
  });

  it.each([
    ['tun: {routes: [{route: 10.0.0.0/16}]}', 'tun.routes[0].mtu'],
    ['tun: {routes: [{mtu: 499, route: 10.0.0.0/16}]}', 'tun.routes[0].mtu'],
    ['tun: {routes: [{mtu: 1300}]}', 'tun.routes[0].route'],
    ['tun: {routes: [{mtu: 1300, route: nope}]}', 'tun.routes[0].route'],
    ['tun: {routes: [5]}', 'tun.routes[0]'],
    ['tun: {unsafe_routes: [{route: 10.0.0.0/8}]}', 'tun.unsafe_routes[0].via'],
    ['tun: {unsafe_routes: [{route: 10.0.0.0/8, via: 1.2.3.4, mtu: 100}]}', 'tun.unsafe_routes[0].mtu'],
    ['tun: {unsafe_routes: [{route: 10.0.0.0/8, via: 1.2.3.4, metric: -1}]}', 'tun.unsafe_routes[0].metric'],
    [
      'tun: {unsafe_routes: [{route: 10.0.0.0/8, via: 1.2.3.4, metric: 2147483648}]}',
      'tun.unsafe_routes[0].metric',
    ],
    ['tun: {unsafe_routes: [{route: 10.0.0.0/8, via: host}]}', 'tun.unsafe_routes[0].via'],
  ])('%s fails naming %s', (yaml, path) => {
    expect(errorOf(yaml).path).toBe(path);
  });
});

describe('static_host_map and lighthouse', () => {
  it('takes a string or a list of host:port, DNS names kept as written', () => {
    const m = parse(
      'static_host_map: {"10.1.0.1": ["198.51.100.1:4242", "lh.example.com:4242"], "10.1.0.2": "[2001:db8::1]:4243"}',
    ).config.static_host_map;
    expect(m.get('10.1.0.1')).toEqual([
      { host: '198.51.100.1', port: 4242 },
      { host: 'lh.example.com', port: 4242 },
    ]);
    expect(m.get('10.1.0.2')).toEqual([{ host: '2001:db8::1', port: 4243 }]);
  });

  it.each([
    ['static_host_map: {"lh": ["1.2.3.4:4242"]}', 'static_host_map.lh'],
    ['static_host_map: {"10.1.0.1": ["1.2.3.4"]}', 'static_host_map.10.1.0.1[0]'],
    ['static_host_map: {"10.1.0.1": ["1.2.3.4:99999"]}', 'static_host_map.10.1.0.1[0]'],
    ['static_host_map: {"10.1.0.1": ~}', 'static_host_map.10.1.0.1'],
    ['static_host_map: [1]', 'static_host_map'],
  ])('%s fails naming %s', (yaml, path) => {
    expect(errorOf(yaml).path).toBe(path);
  });

  it('passes allow lists through as parsed rules', () => {
    const lh = parse(`lighthouse:
  remote_allow_list: {"172.16.0.0/12": false, "0.0.0.0/0": true, "10.42.42.0/24": true}
  local_allow_list:
    interfaces: {"tun0": false, "docker.*": false}
    "10.0.0.0/8": true
  remote_allow_ranges:
    "10.42.42.0/24": {"192.168.0.0/16": true}
  advertise_addrs: ["1.1.1.1:4242", "1.2.3.4:0"]
`).config.lighthouse;
    expect(lh.remote_allow_list?.rules).toEqual([
      { cidr: '172.16.0.0/12', allow: false },
      { cidr: '0.0.0.0/0', allow: true },
      { cidr: '10.42.42.0/24', allow: true },
    ]);
    expect(lh.local_allow_list).toEqual({
      rules: [{ cidr: '10.0.0.0/8', allow: true }],
      interfaces: [
        { pattern: 'tun0', allow: false },
        { pattern: 'docker.*', allow: false },
      ],
    });
    expect(lh.remote_allow_ranges).toEqual([
      { vpnCidr: '10.42.42.0/24', list: { rules: [{ cidr: '192.168.0.0/16', allow: true }] } },
    ]);
    expect(lh.advertise_addrs).toEqual([
      { host: '1.1.1.1', port: 4242 },
      { host: '1.2.3.4', port: 0 },
    ]);
  });

  it.each([
    [
      'lighthouse: {remote_allow_list: {"10.0.0.0/8": false, "10.1.0.0/16": true}}',
      'lighthouse.remote_allow_list',
    ],
    ['lighthouse: {remote_allow_list: {"nope": true}}', 'lighthouse.remote_allow_list.nope'],
    [
      'lighthouse: {local_allow_list: {interfaces: {"a": true, "b": false}}}',
      'lighthouse.local_allow_list.interfaces',
    ],
    ['lighthouse: {local_allow_list: {interfaces: {"(": true}}}', 'lighthouse.local_allow_list.interfaces.('],
    [
      'lighthouse: {remote_allow_ranges: {"10.0.0.0/8": {"x": true}}}',
      'lighthouse.remote_allow_ranges.10.0.0.0/8.x',
    ],
  ])('%s fails naming %s', (yaml, path) => {
    expect(errorOf(yaml).path).toBe(path);
  });

  it('warns when a lighthouse lists upstream lighthouses', () => {
    const { warnings } = parse('lighthouse: {am_lighthouse: true, hosts: ["10.1.0.1"]}');
    expect(warnings.map((w) => w.path)).toEqual(['lighthouse.hosts']);
  });
});

describe('sshd', () => {
  it('needs listen and host_key when enabled and refuses port 22', () => {
    expect(errorOf('sshd: {enabled: true}').path).toBe('sshd.listen');
    expect(errorOf('sshd: {enabled: true, listen: "127.0.0.1:22", host_key: k}').message).toBe(
      'sshd.listen: can not use port 22',
    );
    expect(errorOf('sshd: {enabled: true, listen: "127.0.0.1:2222"}').path).toBe('sshd.host_key');
  });

  it('authorized_users: keys as a string or a list', () => {
    const { sshd } = parse(
      'sshd: {authorized_users: [{user: steeeeve, keys: "ssh-ed25519 AAAA"}, {user: b, keys: [k1, k2]}]}',
    ).config;
    expect(sshd.authorized_users).toEqual([
      { user: 'steeeeve', keys: ['ssh-ed25519 AAAA'] },
      { user: 'b', keys: ['k1', 'k2'] },
    ]);
    expect(errorOf('sshd: {authorized_users: [{keys: [k]}]}').path).toBe('sshd.authorized_users[0].user');
  });
});
