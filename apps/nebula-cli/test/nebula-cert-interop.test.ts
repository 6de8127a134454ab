/**
 * Interop with Go nebula-cert / nebula 1.6.1: Go-made certificates parsed, verified and printed
 * identically by ours; certificates we make accepted by Go's `verify`, `print -json` and by a Go
 * node's `nebula -test`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAPool, NebulaCertificate, pemDecodeAll } from '@nebula-ts/cert';
import { requireGoNebula } from '@nebula-ts/e2e';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { go, ours, scratch } from './fixtures/cert/harness.js';

const s = scratch('nebula-cert-interop-');
let nebulaBin = '';

beforeAll(() => {
  nebulaBin = requireGoNebula().nebula;
});
afterAll(() => s.cleanup());

function mustGo(args: string[], cwd: string): void {
  const r = go(args, cwd);
  expect(r, `go nebula-cert ${args.join(' ')}`).toMatchObject({ code: 0, stderr: '' });
}

interface CaSpec {
  readonly id: string;
  readonly args: string[];
}
interface HostSpec {
  readonly ca: string;
  readonly name: string;
  readonly args: string[];
}

const CAS: CaSpec[] = [
  { id: 'plain', args: ['-name', 'Plain CA'] },
  {
    id: 'restricted',
    args: [
      '-name',
      'Restricted CA',
      '-groups',
      ' a, b,, c ',
      '-ips',
      '10.1.2.3/16, 172.16.0.0/12',
      '-subnets',
      '192.168.1.7/24,10.99.0.0/16',
      '-duration',
      '100h30m',
    ],
  },
  { id: 'unicode', args: ['-name', 'Ünïcødé "CA" <x>&y\\z', '-groups', 'ops,✓,"q"', '-duration', '20000h'] },
];

const HOSTS: HostSpec[] = [
  { ca: 'plain', name: 'default-duration', args: ['-ip', '10.0.0.1/8'] },
  { ca: 'plain', name: 'host32', args: ['-ip', '192.168.100.1/32', '-duration', '1h'] },
  { ca: 'plain', name: 'anywhere', args: ['-ip', '0.0.0.0/0', '-duration', '90m'] },
  {
    ca: 'plain',
    name: 'many-groups',
    args: [
      '-ip',
      '203.0.113.9/24',
      '-groups',
      'one,two , three,✓ é,<&>',
      '-subnets',
      '10.5.0.0/16,10.6.7.0/24,0.0.0.0/0',
    ],
  },
  {
    ca: 'plain',
    name: 'in-pub',
    args: ['-ip', '203.0.113.10/24', '-in-pub', 'keygen.pub', '-duration', '2h'],
  },
  {
    ca: 'restricted',
    name: 'r1',
    args: ['-ip', '10.1.0.5/16', '-groups', 'a,c', '-subnets', '192.168.1.0/25', '-duration', '2h30m'],
  },
  { ca: 'restricted', name: 'r2', args: ['-ip', '172.16.5.4/30'] },
  {
    ca: 'restricted',
    name: 'r3',
    args: ['-ip', '172.31.255.254/12', '-groups', 'b', '-subnets', '10.99.3.0/24'],
  },
  { ca: 'unicode', name: 'u1', args: ['-ip', '100.64.0.1/10', '-groups', '✓,"q"'] },
];

describe('Go-made certificates', () => {
  let dir = '';
  const crts: string[] = [];

  beforeAll(() => {
    dir = s.dir();
    mustGo(['keygen', '-out-key', 'keygen.key', '-out-pub', 'keygen.pub'], dir);
    for (const ca of CAS)
      mustGo(['ca', ...ca.args, '-out-key', `${ca.id}.key`, '-out-crt', `${ca.id}.crt`], dir);
    for (const h of HOSTS) {
      mustGo(['sign', '-ca-key', `${h.ca}.key`, '-ca-crt', `${h.ca}.crt`, '-name', h.name, ...h.args], dir);
    }
    crts.push(...CAS.map((c) => `${c.id}.crt`), ...HOSTS.map((h) => `${h.name}.crt`));
    writeFileSync(join(dir, 'bundle.crt'), crts.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n'));
    writeFileSync(
      join(dir, 'cas.crt'),
      CAS.map((c) => readFileSync(join(dir, `${c.id}.crt`), 'utf8')).join(''),
    );
  });

  it('re-encode byte-identically and keep their fingerprints (library)', () => {
    for (const f of crts) {
      const blocks = pemDecodeAll(readFileSync(join(dir, f)));
      expect(blocks).toHaveLength(1);
      const cert = NebulaCertificate.fromBytes(blocks[0]?.bytes as Uint8Array);
      expect(Buffer.from(cert.toBytes()).equals(Buffer.from(blocks[0]?.bytes as Uint8Array)), f).toBe(true);
      expect(cert.toPem()).toBe(readFileSync(join(dir, f), 'utf8'));
    }
  });

  it('print and print -json are byte-equal to Go, per file and for a bundle of all of them', async () => {
    for (const f of [...crts, 'bundle.crt']) {
      for (const extra of [[], ['-json']]) {
        const args = ['print', ...extra, '-path', f];
        const theirs = go(args, dir);
        expect(theirs.code).toBe(0);
        expect(await ours(args, dir), args.join(' ')).toEqual(theirs);
      }
    }
  });

  it('verify: ours agrees with Go for every host against every CA file', async () => {
    let accepted = 0;
    for (const h of HOSTS) {
      for (const caFile of ['plain.crt', 'restricted.crt', 'unicode.crt', 'cas.crt']) {
        const args = ['verify', '-ca', caFile, '-crt', `${h.name}.crt`];
        const theirs = go(args, dir);
        expect(await ours(args, dir), args.join(' ')).toEqual(theirs);
        if (theirs.code === 0) accepted++;
      }
    }
    // Each host verifies against its own CA file and the bundle of all CAs, and nothing else.
    expect(accepted).toBe(HOSTS.length * 2);
  });

  it('the library pool verifies what Go verifies, with the parsed details Go printed', () => {
    const { pool, expired } = CAPool.fromPem(readFileSync(join(dir, 'cas.crt')));
    expect(expired).toEqual([]);
    for (const h of HOSTS) {
      const cert = NebulaCertificate.fromPem(readFileSync(join(dir, `${h.name}.crt`))).cert;
      const json = JSON.parse(go(['print', '-json', '-path', `${h.name}.crt`], dir).stdout);
      expect(pool.verify(cert).fingerprint()).toBe(cert.issuer === '' ? '' : cert.issuer);
      expect(cert.toJSON()).toEqual(json);
    }
  });

  it('-out-qr writes a PNG of the same size as Go (same QR version for the same PEM)', async () => {
    const pngSize = (p: string) => {
      const b = readFileSync(join(dir, p));
      expect(b.subarray(1, 4).toString()).toBe('PNG');
      return [b.readUInt32BE(16), b.readUInt32BE(20)];
    };
    for (const f of ['plain.crt', 'many-groups.crt', 'cas.crt']) {
      mustGo(['print', '-path', f, '-out-qr', `go-${f}.png`], dir);
      const r = await ours(['print', '-path', f, '-out-qr', `ts-${f}.png`], dir);
      expect(r.code).toBe(0);
      expect(pngSize(`ts-${f}.png`)).toEqual(pngSize(`go-${f}.png`));
    }
    // A certificate whose PEM the qrcode package alone fits in one version less than go-qrcode
    // (385 px against 405): the segmentation must follow go-qrcode's.
    const fixture = join(import.meta.dirname, 'fixtures/cert/qr-version-regression.crt');
    writeFileSync(join(dir, 'regression.crt'), readFileSync(fixture));
    mustGo(['print', '-path', 'regression.crt', '-out-qr', 'go-regression.png'], dir);
    expect((await ours(['print', '-path', 'regression.crt', '-out-qr', 'ts-regression.png'], dir)).code).toBe(
      0,
    );
    expect(pngSize('ts-regression.png')).toEqual(pngSize('go-regression.png'));
    // Too much for one QR code: the same refusal (after printing the certificates).
    const args = ['print', '-path', 'bundle.crt', '-out-qr', 'x.png'];
    expect(await ours(args, dir)).toEqual(go(args, dir));
  });
});

describe('certificates we make', () => {
  let dir = '';

  beforeAll(async () => {
    dir = s.dir();
    const run = async (args: string[]) =>
      expect(await ours(args, dir), args.join(' ')).toMatchObject({ code: 0, stderr: '' });
    await run([
      'ca',
      '-name',
      'TS CA',
      '-groups',
      'lab,ops',
      '-ips',
      '203.0.113.0/24',
      '-subnets',
      '10.0.0.0/8',
    ]);
    await run([
      'ca',
      '-name',
      'TS Free CA',
      '-out-key',
      'free.key',
      '-out-crt',
      'free.crt',
      '-duration',
      '48h',
    ]);
    await run(['keygen', '-out-key', 'k.key', '-out-pub', 'k.pub']);
    await run([
      'sign',
      '-name',
      'host1',
      '-ip',
      '203.0.113.1/24',
      '-groups',
      'lab',
      '-subnets',
      '10.1.0.0/16',
    ]);
    await run(['sign', '-name', 'host2', '-ip', '203.0.113.2/25', '-in-pub', 'k.pub', '-duration', '3h']);
    await run([
      'sign',
      '-ca-key',
      'free.key',
      '-ca-crt',
      'free.crt',
      '-name',
      'host3',
      '-ip',
      '10.9.8.7/16',
      '-groups',
      'x,y',
    ]);
  });

  it("pass Go's nebula-cert verify", () => {
    for (const [ca, crt] of [
      ['ca.crt', 'host1.crt'],
      ['ca.crt', 'host2.crt'],
      ['free.crt', 'host3.crt'],
    ]) {
      expect(go(['verify', '-ca', ca as string, '-crt', crt as string], dir), crt).toEqual({
        code: 0,
        stdout: '',
        stderr: '',
      });
    }
  });

  it("show in Go's print -json exactly what we put in", () => {
    const j = (f: string) => JSON.parse(go(['print', '-json', '-path', f], dir).stdout);
    const ca = j('ca.crt');
    expect(ca.details).toMatchObject({
      name: 'TS CA',
      groups: ['lab', 'ops'],
      ips: ['203.0.113.0/24'],
      subnets: ['10.0.0.0/8'],
      isCa: true,
      issuer: '',
    });
    expect(Date.parse(ca.details.notAfter) - Date.parse(ca.details.notBefore)).toBe(8760 * 3600 * 1000);
    const h1 = j('host1.crt');
    expect(h1.details).toMatchObject({
      name: 'host1',
      groups: ['lab'],
      ips: ['203.0.113.1/24'],
      subnets: ['10.1.0.0/16'],
      isCa: false,
      issuer: ca.fingerprint,
    });
    // Default duration: one second before the CA expires.
    expect(Date.parse(h1.details.notAfter)).toBe(Date.parse(ca.details.notAfter) - 1000);
    const h2 = j('host2.crt');
    expect(h2.details.publicKey).toBe(
      Buffer.from(readFileSync(join(dir, 'k.pub'), 'utf8').split('\n')[1] as string, 'base64').toString(
        'hex',
      ),
    );
    expect(Date.parse(h2.details.notAfter) - Date.parse(h2.details.notBefore)).toBe(3 * 3600 * 1000);
    expect(j('host3.crt').details).toMatchObject({ name: 'host3', groups: ['x', 'y'], ips: ['10.9.8.7/16'] });
  });

  it('our print equals Go print for our files', async () => {
    for (const f of ['ca.crt', 'free.crt', 'host1.crt', 'host2.crt', 'host3.crt']) {
      for (const extra of [[], ['-json']]) {
        const args = ['print', ...extra, '-path', f];
        expect(await ours(args, dir)).toEqual(go(args, dir));
      }
    }
  });

  it('are accepted by a Go node: nebula -config X -test exits 0 (and 1 with a foreign key)', () => {
    const config = (key: string) => `pki:
  ca: ${join(dir, 'ca.crt')}
  cert: ${join(dir, 'host1.crt')}
  key: ${join(dir, key)}
static_host_map: {}
lighthouse:
  am_lighthouse: false
listen:
  host: 127.0.0.1
  port: 0
tun:
  disabled: true
firewall:
  outbound:
    - port: any
      proto: any
      host: any
  inbound:
    - port: any
      proto: any
      host: any
`;
    writeFileSync(join(dir, 'good.yml'), config('host1.key'));
    writeFileSync(join(dir, 'bad.yml'), config('k.key'));
    const test = (cfg: string) =>
      spawnSync(nebulaBin, ['-config', join(dir, cfg), '-test'], { encoding: 'utf8', timeout: 20_000 });
    const good = test('good.yml');
    expect(good.status, good.stderr + good.stdout).toBe(0);
    const bad = test('bad.yml');
    expect(bad.status).toBe(1);
    expect(bad.stderr + bad.stdout).toContain('private key is not a pair with public key in nebula cert');
  });

  it('files are written with mode 0600 like Go', async () => {
    const { statSync } = await import('node:fs');
    for (const f of ['ca.key', 'ca.crt', 'host1.key', 'host1.crt', 'k.key', 'k.pub']) {
      expect((statSync(join(dir, f)).mode & 0o777).toString(8), f).toBe('600');
    }
  });
});

describe('local time zones print the same as Go', () => {
  it.each([
    'Europe/Berlin',
    'Asia/Kolkata',
    'America/St_Johns',
    'America/Sao_Paulo',
    'Etc/GMT+5',
    '',
    'No/Such_Zone',
  ])('TZ=%j', async (tz) => {
    const dir = s.dir();
    mustGo(['ca', '-name', 'tz', '-duration', '5000h'], dir);
    const saved = process.env.TZ;
    process.env.TZ = tz;
    try {
      for (const extra of [[], ['-json']]) {
        const args = ['print', ...extra, '-path', 'ca.crt'];
        expect(await ours(args, dir)).toEqual(go(args, dir));
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

describe('decoder parity on mutated input (differential fuzz against Go print)', () => {
  it('bit flips, truncations, splices and PEM damage: same stdout, stderr and exit code', async () => {
    const dir = s.dir();
    mustGo(
      ['ca', '-name', 'Fuzz', '-groups', 'a,b', '-ips', '10.0.0.0/8', '-subnets', '192.168.0.0/16'],
      dir,
    );
    mustGo(
      ['sign', '-name', 'host', '-ip', '10.1.2.3/16', '-groups', 'a', '-subnets', '192.168.3.0/24'],
      dir,
    );
    const seeds = ['ca.crt', 'host.crt'].map(
      (f) => pemDecodeAll(readFileSync(join(dir, f)))[0]?.bytes as Uint8Array,
    );
    const pemOf = (b: Uint8Array) =>
      `-----BEGIN NEBULA CERTIFICATE-----\n${Buffer.from(b).toString('base64')}\n-----END NEBULA CERTIFICATE-----\n`;
    // Each case spawns Go twice: a tenth of FUZZ_RUNS, capped so a deep run stays under the timeout.
    const runs = Math.min(1500, Math.max(40, Math.floor(Number(process.env.FUZZ_RUNS ?? 2000) / 10)));
    const mutations = fc.sample(
      fc.oneof(
        fc
          .tuple(
            fc.constantFrom(...seeds),
            fc.array(fc.tuple(fc.nat(), fc.nat(7)), { minLength: 1, maxLength: 4 }),
          )
          .map(([seed, flips]) => {
            const b = seed.slice();
            for (const [pos, bit] of flips) b[pos % b.length] = (b[pos % b.length] as number) ^ (1 << bit);
            return pemOf(b);
          }),
        fc
          .tuple(fc.constantFrom(...seeds), fc.nat())
          .map(([seed, n]) => pemOf(seed.subarray(0, n % seed.length))),
        fc
          .tuple(fc.constantFrom(...seeds), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 12 }))
          .map(([seed, at, junk]) => {
            const i = at % seed.length;
            return pemOf(new Uint8Array([...seed.subarray(0, i), ...junk, ...seed.subarray(i)]));
          }),
        fc
          .tuple(fc.constantFrom(...seeds), fc.nat(), fc.string({ minLength: 1, maxLength: 3 }))
          .map(([seed, at, junk]) => {
            const p = pemOf(seed);
            const i = at % p.length;
            return p.slice(0, i) + junk + p.slice(i + 1);
          }),
      ),
      { numRuns: runs, seed: 0x6e656275 },
    );
    let mismatches = 0;
    for (const [k, text] of mutations.entries()) {
      writeFileSync(join(dir, `m${k}.crt`), text);
      for (const extra of [[], ['-json']]) {
        const args = ['print', ...extra, '-path', `m${k}.crt`];
        const a = await ours(args, dir);
        const b = go(args, dir);
        if (JSON.stringify(a) !== JSON.stringify(b)) mismatches++;
        expect(a, `${args.join(' ')}: ${JSON.stringify(text)}`).toEqual(b);
      }
    }
    expect(mismatches).toBe(0);
  }, 300_000);
});

describe('edge encodings print the same as Go', () => {
  it('extreme times, non-contiguous masks, empty fields, long PublicKey', async () => {
    const dir = s.dir();
    const base = NebulaCertificate.fromPem(
      (() => {
        mustGo(['ca', '-name', 'E'], dir);
        return readFileSync(join(dir, 'ca.crt'));
      })(),
    ).cert;
    const variants = [
      { ...base.details, notBefore: -62_135_596_801, notAfter: 253_402_300_800 }, // years 0000 and 10000
      { ...base.details, notBefore: 0, notAfter: -1, name: '' },
      { ...base.details, notBefore: 4_000_000_000_000, notAfter: -4_000_000_000_000 },
      { ...base.details, ips: [{ addr: 0x0a000001, mask: 0xff00ff00 }], subnets: [{ addr: 1, mask: 0 }] },
      { ...base.details, publicKey: new Uint8Array(40).fill(7), groups: ['', ' '] },
    ];
    const pem = variants.map((d) => NebulaCertificate.create(d, base.signature).toPem()).join('');
    writeFileSync(join(dir, 'edge.crt'), pem);
    for (const extra of [[], ['-json']]) {
      const args = ['print', ...extra, '-path', 'edge.crt'];
      const theirs = go(args, dir);
      expect(theirs.code).toBe(0);
      expect(await ours(args, dir)).toEqual(theirs);
    }
  });
});
