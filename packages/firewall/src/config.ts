/**
 * The `firewall` config section, parsed as Go Nebula 1.6.1 does (`firewall.go`
 * AddFirewallRulesFromConfig / convertRule / parsePort) including its rule-hash text.
 */
import { createHash } from 'node:crypto';
import { FirewallConfigError, type FirewallErrorCode } from './errors.js';
import { parseGoDuration } from './internal/duration.js';
import { parseCidr, type RuleCidr } from './internal/net.js';

export const PROTO_ANY = 0;
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PORT_ANY = 0;
export const PORT_FRAGMENT = -1;

export interface FirewallRule {
  readonly incoming: boolean;
  /** 0 any, 1 icmp, 6 tcp, 17 udp. */
  readonly proto: number;
  /** int32 as Go keeps it; 0 = any, -1 = fragment. */
  readonly startPort: number;
  readonly endPort: number;
  /** null when the rule gave neither `group` nor `groups` (Go's nil slice). */
  readonly groups: readonly string[] | null;
  readonly host: string;
  readonly cidr: RuleCidr | null;
  readonly caName: string;
  readonly caSha: string;
}

export interface ConntrackTimeouts {
  readonly tcpTimeoutMs: number;
  readonly udpTimeoutMs: number;
  readonly defaultTimeoutMs: number;
  /** As written; `undefined` when the key is absent (the config layer then picks 0 or 1 s by routines). */
  readonly routineCacheTimeoutMs: number | undefined;
}

export interface FirewallRules {
  readonly conntrack: ConntrackTimeouts;
  readonly outbound: readonly FirewallRule[];
  readonly inbound: readonly FirewallRule[];
  /** The canonical rule text 1.6.1 hashes: one line per rule, outbound first. */
  readonly ruleText: string;
  /** `firewallHash`: SHA-256 hex of `ruleText`. */
  readonly hash: string;
  /** Non-fatal notes Go logs as warnings (e.g. a one-element `group` list). */
  readonly warnings: readonly string[];
}

const DEFAULT_TCP_MS = 12 * 60_000;
const DEFAULT_UDP_MS = 3 * 60_000;
const DEFAULT_OTHER_MS = 10 * 60_000;

type RawMap = Record<string, unknown>;

function getKey(m: unknown, key: string): { has: boolean; value: unknown } {
  if (m instanceof Map) return { has: m.has(key), value: m.get(key) };
  if (typeof m === 'object' && m !== null && Object.hasOwn(m, key))
    return { has: true, value: (m as RawMap)[key] };
  return { has: false, value: undefined };
}

function isMap(v: unknown): boolean {
  return v instanceof Map || (typeof v === 'object' && v !== null && !Array.isArray(v));
}

/** Go's `fmt.Sprintf("%v", v)` for YAML-decoded values. */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (Number.isInteger(v) && Math.abs(v) < 1e21) return String(v);
    if (Number.isNaN(v)) return 'NaN';
    if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
    // Go %v on float64 is %g with shortest repr: exponent form for exp < -4 || exp >= 21
    const s = String(v);
    return s.replace(/e([+-])(\d)$/, 'e$10$2');
  }
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Map || typeof v === 'object') {
    const entries = v instanceof Map ? [...v.entries()] : Object.entries(v as RawMap);
    const parts = entries
      .map(([k, x]) => [goFormat(k), goFormat(x)] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : 1));
    return `map[${parts.map(([k, x]) => `${k}:${x}`).join(' ')}]`;
  }
  return String(v);
}

function durationOf(raw: unknown, key: string, fallbackMs: number): number {
  const { has, value } = getKey(raw, key);
  if (!has || value === null || value === undefined) return fallbackMs;
  const ms = parseGoDuration(goFormat(value));
  return ms === null ? fallbackMs : ms;
}

