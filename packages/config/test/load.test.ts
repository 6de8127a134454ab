import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  findConfigFiles,
  loadConfig,
  mergeConfigs,
  parseGoDuration,
  parseYaml,
  parseYamlFile,
  renderConfigYaml,
  subtreeChanged,
} from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'nebula-config-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function dir(name: string, files: Record<string, string>): string {
  const d = join(root, name);
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(d, f, '..'), { recursive: true });
    writeFileSync(join(d, f), text);
  }
  return d;
}

describe('loadConfig', () => {
  it('loads a single file whatever its extension', async () => {
    const d = dir('single', { 'nebula.conf': 'pki: {ca: a, cert: b, key: c}\nlisten: {port: 4242}\n' });
    const loaded = await loadConfig(join(d, 'nebula.conf'));
    expect(loaded.config.listen.port).toBe(4242);
    expect(loaded.raw).toEqual({ pki: { ca: 'a', cert: 'b', key: 'c' }, listen: { port: 4242 } });
  });

  it('merges a directory: lexical order, later scalars win, lists concatenated later-first', async () => {
    const d = dir('merge', {
      '00-base.yml': `pki: {ca: a, cert: b, key: c}
lighthouse: {interval: 10, hosts: ["10.0.0.1"]}
listen: {port: 4242, host: 0.0.0.0}
firewall:
  inbound: [{port: 22, proto: tcp, host: any}]
`,
      '10-over.yaml': `lighthouse: {interval: 60}
listen: {port: 4243}
firewall:
  inbound: [{port: any, proto: icmp, host: any}]
`,
      'sub/20-more.yml': 'lighthouse: {hosts: ["10.0.0.2"]}\n',
      'README.md': 'not: [yaml',
      'notes.txt': 'ignored: true',
    });
    const loaded = await loadConfig(d);
    expect(loaded.files.map((f) => f.slice(d.length + 1))).toEqual([
      '00-base.yml',
      '10-over.yaml',
      'sub/20-more.yml',
    ]);
    expect(loaded.config.lighthouse.interval).toBe(60);
    expect(loaded.config.listen.port).toBe(4243);
    expect(loaded.config.listen.host).toBe('0.0.0.0');
    expect(loaded.config.lighthouse.hosts).toEqual(['10.0.0.2', '10.0.0.1']);
    expect(loaded.config.firewall.inbound).toEqual([
      { port: 'any', proto: 'icmp', host: 'any' },
      { port: 22, proto: 'tcp', host: 'any' },
    ]);
  });

  it('fails with ERR_CONFIG_NOT_FOUND for a missing path or an empty directory', async () => {
    await expect(loadConfig(join(root, 'missing.yml'))).rejects.toMatchObject({
      code: 'ERR_CONFIG_NOT_FOUND',
      message: `no config files found at ${join(root, 'missing.yml')}`,
    });
    const d = dir('empty', { 'x.txt': 'a: 1' });
    await expect(findConfigFiles(d)).rejects.toBeInstanceOf(ConfigError);
  });

  it('reports YAML errors with the file name', async () => {
    const d = dir('bad', { 'c.yml': 'pki: {ca: a\n' });
    await expect(loadConfig(join(d, 'c.yml'))).rejects.toMatchObject({
      code: 'ERR_CONFIG_YAML',
      message: expect.stringContaining(join(d, 'c.yml')),
    });
  });

  it('accepts duplicate keys as go-yaml v2 does (last wins), with a warning', () => {
    const { raw, warnings } = parseYamlFile(
      'a: 1\nlogging: {level: debug}\na: 2\nlogging: {format: json}\n',
      'x.yml',
    );
    expect(raw).toEqual({ a: 2, logging: { format: 'json' } });
    expect(warnings.map((w) => w.message)).toEqual([
      'x.yml: Map keys must be unique at line 3, column 1; the last value is used',
      'x.yml: Map keys must be unique at line 4, column 1; the last value is used',
    ]);
  });

  it('rejects a non-map top level', () => {
    expect(() => parseYaml('- 1\n- 2\n')).toThrow(/top level must be a map/);
    expect(parseYaml('')).toEqual({});
    expect(parseYaml('# only a comment\n')).toEqual({});
  });

  it('reads the first YAML document only, as go-yaml', () => {
    expect(parseYaml('a: 1\n---\nb: 2\n')).toEqual({ a: 1 });
  });

  it('keeps __proto__ keys as data', () => {
    const raw = parseYaml('__proto__: {polluted: true}\n');
    expect(Object.hasOwn(raw, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('mergeConfigs', () => {
  it('null in the later file keeps the earlier value', () => {
    expect(mergeConfigs({ a: 1, b: { c: 2 } }, { a: null, b: { d: 3 } })).toEqual({
      a: 1,
      b: { c: 2, d: 3 },
    });
  });
});

describe('subtreeChanged', () => {
  const a = parseYaml(
    'firewall: {inbound: [{port: any, proto: any, host: any}], conntrack: {tcp_timeout: 12m}}\nlogging: {level: info}',
  );
  it('ignores key order, sees value changes', () => {
    const b = parseYaml(
      'logging: {level: info}\nfirewall: {conntrack: {tcp_timeout: 12m}, inbound: [{host: any, proto: any, port: any}]}',
    );
    expect(subtreeChanged(a, b, 'firewall')).toBe(false);
    const c = parseYaml(
      'firewall: {inbound: [{port: 22, proto: tcp, host: any}], conntrack: {tcp_timeout: 12m}}\nlogging: {level: debug}',
    );
    expect(subtreeChanged(a, c, 'firewall')).toBe(true);
    expect(subtreeChanged(a, c, 'logging.level')).toBe(true);
    expect(subtreeChanged(a, c, 'firewall.conntrack')).toBe(false);
    expect(subtreeChanged(a, c, 'sshd')).toBe(false);
    expect(subtreeChanged(a, c, '')).toBe(true);
  });
});

describe('parseGoDuration', () => {
  it.each([
    ['0', 0],
    ['100ms', 100],
    ['1s', 1000],
    ['12m', 720_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['-2s', -2000],
    ['1us', 0.001],
    ['1µs', 0.001],
    ['500ns', 0.0005],
    ['.5s', 500],
  ])('%s → %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(['', '5', 's', '1x', '1 s', '1s 2m', '.s', '1.s2', '--1s'])('rejects %j', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});

describe('renderConfigYaml', () => {
  it('prints sorted keys', () => {
    expect(renderConfigYaml(parseYaml('b: 1\na: {d: 2, c: 3}\n'))).toBe('a:\n  c: 3\n  d: 2\nb: 1\n');
  });
});
