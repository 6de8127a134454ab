import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, parseConfig, parseYaml } from '@nebula-ts/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/index.js';
import { makeTestPki, type TestPki } from './helpers/pki.js';

const example = join(import.meta.dirname, '../examples/config.yml');
let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki?.cleanup());

describe('examples/config.yml', () => {
  it('loads with the documented values', async () => {
    const { config, warnings } = await loadConfig(example);
    expect(warnings).toEqual([]);
    expect(config.listen.port).toBe(4242);
    expect(config.lighthouse.hosts).toEqual(['192.168.100.1']);
    expect(config.firewall.inbound.length).toBe(2);
  });

  it('every commented-out key is valid when uncommented', () => {
    // Uncomment "#key: value" and "#- item" lines (prose never starts with key:), keeping indentation; the second stats block is
    // an alternative to the first, so it is left out.
    const text = readFileSync(example, 'utf8');
    const cut = text.indexOf('#stats:\n#  type: graphite');
    const lines = (text.slice(0, cut) + text.slice(text.indexOf('# [R] The debug SSH server'))).split('\n');
    const out = lines.map((l) => {
      const m = /^(\s*)#(\s*)(("[^"]*"|[\w./-]+):( |$)|- )(.*)$/.exec(l);
      return m ? `${m[1]}${m[2]}${l.slice((m[1] ?? '').length + 1 + (m[2] ?? '').length)}` : l;
    });
    const raw = parseYaml(out.join('\n'));
    const { config } = parseConfig(raw);
    expect(config.stats.type).toBe('prometheus');
    expect(config.tun.unsafe_routes[0]?.via).toBe('192.168.100.99');
    expect(config.tun.routes[0]?.mtu).toBe(8800);
    expect(config.lighthouse.remote_allow_list?.rules.length).toBe(2);
    expect(config.relay.relays).toEqual(['192.168.100.1']);
    expect(config.pki.blocklist.length).toBe(1);
  });

  it('passes -test once the PKI paths point at real files', async () => {
    const text = readFileSync(example, 'utf8')
      .replace('/etc/nebula/ca.crt', pki.ca)
      .replace('/etc/nebula/host.crt', pki.cert)
      .replace('/etc/nebula/host.key', pki.key)
      .replaceAll('192.168.100.1', '203.0.113.1');
    const path = join(pki.dir, 'example.yml');
    writeFileSync(path, text);
    let out = '';
    const code = await main(['-config', path, '-test'], {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: () => undefined },
    });
    expect(out).not.toContain('level=error');
    expect(code).toBe(0);
  });
});
