/**
 * Turns merged YAML into the typed `NebulaConfig`, applying Nebula 1.6.1 defaults and its Go-style
 * conversions. Where 1.6.1 silently falls back to the default for a value it cannot convert
 * (`listen.port: abc` becomes 0), we fail with a ConfigError naming the path instead: an operator
 * would rather hear about a typo than run with a default they did not ask for.
 */

import { parseGoDuration } from './duration.js';
import { ConfigError } from './errors.js';
import { cidrFamily, parseHostPort, parseIpv4, parseIpv4Cidr } from './internal-ip.js';
import { describe, isPlainMap, type RawConfig } from './load.js';
import type {
  AllowListConfig,
  Cipher,
  ConfigWarning,
  HostPort,
  Ipv4Cidr,
  LogLevel,
  NebulaConfig,
  SendRecvError,
  StatsConfig,
  TunRoute,
  TunUnsafeRoute,
} from './types.js';

export const ROUTINES_DEPRECATION =
  'Setting tun.routines and listen.routines is deprecated. Use `routines` instead';
const MAX_INT32 = 2 ** 31 - 1;

/** Reads typed values by dotted path, Go-style, and collects warnings. */
class Reader {
  readonly warnings: ConfigWarning[] = [];
  constructor(private readonly raw: RawConfig) {}

  /** The value at `path`, or undefined when missing or null (Go: not set). */
  get(path: string): unknown {
    let v: unknown = this.raw;
    for (const part of path.split('.')) {
      if (!isPlainMap(v) || !Object.hasOwn(v, part)) return undefined;
      v = v[part];
    }
    return v === null ? undefined : v;
  }

  isSet(path: string): boolean {
    return this.get(path) !== undefined;
  }

  warn(path: string, message: string): void {
    this.warnings.push({ path, message });
  }

  str(path: string, def: string): string {
    const v = this.get(path);
    return v === undefined ? def : scalarString(path, v);
  }

  int(path: string, def: number, range: { min?: number; max?: number } = {}): number {
    const v = this.get(path);
    return v === undefined ? def : toInt(path, v, range);
  }

  bool(path: string, def: boolean): boolean {
    const v = this.get(path);
    return v === undefined ? def : toBool(path, v);
  }

  /** Milliseconds. */
  duration(path: string, def: number): number {
    const v = this.get(path);
    return v === undefined ? def : toDuration(path, v);
  }

  list(path: string): readonly unknown[] {
    const v = this.get(path);
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw invalid(path, `expected a list, got ${describe(v)}`);
    return v;
  }

  strList(path: string): string[] {
    return this.list(path).map((x, i) => scalarString(`${path}[${i}]`, x));
  }

  map(path: string): Record<string, unknown> | undefined {
    const v = this.get(path);
    if (v === undefined) return undefined;
    if (!isPlainMap(v)) throw invalid(path, `expected a map, got ${describe(v)}`);
    return v;
  }
}

function invalid(path: string, reason: string): ConfigError {
  return new ConfigError('ERR_CONFIG_INVALID', path, reason);
}

/** Go formats any scalar with %v; maps and lists are not strings. */
function scalarString(path: string, v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw invalid(path, `expected a string, got ${describe(v)}`);
}

function toInt(path: string, v: unknown, range: { min?: number; max?: number }): number {
  let n: number;
  if (typeof v === 'number' && Number.isSafeInteger(v)) n = v;
  else if (typeof v === 'string' && /^[+-]?\d+$/.test(v.trim()) && Number.isSafeInteger(Number(v)))
    n = Number(v);
  else throw invalid(path, `expected an integer, got ${describe(v)}`);
  if (range.min !== undefined && n < range.min) throw invalid(path, `must be >= ${range.min}, got ${n}`);
  if (range.max !== undefined && n > range.max) throw invalid(path, `must be <= ${range.max}, got ${n}`);
  return n;
}

function toBool(path: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' || typeof v === 'string') {
    const s = String(v);
    // strconv.ParseBool on the lowercased text, then go's extra y/yes/n/no (case-sensitive).
    const lower = s.toLowerCase();
    if (lower === '1' || lower === 't' || lower === 'true') return true;
    if (lower === '0' || lower === 'f' || lower === 'false') return false;
    if (s === 'y' || s === 'yes') return true;
    if (s === 'n' || s === 'no') return false;
  }
  throw invalid(path, `expected a boolean (true/false/yes/no), got ${describe(v)}`);
}

