/**
 * `lighthouse.remote_allow_list`, `lighthouse.remote_allow_ranges` and `lighthouse.local_allow_list`
 * (lighthouse.md §5), with 1.6.1's rules: the most specific matching CIDR wins; per family, if all
 * rules share one value the family default is the opposite value; mixed values need an explicit
 * `0.0.0.0/0` / `::/0`. Interface rules are regexes anchored as `^name$` and must all share one
 * value. Input is the raw YAML value; every error names its config path.
 */
import type { UdpAddr } from './addr.js';
import { type Cidr, cidrContains4, cidrContains6, parseCidr } from './cidr.js';
import { LighthouseError } from './errors.js';

function typeName(v: unknown): string {
  if (v === null) return 'nil';
  if (Array.isArray(v)) return '[]interface {}';
  return typeof v;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(path: string, message: string): never {
  throw new LighthouseError('ERR_ALLOW_LIST', message, { path });
}

interface Rule {
  readonly cidr: Cidr;
  readonly allow: boolean;
}

/** A CIDR → bool table. `null` stands for "not configured" (allows everything) everywhere below. */
export class AllowList {
  private readonly v4: readonly Rule[];
  private readonly v6: readonly Rule[];

  constructor(rules: readonly Rule[]) {
    // most specific first, so the first hit is the answer
    const sorted = [...rules].sort((a, b) => b.cidr.bits - a.cidr.bits);
    this.v4 = sorted.filter((r) => r.cidr.family === 4);
    this.v6 = sorted.filter((r) => r.cidr.family === 6);
  }

  allowIp4(ip: number): boolean {
    const rules = this.v4;
    for (let i = 0; i < rules.length; i++) if (cidrContains4(rules[i]!.cidr, ip)) return rules[i]!.allow;
    return true;
  }

  allowIp6(w0: number, w1: number, w2: number, w3: number): boolean {
    const rules = this.v6;
    for (let i = 0; i < rules.length; i++)
      if (cidrContains6(rules[i]!.cidr, w0, w1, w2, w3)) return rules[i]!.allow;
    return true;
  }

  allow(a: UdpAddr): boolean {
    return a.family === 4 ? this.allowIp4(a.w0) : this.allowIp6(a.w0, a.w1, a.w2, a.w3);
  }
}

/**
 * Go's `newAllowList`. `handleKey` may claim a key (the `interfaces` sub-map of local_allow_list).
 * Returns null for an absent (undefined/null) value.
 */
export function parseAllowList(
  raw: unknown,
  path: string,
  handleKey?: (key: string, value: unknown) => boolean,
): AllowList | null {
  if (raw === undefined || raw === null) return null;
  if (!isMap(raw)) fail(path, `config \`${path}\` has invalid type: ${typeName(raw)}`);
  const byText = new Map<string, Rule>();
  const fam = {
    4: { first: true, all: false, allMatch: true, defaultSet: false },
    6: { first: true, all: false, allMatch: true, defaultSet: false },
  };
  for (const [key, value] of Object.entries(raw)) {
    if (handleKey?.(key, value)) continue;
    if (typeof value !== 'boolean')
      fail(path, `config \`${path}\` has invalid value (type ${typeName(value)}): ${String(value)}`);
    const cidr = parseCidr(key);
    if (!cidr) fail(path, `config \`${path}\` has invalid CIDR: ${key}`);
    const network = `${cidr.family}/${cidr.w.join('.')}/${cidr.bits}`;
    byText.set(network, { cidr, allow: value });
    const r = fam[cidr.family];
    if (r.first) {
      r.all = value;
      r.first = false;
    } else if (value !== r.all) r.allMatch = false;
    if (cidr.bits === 0) r.defaultSet = true;
  }
  const rules = [...byText.values()];
  for (const f of [4, 6] as const) {
    const r = fam[f];
    if (r.defaultSet) continue;
    const zero = f === 4 ? '0.0.0.0/0' : '::/0';
    if (!r.allMatch)
      fail(path, `config \`${path}\` contains both true and false rules, but no default set for ${zero}`);
    rules.push({ cidr: parseCidr(zero)!, allow: !r.all });
  }
  return new AllowList(rules);
}

export interface NameRule {
  readonly name: RegExp;
  readonly allow: boolean;
}

/** `lighthouse.local_allow_list`: CIDRs plus an optional `interfaces` map of regex → bool. */
export class LocalAllowList {
  constructor(
    readonly list: AllowList | null,
    readonly nameRules: readonly NameRule[],
  ) {}

  allow(a: UdpAddr): boolean {
    return this.list === null || this.list.allow(a);
  }

  allowName(name: string): boolean {
    if (this.nameRules.length === 0) return true;
    for (const r of this.nameRules) if (r.name.test(name)) return r.allow;
    // no rule matched: the opposite of the (uniform) rule value
    return !this.nameRules[0]!.allow;
  }
}

export function parseLocalAllowList(
  raw: unknown,
  path = 'lighthouse.local_allow_list',
): LocalAllowList | null {
  let nameRules: NameRule[] = [];
  const ipath = `${path}.interfaces`;
  const list = parseAllowList(raw, path, (key, value) => {
    if (key !== 'interfaces') return false;
    if (!isMap(value))
      fail(ipath, `config \`${ipath}\` is invalid (type ${typeName(value)}): ${String(value)}`);
    let first: boolean | undefined;
    nameRules = [];
    for (const [name, allow] of Object.entries(value)) {
      if (typeof allow !== 'boolean')
        fail(ipath, `config \`${ipath}\` has invalid value (type ${typeName(allow)}): ${String(allow)}`);
      const anchored = `^${name}$`;
      let re: RegExp;
      try {
        re = new RegExp(anchored);
      } catch (e) {
        fail(ipath, `config \`${ipath}\` has invalid key: ${anchored}: ${(e as Error).message}`);
      }
      nameRules.push({ name: re, allow });
      if (first === undefined) first = allow;
      else if (allow !== first)
        fail(ipath, `config \`${ipath}\` values must all be the same true/false value`);
    }
    return true;
  });
  if (list === null) return null;
  return new LocalAllowList(list, nameRules);
}

interface InsideRange {
  readonly cidr: Cidr;
  readonly list: AllowList;
}

/**
 * `lighthouse.remote_allow_list` plus `lighthouse.remote_allow_ranges` (inside vpn CIDR → allow list;
 * the most specific range containing the peer's vpnIp must also allow the address).
 */
export class RemoteAllowList {
  private readonly ranges: readonly InsideRange[];
  constructor(
    readonly global: AllowList | null,
    ranges: readonly InsideRange[] = [],
  ) {
    this.ranges = [...ranges].sort((a, b) => b.cidr.bits - a.cidr.bits);
  }

  private inside(vpnIp: number): AllowList | null {
    const r = this.ranges;
    for (let i = 0; i < r.length; i++) if (cidrContains4(r[i]!.cidr, vpnIp)) return r[i]!.list;
    return null;
  }

  allow(vpnIp: number, a: UdpAddr): boolean {
    const inside = this.ranges.length === 0 ? null : this.inside(vpnIp);
    if (inside !== null && !inside.allow(a)) return false;
    return this.global === null || this.global.allow(a);
  }

  allowIp4(vpnIp: number, ip: number): boolean {
    const inside = this.ranges.length === 0 ? null : this.inside(vpnIp);
    if (inside !== null && !inside.allowIp4(ip)) return false;
    return this.global === null || this.global.allowIp4(ip);
  }

  allowIp6(vpnIp: number, w0: number, w1: number, w2: number, w3: number): boolean {
    const inside = this.ranges.length === 0 ? null : this.inside(vpnIp);
    if (inside !== null && !inside.allowIp6(w0, w1, w2, w3)) return false;
    return this.global === null || this.global.allowIp6(w0, w1, w2, w3);
  }
}

export function parseRemoteAllowList(
  rawList: unknown,
  rawRanges: unknown,
  path = 'lighthouse.remote_allow_list',
  rangesPath = 'lighthouse.remote_allow_ranges',
): RemoteAllowList | null {
  const global = parseAllowList(rawList, path);
  const ranges: InsideRange[] = [];
  if (rawRanges !== undefined && rawRanges !== null) {
    if (!isMap(rawRanges))
      fail(rangesPath, `config \`${rangesPath}\` has invalid type: ${typeName(rawRanges)}`);
    for (const [key, value] of Object.entries(rawRanges)) {
      const list = parseAllowList(value, `${rangesPath}.${key}`);
      const cidr = parseCidr(key);
      if (cidr?.family !== 4) fail(rangesPath, `config \`${rangesPath}\` has invalid CIDR: ${key}`);
      if (list) ranges.push({ cidr, list });
    }
  }
  if (global === null && ranges.length === 0) return null;
  return new RemoteAllowList(global, ranges);
}
