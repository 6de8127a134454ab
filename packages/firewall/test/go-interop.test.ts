/**
 * firewallHash and config errors compared with Debian's Go Nebula 1.6.1 (`nebula -test`, which
 * builds the firewall and logs "Firewall started" with firewallHash, or the load error).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireGoNebula } from '@nebula-ts/e2e';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFirewallConfig } from '../src/index.js';

/** The same rules as a YAML config given to Go 1.6.1, which logged this firewallHash. */
const MIXED = {
  outbound: [{ port: 'any', proto: 'any', host: 'any' }],
  inbound: [
    { port: 'any', proto: 'icmp', host: 'any' },
    { port: '200-901', proto: 'tcp', groups: ['a', 'b'], ca_name: 'ca', ca_sha: 'ff' },
    { port: 'fragment', proto: 'any', cidr: '10.1.2.3/16' },
    { port: 443, proto: 'udp', group: ['x'] },
    { port: ' 5 - 9 ', proto: 'tcp', host: null },
    { port: '0-8', proto: 'tcp', cidr: 'fd00::1/64' },
    { port: 53, proto: 'udp', cidr: '::ffff:1.2.3.4/120' },
    { code: 'any', proto: 'icmp', groups: 'g' },
    { port: 4294967376, proto: 'any', host: 'h' },
  ],
};
const MIXED_GO_HASH = '6ea7c3627b3bcd74e4793bd36a3a77b7aefe7ae97b143e92d54e7042cee974e2';

describe('firewallHash recorded from Go 1.6.1', () => {
  it('matches for a config exercising every rule field', () => {
    expect(parseFirewallConfig(MIXED).hash).toBe(MIXED_GO_HASH);
  });
});

describe('live against Go nebula 1.6.1 (nebula -test)', () => {
  let dir = '';
  let nebula = '';
  beforeAll(() => {
    const go = requireGoNebula();
    nebula = go.nebula;
    dir = mkdtempSync(join(tmpdir(), 'nts-fw-'));
    execFileSync(go.nebulaCert, [
      'ca',
      '-name',
      'test-ca',
      '-out-crt',
      join(dir, 'ca.crt'),
      '-out-key',
      join(dir, 'ca.key'),
    ]);
    execFileSync(go.nebulaCert, [
      'sign',
      '-name',
      'host1',
      '-ip',
      '203.0.113.1/24',
      '-ca-crt',
      join(dir, 'ca.crt'),
      '-ca-key',
      join(dir, 'ca.key'),
      '-out-crt',
      join(dir, 'h.crt'),
      '-out-key',
      join(dir, 'h.key'),
    ]);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** JSON is YAML: go-yaml reads it as the same values. */
  function goLoad(firewall: unknown): { hash?: string; error?: string } {
    const cfg = {
      pki: { ca: join(dir, 'ca.crt'), cert: join(dir, 'h.crt'), key: join(dir, 'h.key') },
      tun: { disabled: true },
      listen: { host: '127.0.0.1', port: 0 },
      firewall,
    };
    const file = join(dir, 'c.yml');
    writeFileSync(file, JSON.stringify(cfg));
    const r = spawnSync(nebula, ['-test', '-config', file], { encoding: 'utf8', timeout: 10_000 });
    const out = r.stdout + r.stderr;
    const hash = /firewallHash=([0-9a-f]{64})/.exec(out)?.[1];
    const error = /msg="Error while loading firewall rules" error="((?:[^"\\]|\\.)*)"/.exec(out)?.[1];
    return { ...(hash ? { hash } : {}), ...(error ? { error: error.replace(/\\"/g, '"') } : {}) };
  }

  const ours = (fw: unknown): { hash?: string; error?: string } => {
    try {
      return { hash: parseFirewallConfig(fw).hash };
    } catch (e) {
      return { error: (e as Error).message };
    }
  };

  it.each([
    ['mixed', MIXED],
    ['empty', {}],
    [
      'numbers vs strings',
      {
        inbound: [
          { port: 443, proto: 'tcp', host: 'web', cidr: '198.51.100.7/24' },
          { port: '443', proto: 'tcp', group: 'ops' },
        ],
      },
    ],
    [
      'bad range start',
      {
        inbound: [
          { port: 1, proto: 'any', host: 'a' },
          { port: 'x-5', proto: 'tcp', host: 'h' },
        ],
      },
    ],
    ['group and groups', { inbound: [{ port: 1, proto: 'any', group: 'a', groups: ['b'] }] }],
    ['reversed range', { outbound: [{ port: '5-3', proto: 'any', host: 'h' }] }],
    ['bad cidr', { inbound: [{ port: 1, proto: 'any', cidr: '010.0.0.0/8' }] }],
    ['no selector', { inbound: [{ port: 1, proto: 'any' }] }],
    ['port and code', { inbound: [{ port: 1, code: 1, proto: 'icmp', host: 'a' }] }],
    ['bad proto', { inbound: [{ port: 1, proto: 'sctp', host: 'a' }] }],
    ['not a list', { inbound: 'nope' }],
  ])('%s: same hash or same error as Go', (_n, fw) => {
    const go = goLoad(fw);
    expect(go.hash ?? go.error).toBeTruthy();
    expect(ours(fw)).toEqual(go);
  });
});