function toDuration(path: string, v: unknown): number {
  if (typeof v === 'number' || typeof v === 'string') {
    const ms = parseGoDuration(String(v));
    if (ms !== undefined) return ms;
  }
  throw invalid(path, `expected a duration like 500ms, 10s, 12m or 1h30m, got ${describe(v)}`);
}

function ipv4(path: string, v: unknown): string {
  const s = scalarString(path, v);
  if (parseIpv4(s) === undefined) throw invalid(path, `expected an IPv4 address, got ${describe(v)}`);
  return s;
}

function cidr4(path: string, v: unknown): Ipv4Cidr {
  const s = scalarString(path, v);
  const c = parseIpv4Cidr(s);
  if (!c) throw invalid(path, `expected an IPv4 CIDR like 10.0.0.0/8, got ${describe(v)}`);
  return c;
}

function hostPort(path: string, v: unknown): HostPort {
  const s = scalarString(path, v);
  const hp = parseHostPort(s);
  if (typeof hp === 'string') throw invalid(path, `${hp}: ${JSON.stringify(s)}`);
  return hp;
}

/** Allow list `CIDR → bool`; mixed values per family need a /0 default (lighthouse.md §5). */
function allowList(r: Reader, path: string, withInterfaces: boolean): AllowListConfig | undefined {
  const m = r.map(path);
  return m ? allowListFrom(m, path, withInterfaces) : undefined;
}

function allowListFrom(value: unknown, path: string, withInterfaces: boolean): AllowListConfig {
  if (!isPlainMap(value)) throw invalid(path, `expected a map of CIDR to bool, got ${describe(value)}`);
  const m = value;
  const rules: Array<{ cidr: string; allow: boolean }> = [];
  let interfaces: Array<{ pattern: string; allow: boolean }> | undefined;
  const seen = { 4: new Set<boolean>(), 6: new Set<boolean>() };
  const hasDefault = { 4: false, 6: false };
  for (const [key, value] of Object.entries(m)) {
    const keyPath = `${path}.${key}`;
    if (withInterfaces && key === 'interfaces') {
      if (!isPlainMap(value))
        throw invalid(keyPath, `expected a map of interface name regex to bool, got ${describe(value)}`);
      interfaces = [];
      for (const [pattern, allowValue] of Object.entries(value)) {
        const p = `${keyPath}.${pattern}`;
        try {
          new RegExp(`^(?:${pattern})$`);
        } catch (e) {
          throw invalid(p, `invalid regex: ${(e as Error).message}`);
        }
        interfaces.push({ pattern, allow: toBool(p, allowValue) });
      }
      if (new Set(interfaces.map((i) => i.allow)).size > 1)
        throw invalid(keyPath, 'all interface rules must have the same value (true or false)');
      continue;
    }
    const family = cidrFamily(key);
    if (!family) throw invalid(keyPath, `expected a CIDR key (IPv4 or IPv6), got ${JSON.stringify(key)}`);
    const allow = toBool(keyPath, value);
    seen[family].add(allow);
    if (key.endsWith('/0')) hasDefault[family] = true;
    rules.push({ cidr: key, allow });
  }
  for (const fam of [4, 6] as const) {
    if (seen[fam].size > 1 && !hasDefault[fam]) {
      throw invalid(
        path,
        `has both true and false IPv${fam} rules, so a default (${fam === 4 ? '0.0.0.0/0' : '::/0'}) is required`,
      );
    }
  }
  return interfaces ? { rules, interfaces } : { rules };
}

const LOG_LEVELS: Readonly<Record<string, LogLevel>> = {
  panic: 'panic',
  fatal: 'fatal',
  error: 'error',
  warn: 'warning',
  warning: 'warning',
  info: 'info',
  debug: 'debug',
  trace: 'trace',
};

export interface ParsedConfig {
  readonly config: NebulaConfig;
  readonly warnings: ConfigWarning[];
}