/** Go's strconv.Atoi followed by int32(): null when Atoi fails. */
function atoiInt32(s: string): number | null {
  if (!/^[+-]?\d+$/.test(s)) return null;
  const big = BigInt(s);
  if (big > 9223372036854775807n || big < -9223372036854775808n) return null;
  return Number(BigInt.asIntN(32, big));
}

/** Go's parsePort: returns [start, end] or the reason text. */
export function parsePort(s: string): [number, number] | string {
  if (s === 'any') return [PORT_ANY, PORT_ANY];
  if (s === 'fragment') return [PORT_FRAGMENT, PORT_FRAGMENT];
  const dash = s.indexOf('-');
  if (dash >= 0) {
    const a = s.slice(0, dash).replace(/^ +| +$/g, '');
    const b = s.slice(dash + 1).replace(/^ +| +$/g, '');
    if (a === '' || b === '') return `appears to be a range but could not be parsed; \`${s}\``;
    const start = atoiInt32(a);
    if (start === null) return `beginning range was not a number; \`${a}\``;
    const end = atoiInt32(b);
    if (end === null) return `ending range was not a number; \`${b}\``;
    return start === PORT_ANY ? [PORT_ANY, PORT_ANY] : [start, end];
  }
  const port = atoiInt32(s);
  if (port === null) return `was not a number; \`${s}\``;
  return [port, port];
}

function fail(code: FirewallErrorCode, table: string, i: number, key: string | null, reason: string): never {
  const path = key === null ? `${table}[${i}]` : `${table}[${i}].${key}`;
  throw new FirewallConfigError(code, path, `${table} rule #${i}; ${reason}`, reason);
}

function parseTable(
  raw: unknown,
  base: string,
  name: 'inbound' | 'outbound',
  warnings: string[],
): FirewallRule[] {
  const table = `${base}.${name}`;
  const { value } = getKey(raw, name);
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    const msg = `${table} failed to parse, should be an array of rules`;
    throw new FirewallConfigError('ERR_FIREWALL_RULES_NOT_LIST', table, msg, 'should be an array of rules');
  }
  const incoming = name === 'inbound';
  const rules: FirewallRule[] = [];
  value.forEach((item: unknown, i: number) => {
    if (!isMap(item)) fail('ERR_FIREWALL_RULE_NOT_MAP', table, i, null, 'could not parse rule');
    const str = (k: string): string => {
      const { has, value: v } = getKey(item, k);
      return has ? goFormat(v) : '';
    };
    const port = str('port');
    const code = str('code');
    const proto = str('proto');
    const host = str('host');
    const cidrText = str('cidr');
    const caName = str('ca_name');
    const caSha = str('ca_sha');

    let group = '';
    const g = getKey(item, 'group');
    if (Array.isArray(g.value)) {
      if (g.value.length > 1) {
        fail(
          'ERR_FIREWALL_GROUP_ARRAY',
          table,
          i,
          'group',
          'group should contain a single value, an array with more than one entry was provided',
        );
      }
      // Go indexes v[0] unchecked and panics on an empty list; refuse it instead.
      if (g.value.length === 0)
        fail(
          'ERR_FIREWALL_GROUP_ARRAY',
          table,
          i,
          'group',
          'group should contain a single value, an empty array was provided',
        );
      warnings.push(
        `${table} rule #${i}; group was an array with a single value, converting to simple value`,
      );
      group = goFormat(g.value[0]);
    } else if (g.has) {
      group = goFormat(g.value);
    }

    let groupsList: string[] = [];
    const gs = getKey(item, 'groups');
    if (gs.has && gs.value !== null && gs.value !== undefined) {
      // Go panics on non-string list items; format them instead.
      groupsList = Array.isArray(gs.value) ? gs.value.map(goFormat) : [goFormat(gs.value)];
    }

    if (code !== '' && port !== '')
      fail('ERR_FIREWALL_PORT_AND_CODE', table, i, 'code', 'only one of port or code should be provided');
    if (
      host === '' &&
      groupsList.length === 0 &&
      group === '' &&
      cidrText === '' &&
      caName === '' &&
      caSha === ''
    ) {
      fail(
        'ERR_FIREWALL_NO_SELECTOR',
        table,
        i,
        null,
        'at least one of host, group, cidr, ca_name, or ca_sha must be provided',
      );
    }
    let groups: string[] | null = groupsList.length > 0 ? groupsList : null;
    if (group !== '') {
      if (groups !== null)
        fail(
          'ERR_FIREWALL_GROUP_AND_GROUPS',
          table,
          i,
          'groups',
          'only one of group or groups should be defined, both provided',
        );
      groups = [group];
    }

    const portKey = code !== '' ? 'code' : 'port';
    const parsed = parsePort(code !== '' ? code : port);
    if (typeof parsed === 'string') fail('ERR_FIREWALL_BAD_PORT', table, i, portKey, `${portKey} ${parsed}`);

    let protoNum: number;
    switch (proto) {
      case 'any':
        protoNum = PROTO_ANY;
        break;
      case 'tcp':
        protoNum = PROTO_TCP;
        break;
      case 'udp':
        protoNum = PROTO_UDP;
        break;
      case 'icmp':
        protoNum = PROTO_ICMP;
        break;
      default:
        fail('ERR_FIREWALL_BAD_PROTO', table, i, 'proto', `proto was not understood; \`${proto}\``);
    }

    let cidr: RuleCidr | null = null;
    if (cidrText !== '') {
      cidr = parseCidr(cidrText);
      if (cidr === null)
        fail(
          'ERR_FIREWALL_BAD_CIDR',
          table,
          i,
          'cidr',
          `cidr did not parse; invalid CIDR address: ${cidrText}`,
        );
    }

    const [startPort, endPort] = parsed;
    if (startPort > endPort)
      fail('ERR_FIREWALL_PORT_ORDER', table, i, portKey, '`start port was lower than end port`');
    rules.push({ incoming, proto: protoNum, startPort, endPort, groups, host, cidr, caName, caSha });
  });
  return rules;
}

