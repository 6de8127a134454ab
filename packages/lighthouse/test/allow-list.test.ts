import { describe, expect, it } from 'vitest';
import {
  isLighthouseError,
  parseAllowList,
  parseIp4,
  parseLocalAllowList,
  parseRemoteAllowList,
  UdpAddr,
} from '../src/index.js';

const a = (s: string): UdpAddr =>
  UdpAddr.parse(s.includes(':') && !s.startsWith('[') && s.split(':').length > 2 ? `[${s}]:1` : `${s}:1`);

function throwsAt(fn: () => unknown, path: string, msg: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(isLighthouseError(e)).toBe(true);
    expect((e as { code: string }).code).toBe('ERR_ALLOW_LIST');
    expect((e as { path: string }).path).toBe(path);
    expect((e as Error).message).toMatch(msg);
    return;
  }
  throw new Error('expected an error');
}

describe('allow lists (lighthouse.md §5)', () => {
  it('absent means allow everything', () => {
    expect(parseAllowList(undefined, 'x')).toBeNull();
    expect(parseRemoteAllowList(undefined, undefined)).toBeNull();
    expect(parseLocalAllowList(undefined)).toBeNull();
  });

  it('most specific CIDR wins; explicit default', () => {
    const al = parseAllowList({ '0.0.0.0/0': true, '10.0.0.0/8': false, '10.42.42.0/24': true }, 'k')!;
    expect(al.allow(a('10.1.1.1'))).toBe(false);
    expect(al.allow(a('10.42.42.7'))).toBe(true);
    expect(al.allow(a('8.8.8.8'))).toBe(true);
    // no v6 rules: v6 default allow
    expect(al.allow(a('2001:db8::1'))).toBe(true);
  });

  it('uniform values give the family the opposite default', () => {
    const deny = parseAllowList({ '10.0.0.0/8': false, 'fd00::/8': false }, 'k')!;
    expect(deny.allow(a('10.1.1.1'))).toBe(false);
    expect(deny.allow(a('1.1.1.1'))).toBe(true);
    expect(deny.allow(a('fd00::1'))).toBe(false);
    expect(deny.allow(a('2001:db8::1'))).toBe(true);
    const allow = parseAllowList({ '192.168.0.0/16': true }, 'k')!;
    expect(allow.allow(a('192.168.3.4'))).toBe(true);
    expect(allow.allow(a('1.1.1.1'))).toBe(false);
    expect(allow.allow(a('2001:db8::1'))).toBe(true);
  });

  it('mixed values without a default are an error naming the path and family', () => {
    throwsAt(
      () => parseAllowList({ '10.0.0.0/8': false, '10.1.0.0/16': true }, 'lighthouse.remote_allow_list'),
      'lighthouse.remote_allow_list',
      /contains both true and false rules, but no default set for 0\.0\.0\.0\/0/,
    );
    throwsAt(
      () => parseAllowList({ 'fd00::/8': false, 'fd00:1::/32': true }, 'k'),
      'k',
      /no default set for ::\/0/,
    );
    throwsAt(() => parseAllowList({ 'nope/8': true }, 'k'), 'k', /invalid CIDR: nope\/8/);
    throwsAt(() => parseAllowList({ '10.0.0.0/8': 'yes' }, 'k'), 'k', /invalid value/);
    throwsAt(() => parseAllowList(['10.0.0.0/8'], 'k'), 'k', /invalid type/);
  });

  it('remote_allow_ranges: the most specific inside range must also allow', () => {
    const ral = parseRemoteAllowList(
      { '10.0.0.0/8': false },
      { '10.42.0.0/16': { '192.168.0.0/16': true }, '10.42.1.0/24': { '172.16.0.0/12': true } },
    )!;
    const v1 = parseIp4('10.42.0.5');
    const v2 = parseIp4('10.42.1.5');
    const v3 = parseIp4('10.9.0.1');
    expect(ral.allow(v1, a('192.168.1.1'))).toBe(true);
    expect(ral.allow(v1, a('8.8.8.8'))).toBe(false);
    expect(ral.allow(v2, a('192.168.1.1'))).toBe(false);
    expect(ral.allow(v2, a('172.16.0.1'))).toBe(true);
    expect(ral.allow(v3, a('8.8.8.8'))).toBe(true);
    expect(ral.allow(v3, a('10.0.0.1'))).toBe(false);
    throwsAt(
      () => parseRemoteAllowList(undefined, { '10.42.0.0/16': { '1.0.0.0/8': true, '1.1.0.0/16': false } }),
      'lighthouse.remote_allow_ranges.10.42.0.0/16',
      /no default set/,
    );
  });

  it('local_allow_list interfaces: anchored regexes, uniform values, opposite default', () => {
    const lal = parseLocalAllowList({ interfaces: { 'eth.*': false, docker0: false }, '10.0.0.0/8': false })!;
    expect(lal.allowName('eth0')).toBe(false);
    expect(lal.allowName('docker0')).toBe(false);
    expect(lal.allowName('xeth0')).toBe(true);
    expect(lal.allowName('docker01')).toBe(true);
    expect(lal.allow(a('10.0.0.1'))).toBe(false);
    expect(lal.allow(a('1.2.3.4'))).toBe(true);
    throwsAt(
      () => parseLocalAllowList({ interfaces: { eth0: true, eth1: false } }),
      'lighthouse.local_allow_list.interfaces',
      /values must all be the same true\/false value/,
    );
    throwsAt(
      () => parseLocalAllowList({ interfaces: { '(': true } }),
      'lighthouse.local_allow_list.interfaces',
      /invalid key: \^\(\$/,
    );
    // only interfaces: every address allowed
    expect(parseLocalAllowList({ interfaces: { tun0: false } })!.allow(a('10.0.0.1'))).toBe(true);
  });
});