/** Validates merged YAML and applies the 1.6.1 defaults. Throws ConfigError naming the path. */
export function parseConfig(raw: RawConfig): ParsedConfig {
  const r = new Reader(raw);

  // ---- pki
  const pkiRequired = (key: string): string => {
    const v = r.str(`pki.${key}`, '');
    if (v === '')
      throw new ConfigError('ERR_CONFIG_REQUIRED', `pki.${key}`, `no pki.${key} path or PEM data provided`);
    return v;
  };
  r.map('pki');
  const blocklist = r.strList('pki.blocklist');
  if (r.isSet('pki.blacklist')) {
    r.warn(
      'pki.blacklist',
      'pki.blacklist is deprecated and will not be supported in a future release. Please migrate your config to use pki.blocklist',
    );
    blocklist.push(...r.strList('pki.blacklist'));
  }
  const pki = {
    ca: pkiRequired('ca'),
    cert: pkiRequired('cert'),
    key: pkiRequired('key'),
    blocklist: blocklist.map((f) => f.toLowerCase()),
    disconnect_invalid: r.bool('pki.disconnect_invalid', false),
  };

  // ---- static_host_map
  const staticHostMap = new Map<string, HostPort[]>();
  for (const [vpnIp, value] of Object.entries(r.map('static_host_map') ?? {})) {
    const p = `static_host_map.${vpnIp}`;
    if (parseIpv4(vpnIp) === undefined)
      throw invalid(p, `the key must be an IPv4 overlay address, got ${JSON.stringify(vpnIp)}`);
    if (value === null || value === undefined)
      throw invalid(p, 'expected "host:port" or a list of them, got nothing');
    const items = Array.isArray(value)
      ? value.map((v, i) => hostPort(`${p}[${i}]`, v))
      : [hostPort(p, value)];
    staticHostMap.set(vpnIp, items);
  }

  // ---- lighthouse
  const amLighthouse = r.bool('lighthouse.am_lighthouse', false);
  const lighthouseHosts = r.list('lighthouse.hosts').map((v, i) => ipv4(`lighthouse.hosts[${i}]`, v));
  if (amLighthouse && lighthouseHosts.length > 0) {
    r.warn(
      'lighthouse.hosts',
      'lighthouse.am_lighthouse enabled on node but upstream lighthouses exist in config',
    );
  }
  let remoteAllowRanges: Array<{ vpnCidr: string; list: AllowListConfig }> | undefined;
  const rangesMap = r.map('lighthouse.remote_allow_ranges');
  if (rangesMap) {
    remoteAllowRanges = [];
    for (const key of Object.keys(rangesMap)) {
      const p = `lighthouse.remote_allow_ranges.${key}`;
      if (!parseIpv4Cidr(key))
        throw invalid(p, `the key must be an IPv4 overlay CIDR, got ${JSON.stringify(key)}`);
      const list = allowListFrom(rangesMap[key], p, false);
      remoteAllowRanges.push({ vpnCidr: key, list });
    }
  }
  const remoteAllowList = allowList(r, 'lighthouse.remote_allow_list', false);
  const localAllowList = allowList(r, 'lighthouse.local_allow_list', true);
  const lighthouse = {
    am_lighthouse: amLighthouse,
    serve_dns: r.bool('lighthouse.serve_dns', false),
    dns: {
      host: r.str('lighthouse.dns.host', ''),
      port: r.int('lighthouse.dns.port', 53, { min: 0, max: 65535 }),
    },
    interval: r.int('lighthouse.interval', 10, { min: 0 }),
    hosts: lighthouseHosts,
    advertise_addrs: r
      .list('lighthouse.advertise_addrs')
      .map((v, i) => hostPort(`lighthouse.advertise_addrs[${i}]`, v)),
    ...(remoteAllowList ? { remote_allow_list: remoteAllowList } : {}),
    ...(remoteAllowRanges ? { remote_allow_ranges: remoteAllowRanges } : {}),
    ...(localAllowList ? { local_allow_list: localAllowList } : {}),
  };

  // ---- listen
  const sre = r.get('listen.send_recv_error');
  let sendRecvError: SendRecvError = 'always';
  if (typeof sre === 'boolean') sendRecvError = sre ? 'always' : 'never';
  else if (sre !== undefined) {
    const s = scalarString('listen.send_recv_error', sre).toLowerCase();
    if (s !== 'always' && s !== 'never' && s !== 'private')
      throw invalid('listen.send_recv_error', `expected always, never or private, got ${describe(sre)}`);
    sendRecvError = s;
  }
  const listen = {
    host: r.str('listen.host', '0.0.0.0'),
    port: r.int('listen.port', 0, { min: 0, max: 65535 }),
    batch: r.int('listen.batch', 64, { min: 1 }),
    read_buffer: r.int('listen.read_buffer', 0, { min: 0, max: MAX_INT32 }),
    write_buffer: r.int('listen.write_buffer', 0, { min: 0, max: MAX_INT32 }),
    send_recv_error: sendRecvError,
  };

  // ---- routines (dataplane.md §1)
  let routines = r.int('routines', 0);
  if (routines === 0) {
    const tunRoutines = r.int('tun.routines', 1);
    const listenRoutines = r.int('listen.routines', 1);
    routines = Math.max(tunRoutines, listenRoutines);
    if (routines !== 1)
      r.warn(r.isSet('tun.routines') ? 'tun.routines' : 'listen.routines', ROUTINES_DEPRECATION);
  }
  if (routines < 1) routines = 1;

  // ---- cipher
  const cipher = r.str('cipher', 'aes');
  if (cipher !== 'aes' && cipher !== 'chachapoly') throw invalid('cipher', `unknown cipher: ${cipher}`);

  // ---- preferred ranges (+ deprecated local_range)
  const preferredRanges = r.list('preferred_ranges').map((v, i) => cidr4(`preferred_ranges[${i}]`, v));
  if (r.isSet('local_range')) {
    r.warn('local_range', 'local_range is deprecated, use preferred_ranges instead');
    const lr = cidr4('local_range', r.get('local_range'));
    if (!preferredRanges.some((c) => c.addr === lr.addr && c.bits === lr.bits)) preferredRanges.push(lr);
  }

  // ---- punchy (+ deprecated top-level punchy: bool, punch_back)
  const punchyRaw = r.get('punchy');
  let punch = false;
  if (isPlainMap(punchyRaw)) punch = r.bool('punchy.punch', false);
  else if (punchyRaw !== undefined) {
    r.warn('punchy', 'punchy: <bool> is deprecated, use punchy.punch');
    punch = toBool('punchy', punchyRaw);
  }
  let respond = r.bool('punchy.respond', false);
  if (!r.isSet('punchy.respond') && r.isSet('punch_back')) {
    r.warn('punch_back', 'punch_back is deprecated, use punchy.respond');
    respond = r.bool('punch_back', false);
  }
  const punchy = { punch, respond, delay: r.duration('punchy.delay', 1000) };

  // ---- relay
  const amRelay = r.bool('relay.am_relay', false);
  let useRelays = r.bool('relay.use_relays', true);
  if (amRelay && useRelays) {
    if (r.isSet('relay.use_relays'))
      r.warn('relay.use_relays', 'use_relays is forced off on a relay (relay.am_relay is true)');
    useRelays = false;
  }
  const relay = {
    am_relay: amRelay,
    use_relays: useRelays,
    relays: r.list('relay.relays').map((v, i) => ipv4(`relay.relays[${i}]`, v)),
  };

  // ---- tun
  const tunMtu = r.int('tun.mtu', 1300, { min: 1, max: 65535 });
  const routes: TunRoute[] = r.list('tun.routes').map((entry, i) => {
    const p = `tun.routes[${i}]`;
    if (!isPlainMap(entry)) throw invalid(p, `expected a map with mtu and route, got ${describe(entry)}`);
    if (entry.mtu === undefined || entry.mtu === null)
      throw new ConfigError('ERR_CONFIG_REQUIRED', `${p}.mtu`, 'is required');
    const mtu = toInt(`${p}.mtu`, entry.mtu, {});
    if (mtu < 500) throw invalid(`${p}.mtu`, `must be >= 500, got ${mtu}`);
    if (entry.route === undefined || entry.route === null)
      throw new ConfigError('ERR_CONFIG_REQUIRED', `${p}.route`, 'is required');
    return { route: cidr4(`${p}.route`, entry.route), mtu };
  });
  const unsafeRoutes: TunUnsafeRoute[] = r.list('tun.unsafe_routes').map((entry, i) => {
    const p = `tun.unsafe_routes[${i}]`;
    if (!isPlainMap(entry)) throw invalid(p, `expected a map with route and via, got ${describe(entry)}`);
    let mtu = 0;
    if (entry.mtu !== undefined && entry.mtu !== null) {
      mtu = toInt(`${p}.mtu`, entry.mtu, {});
      if (mtu !== 0 && mtu < 500) throw invalid(`${p}.mtu`, `must be >= 500, got ${mtu}`);
    }
    const metric =
      entry.metric === undefined || entry.metric === null
        ? 0
        : toInt(`${p}.metric`, entry.metric, { min: 0, max: MAX_INT32 });
    if (entry.via === undefined || entry.via === null)
      throw new ConfigError('ERR_CONFIG_REQUIRED', `${p}.via`, 'is required');
    if (entry.route === undefined || entry.route === null)
      throw new ConfigError('ERR_CONFIG_REQUIRED', `${p}.route`, 'is required');
    return { route: cidr4(`${p}.route`, entry.route), via: ipv4(`${p}.via`, entry.via), mtu, metric };
  });
  const tun = {
    disabled: r.bool('tun.disabled', false),
    dev: r.str('tun.dev', ''),
    mtu: tunMtu,
    tx_queue: r.int('tun.tx_queue', 500, { min: 0 }),
    drop_local_broadcast: r.bool('tun.drop_local_broadcast', false),
    drop_multicast: r.bool('tun.drop_multicast', false),
    tso: r.bool('tun.tso', true),
    routes,
    unsafe_routes: unsafeRoutes,
  };

  // ---- handshakes, timers
  const handshakes = {
    try_interval: r.duration('handshakes.try_interval', 100),
    retries: r.int('handshakes.retries', 10, { min: 0 }),
    trigger_buffer: r.int('handshakes.trigger_buffer', 64, { min: 0 }),
  };
  const timers = {
    connection_alive_interval: r.int('timers.connection_alive_interval', 5, { min: 0 }),
    pending_deletion_interval: r.int('timers.pending_deletion_interval', 10, { min: 0 }),
  };

  // ---- firewall (rules are parsed by @nebula-ts/firewall; here only their shape)
  r.map('firewall');
  r.map('firewall.conntrack');
  const firewall = {
    conntrack: {
      tcp_timeout: r.duration('firewall.conntrack.tcp_timeout', 12 * 60_000),
      udp_timeout: r.duration('firewall.conntrack.udp_timeout', 3 * 60_000),
      default_timeout: r.duration('firewall.conntrack.default_timeout', 10 * 60_000),
      routine_cache_timeout: r.isSet('firewall.conntrack.routine_cache_timeout')
        ? r.duration('firewall.conntrack.routine_cache_timeout', 0)
        : routines > 1
          ? 1000
          : 0,
    },
    outbound: r.list('firewall.outbound'),
    inbound: r.list('firewall.inbound'),
  };

  // ---- logging
  const levelText = r.str('logging.level', 'info').toLowerCase();
  const level = LOG_LEVELS[levelText];
  if (!level)
    throw invalid(
      'logging.level',
      `not a valid logging level: ${JSON.stringify(levelText)} (panic, fatal, error, warning, info, debug, trace)`,
    );
  const format = r.str('logging.format', 'text').toLowerCase();
  if (format !== 'text' && format !== 'json')
    throw invalid('logging.format', `unknown log format \`${format}\`. possible formats: [text json]`);
  const logging = {
    level,
    format: format as 'text' | 'json',
    disable_timestamp: r.bool('logging.disable_timestamp', false),
    timestamp_format: r.str('logging.timestamp_format', ''),
  };

  // ---- stats
  const stats = parseStats(r);

  // ---- sshd
  const sshdEnabled = r.bool('sshd.enabled', false);
  const sshdListen = r.str('sshd.listen', '');
  const sshdHostKey = r.str('sshd.host_key', '');
  if (sshdEnabled) {
    if (sshdListen === '')
      throw new ConfigError('ERR_CONFIG_REQUIRED', 'sshd.listen', 'is required when sshd.enabled is true');
    const hp = hostPort('sshd.listen', sshdListen);
    if (hp.port === 22) throw invalid('sshd.listen', 'can not use port 22');
    if (sshdHostKey === '')
      throw new ConfigError('ERR_CONFIG_REQUIRED', 'sshd.host_key', 'is required when sshd.enabled is true');
  }
  const authorizedUsers = r.list('sshd.authorized_users').map((entry, i) => {
    const p = `sshd.authorized_users[${i}]`;
    if (!isPlainMap(entry)) throw invalid(p, `expected a map with user and keys, got ${describe(entry)}`);
    if (entry.user === undefined || entry.user === null)
      throw new ConfigError('ERR_CONFIG_REQUIRED', `${p}.user`, 'is required');
    const keys =
      entry.keys === undefined || entry.keys === null
        ? []
        : Array.isArray(entry.keys)
          ? entry.keys
          : [entry.keys];
    return {
      user: scalarString(`${p}.user`, entry.user),
      keys: keys.map((k, j) => scalarString(`${p}.keys[${j}]`, k)),
    };
  });
  const sshd = {
    enabled: sshdEnabled,
    listen: sshdListen,
    host_key: sshdHostKey,
    authorized_users: authorizedUsers,
  };

  const config: NebulaConfig = {
    pki,
    static_host_map: staticHostMap,
    lighthouse,
    listen,
    routines,
    cipher: cipher as Cipher,
    preferred_ranges: preferredRanges,
    punchy,
    relay,
    tun,
    handshakes,
    timers,
    firewall,
    logging,
    stats,
    sshd,
  };
  return { config, warnings: r.warnings };
}

