import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, VERSION } from '../src/index.js';
import { makeTestPki, type TestPki } from './helpers/pki.js';

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki?.cleanup());

function config(extra = '', over: { cert?: string; key?: string } = {}): string {
  return `pki: {ca: ${pki.ca}, cert: ${over.cert ?? pki.cert}, key: ${over.key ?? pki.key}}
static_host_map: {"203.0.113.1": ["198.51.100.1:4242"]}
lighthouse: {hosts: ["203.0.113.1"], interval: 60}
listen: {port: 4242}
firewall:
  outbound: [{port: any, proto: any, host: any}]
  inbound: [{port: any, proto: icmp, host: any}]
${extra}`;
}

let n = 0;
function file(text: string): string {
  const p = join(pki.dir, `c${++n}.yml`);
  writeFileSync(p, text);
  return p;
}

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

describe('nebula -test', () => {
  it('a good config: prints the merged config, firewall hash, exit 0', async () => {
    const r = await run(['-config', file(config()), '-test']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^time="[^"]+" level=info msg="firewall:\\n {2}inbound:\\n {2}- host: any\\n/);
    expect(r.stdout).toMatch(/level=info msg="Firewall started" firewallHash=[0-9a-f]{64}/);
    expect(r.stdout).not.toContain('level=error');
  });

  it('a directory of files is merged', async () => {
    const { mkdirSync } = await import('node:fs');
    const d = join(pki.dir, 'confdir');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, '00.yml'), config());
    writeFileSync(join(d, '10.yml'), 'firewall:\n  inbound: [{port: 22, proto: tcp, host: any}]\n');
    const r = await run(['-test', '-config', d]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'inbound:\\n  - host: any\\n    port: 22\\n    proto: tcp\\n  - host: any\\n    port: any\\n    proto: icmp',
    );
  });

  it.each([
    [
      'listen: {port: abc}',
      'level=error msg="Failed to start" error="listen.port: expected an integer, got \\"abc\\""',
    ],
    ['cipher: foo', 'error="cipher: unknown cipher: foo"'],
    [
      'tun: {routes: [{mtu: 100, route: 203.0.113.0/25}]}',
      'error="tun.routes[0].mtu: must be >= 500, got 100"',
    ],
    ['stats: {type: prometheus, interval: 10s}', 'error="stats.listen: stats.listen should not be empty"'],
  ])('a bad value (%s) exits 1 naming the path', async (extra, expected) => {
    const r = await run(['-config', file(config(extra)), '-test']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(expected);
  });

  it('a bad firewall rule exits 1 with the firewall message', async () => {
    const r = await run(['-config', file(config().replace('proto: icmp', 'proto: bogus')), '-test']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'level=error msg="Error while loading firewall rules" error="firewall.inbound rule #0; proto was not understood; `bogus`"',
    );
  });

  it('PKI problems exit 1: missing file, foreign cert, mismatched key', async () => {
    const missing = await run(['-config', file(config('', { cert: join(pki.dir, 'nope.crt') })), '-test']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain(
      `error="unable to read pki.cert file ${join(pki.dir, 'nope.crt')}: ENOENT`,
    );
    const foreign = await run([
      '-config',
      file(config('', { cert: pki.foreignCert, key: pki.foreignKey })),
      '-test',
    ]);
    expect(foreign.code).toBe(1);
    expect(foreign.stdout).toContain('error="pki.cert is not valid for pki.ca: ');
    const mismatch = await run(['-config', file(config('', { key: pki.foreignKey })), '-test']);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stdout).toContain("public key in cert and private key supplied don't match");
  });

  it('overlay addresses outside the cert network exit 1', async () => {
    const r = await run([
      '-config',
      file(config().replace('hosts: ["203.0.113.1"]', 'hosts: ["10.0.0.1"]')),
      '-test',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'error="lighthouse host 10.0.0.1 is not in our subnet 203.0.113.0/24, invalid"',
    );
  });

  it('YAML errors and missing paths: "failed to load config", exit 1', async () => {
    const r = await run(['-config', join(pki.dir, 'missing.yml'), '-test']);
    expect(r).toMatchObject({
      code: 1,
      stdout: `failed to load config: no config files found at ${join(pki.dir, 'missing.yml')}\n`,
    });
    const y = await run(['-config', file('pki: {ca: [\n'), '-test']);
    expect(y.code).toBe(1);
    expect(y.stdout).toMatch(/^failed to load config: .*c\d+\.yml: /);
  });

  it('logging.format json applies after the config print, as in 1.6.1', async () => {
    const r = await run(['-config', file(config('logging: {format: json}')), '-test']);
    expect(r.code).toBe(0);
    const [first, ...rest] = r.stdout.trim().split('\n');
    expect(first).toMatch(/^time=/);
    for (const l of rest) expect(() => JSON.parse(l)).not.toThrow();
  });
});

describe('nebula flags', () => {
  it("-version prints Go's format", async () => {
    expect(await run(['-version'])).toEqual({ code: 0, stdout: `Version: ${VERSION}\n`, stderr: '' });
    expect(VERSION).toMatch(/^1\.6\.1\+nebula-ts\.\d+\.\d+\.\d+/);
  });

  it('-help prints usage to stderr, exit 0; no -config exits 1', async () => {
    const h = await run(['-help']);
    expect(h.code).toBe(0);
    expect(h.stderr).toMatch(/^Usage of nebula:\n {2}-config string\n/);
    const none = await run([]);
    expect(none).toMatchObject({ code: 1, stdout: '-config flag must be set\n' });
    const bad = await run(['-nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^flag provided but not defined: -nope\nUsage of nebula:/);
  });
});

describe('the built binary', () => {
  const bin = join(import.meta.dirname, '../dist/bin/nebula.js');
  const exec = (args: string[]) =>
    new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [bin, ...args], { timeout: 20_000 }, (err, stdout) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout });
      });
    });

  it('exists (run pnpm turbo run build --filter=@nebula-ts/nebula-cli... first)', () => {
    expect(existsSync(bin)).toBe(true);
  });

  it('exit codes match: 0 good, 1 bad, 2 bad flag', async () => {
    expect((await exec(['-config', file(config()), '-test'])).code).toBe(0);
    expect((await exec(['-config', file(config('cipher: foo')), '-test'])).code).toBe(1);
    expect((await exec(['-bogus'])).code).toBe(2);
  });
});
