/** Our nebula-cert on its own: Go duration syntax, garbage input, and the built executable. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGoDuration } from '../src/nebula-cert/index.js';
import { ours, scratch } from './fixtures/cert/harness.js';

const s = scratch('nebula-cert-cli-');
afterAll(() => s.cleanup());
const numRuns = Number(process.env.FUZZ_RUNS ?? 2000);

describe('Go duration syntax', () => {
  it.each([
    ['8760h0m0s', 8760n * 3600n * 10n ** 9n],
    ['1h', 3600n * 10n ** 9n],
    ['30m', 1800n * 10n ** 9n],
    ['1.5h', 5400n * 10n ** 9n],
    ['.5s', 5n * 10n ** 8n],
    ['1h2m3s4ms5us6ns', 3723004005006n],
    ['1µs', 1000n],
    ['-2m', -120n * 10n ** 9n],
    ['+3s', 3n * 10n ** 9n],
    ['0', 0n],
    ['2562047h47m16.854775807s', (1n << 63n) - 1n],
  ])('%s', (text, ns) => {
    expect(parseGoDuration(text)).toBe(ns);
  });
  it.each(['', '1', '1h2', 'h', '.h', '1d', '--1s', '2562047h47m16.854775808s', '1.2.3s', ' 1s'])(
    'rejects %j',
    (text) => {
      expect(parseGoDuration(text)).toBeNull();
    },
  );
});

describe('bad input never crashes the CLI', () => {
  it('random bytes or mangled PEM as -path / -ca / -crt / -ca-key / -in-pub: exit 1 with one Error line', async () => {
    const dir = s.dir();
    expect((await ours(['ca', '-name', 'Fuzz CA'], dir)).code).toBe(0);
    const good = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const content = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.tuple(fc.nat(), fc.string({ maxLength: 3 })).map(([at, junk]) => {
        const i = at % good.length;
        return good.slice(0, i) + junk + good.slice(i + 1);
      }),
      fc.nat().map((n) => good.slice(0, n % good.length)),
    );
    const modes = [
      (f: string) => ['print', '-path', f],
      (f: string) => ['print', '-json', '-path', f],
      (f: string) => ['verify', '-ca', f, '-crt', 'ca.crt'],
      (f: string) => ['verify', '-ca', 'ca.crt', '-crt', f],
      (f: string) => ['sign', '-name', 'x', '-ip', '10.0.0.1/8', '-ca-key', f, '-out-crt', 'never.crt'],
      (f: string) => ['sign', '-name', 'x', '-ip', '10.0.0.1/8', '-ca-crt', f, '-out-crt', 'never.crt'],
      (f: string) => ['sign', '-name', 'x', '-ip', '10.0.0.1/8', '-in-pub', f, '-out-crt', 'never.crt'],
    ];
    await fc.assert(
      fc.asyncProperty(content, fc.integer({ min: 0, max: modes.length - 1 }), async (bytes, m) => {
        writeFileSync(join(dir, 'input'), bytes);
        const r = await ours((modes[m] as (f: string) => string[])('input'), dir);
        if (r.code === 0) {
          // A mangling that still parses (e.g. in whitespace) is fine.
          rmSync(join(dir, 'never.crt'), { force: true });
          rmSync(join(dir, 'x.key'), { force: true });
          return;
        }
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/^Error: [^\n]+\n/);
        expect(existsSync(join(dir, 'never.crt'))).toBe(false);
      }),
      { numRuns: Math.max(50, Math.floor(numRuns / 10)) },
    );
  });
});

describe('the built executable', () => {
  const bin = fileURLToPath(new URL('../dist/bin/nebula-cert.js', import.meta.url));

  it('runs with a node shebang, prints the version and exits 1 on errors', () => {
    if (!existsSync(bin))
      throw new Error(`build first: pnpm turbo run build --filter=@nebula-ts/nebula-cli... (${bin})`);
    const dir = s.dir();
    const v = spawnSync(process.execPath, [bin, '-version'], { encoding: 'utf8' });
    expect(v).toMatchObject({ status: 0, stdout: 'Version: 1.6.1\n', stderr: '' });
    const bad = spawnSync(process.execPath, [bin, 'print', '-path', 'missing'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(bad).toMatchObject({
      status: 1,
      stdout: '',
      stderr: 'Error: unable to read cert; open missing: no such file or directory\n',
    });
    const ca = spawnSync(process.execPath, [bin, 'ca', '-name', 'Bin CA'], { cwd: dir, encoding: 'utf8' });
    expect(ca.status).toBe(0);
    expect(existsSync(join(dir, 'ca.crt')) && existsSync(join(dir, 'ca.key'))).toBe(true);
  });
});