function parseStats(r: Reader): StatsConfig {
  r.map('stats');
  const type = r.str('stats.type', '');
  if (type !== '' && type !== 'none' && type !== 'prometheus' && type !== 'graphite') {
    throw invalid(
      'stats.type',
      `stats.type was not understood: ${type} (expected prometheus, graphite or none)`,
    );
  }
  const active = type === 'prometheus' || type === 'graphite';
  const intervalRaw = r.get('stats.interval');
  let interval = 0;
  if (active) {
    if (intervalRaw === undefined)
      throw new ConfigError(
        'ERR_CONFIG_REQUIRED',
        'stats.interval',
        `is required when stats.type is ${type} (a duration like 10s)`,
      );
    interval = toDuration('stats.interval', intervalRaw);
    if (interval <= 0) throw invalid('stats.interval', `must be positive, got ${describe(intervalRaw)}`);
  } else if (intervalRaw !== undefined) interval = toDuration('stats.interval', intervalRaw);
  const stats: StatsConfig = {
    type: type as StatsConfig['type'],
    interval,
    prefix: r.str('stats.prefix', 'nebula'),
    protocol: r.str('stats.protocol', 'tcp'),
    host: r.str('stats.host', ''),
    listen: r.str('stats.listen', ''),
    path: r.str('stats.path', ''),
    namespace: r.str('stats.namespace', ''),
    subsystem: r.str('stats.subsystem', ''),
    message_metrics: r.bool('stats.message_metrics', false),
    lighthouse_metrics: r.bool('stats.lighthouse_metrics', false),
  };
  if (type === 'prometheus') {
    if (stats.listen === '')
      throw new ConfigError('ERR_CONFIG_REQUIRED', 'stats.listen', 'stats.listen should not be empty');
    hostPort('stats.listen', stats.listen);
    if (stats.path === '')
      throw new ConfigError('ERR_CONFIG_REQUIRED', 'stats.path', 'stats.path should not be empty');
    if (!stats.path.startsWith('/'))
      throw invalid('stats.path', `must start with "/", got ${JSON.stringify(stats.path)}`);
  }
  if (type === 'graphite') {
    if (stats.host === '')
      throw new ConfigError('ERR_CONFIG_REQUIRED', 'stats.host', 'stats.host can not be empty');
    hostPort('stats.host', stats.host);
    if (stats.protocol !== 'tcp' && stats.protocol !== 'udp')
      throw invalid('stats.protocol', `unknown network ${stats.protocol} (tcp or udp)`);
  }
  return stats;
}