/** One line of 1.6.1's hashed rule text (`Firewall.AddRule`). */
export function ruleLine(r: FirewallRule): string {
  const groups = `[${(r.groups ?? []).join(' ')}]`;
  return `incoming: ${r.incoming}, proto: ${r.proto}, startPort: ${r.startPort}, endPort: ${r.endPort}, groups: ${groups}, host: ${r.host}, ip: ${r.cidr?.text ?? ''}, caName: ${r.caName}, caSha: ${r.caSha}\n`;
}

/**
 * Parses the `firewall` subtree (`raw` is its value, e.g. `config.firewall`). Throws
 * `FirewallConfigError` on the first bad rule, with Go's message and a precise `path`.
 */
export function parseFirewallConfig(raw: unknown, path = 'firewall'): FirewallRules {
  const warnings: string[] = [];
  const ct = getKey(raw, 'conntrack').value;
  const rc = getKey(ct, 'routine_cache_timeout');
  const conntrack: ConntrackTimeouts = {
    tcpTimeoutMs: durationOf(ct, 'tcp_timeout', DEFAULT_TCP_MS),
    udpTimeoutMs: durationOf(ct, 'udp_timeout', DEFAULT_UDP_MS),
    defaultTimeoutMs: durationOf(ct, 'default_timeout', DEFAULT_OTHER_MS),
    routineCacheTimeoutMs:
      rc.has && rc.value !== null ? (parseGoDuration(goFormat(rc.value)) ?? 0) : undefined,
  };
  // Go adds outbound rules first, then inbound; the hash text follows that order.
  const outbound = parseTable(raw, path, 'outbound', warnings);
  const inbound = parseTable(raw, path, 'inbound', warnings);
  let ruleText = '';
  for (const r of outbound) ruleText += ruleLine(r);
  for (const r of inbound) ruleText += ruleLine(r);
  const hash = createHash('sha256').update(ruleText).digest('hex');
  return { conntrack, outbound, inbound, ruleText, hash, warnings };
}
