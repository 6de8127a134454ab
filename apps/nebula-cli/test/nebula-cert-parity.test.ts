/**
 * Differential tests: the same arguments on the same files, our nebula-cert vs Go's 1.6.1 binary.
 * stdout, stderr and the exit code must be identical (usage texts, flag errors, refusals).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireGoNebula } from '@nebula-ts/e2e';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { go, listing, ours, scratch } from './fixtures/cert/harness.js';

const s = scratch('nebula-cert-parity-');
let seeded = '';

beforeAll(async () => {
  requireGoNebula();
  // One Go-made CA (restricted) and host key material every case starts from.
  seeded = s.dir();
  const madeAt = Math.floor(Date.now() / 1000);
  const ok = [
    go(
      ['ca', '-name', 'Parity CA', '-groups', 'a,b', '-ips', '10.1.0.0/16', '-subnets', '192.168.0.0/16'],
      seeded,
    ),
    go(['ca', '-name', 'Other CA', '-out-key', 'other.key', '-out-crt', 'other.crt'], seeded),
    go(['ca', '-name', 'Old CA', '-duration', '1s', '-out-key', 'old.key', '-out-crt', 'old.crt'], seeded),
    go(['keygen', '-out-key', 'host.key', '-out-pub', 'host.pub'], seeded),
    go(['sign', '-name', 'h', '-ip', '10.1.0.1/16', '-groups', 'a'], seeded),
    go(['sign', '-name', 'old-host', '-ip', '10.1.0.2/16', '-duration', '1s'], seeded),
  ];
  for (const r of ok) expect(r).toMatchObject({ code: 0, stderr: '' });
  // The 1 s "old" CA and host must already be expired for every case, or ours and Go's runs can
  // straddle the expiry second. NotAfter is whole seconds, so wait until 3 s after creation (bounded).
  while (Math.floor(Date.now() / 1000) < madeAt + 3) await new Promise((r) => setTimeout(r, 100));
  const pem = (banner: string, b64: string) => `-----BEGIN ${banner}-----\n${b64}\n-----END ${banner}-----\n`;
  const files: Record<string, string> = {
    'garbage.crt': 'this is not a certificate\n',
    'empty.crt': '',
    'wrongbanner.crt': pem('CERTIFICATE', 'AAAA'),
    'badproto.crt': pem('NEBULA CERTIFICATE', 'CgUKA2FiYw=='),
    'shortkey.crt': pem('NEBULA CERTIFICATE', 'CgI6AQ=='),
    'utf8.crt': pem('NEBULA CERTIFICATE', 'CgQKAsMo'),
    'nodetails.crt': pem('NEBULA CERTIFICATE', 'EgA='),
    'short.key': pem('NEBULA ED25519 PRIVATE KEY', 'AAAA'),
    'short.pub': pem('NEBULA X25519 PUBLIC KEY', 'AAAA'),
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(seeded, name), text);
});

afterAll(() => s.cleanup());

async function compare(args: string[], opts: { seed?: boolean; files?: boolean } = {}) {
  const a = s.dir(opts.seed ? seeded : undefined);
  const b = s.dir(opts.seed ? seeded : undefined);
  const mine = await ours(args, a);
  const theirs = go(args, b);
  expect(mine, `nebula-cert ${args.join(' ')}`).toEqual(theirs);
  if (opts.files) expect(listing(a)).toEqual(listing(b));
  return mine;
}

const MODES = ['ca', 'keygen', 'sign', 'print', 'verify'];

describe('usage, flags and help match Go byte for byte', () => {
  const cases: string[][] = [
    [],
    ['-h'],
    ['-help'],
    ['-version'],
    ['-version', 'ca'],
    ['-bogus'],
    ['bogus'],
    ['-h', 'ca'],
    ['-h', 'sign'],
    ...MODES.flatMap((m) => [[m, '-h'], [m, '-help'], [m, '--help'], [m], [m, '-bogus'], [m, '-bad=x']]),
    ['ca', '-name'],
    ['ca', '-name', ''],
    ['ca', '---name=x'],
    ['ca', '-=x'],
    ['ca', '-name', 'x', '-duration', '0'],
    ['ca', '-name', 'x', '-duration', '-1h'],
    ['ca', '-name', 'x', '-duration', 'abc'],
    ['ca', '-name', 'x', '-duration', '1h2'],
    ['ca', '-name', 'x', '-duration', '99999999999h'],
    ['ca', '-name', 'x', '-ips', 'bad'],
    ['ca', '-name', 'x', '-ips', '10.0.0.1/8,fe80::1/64'],
    ['ca', '-name', 'x', '-ips', '10.0.0.1/33'],
    ['ca', '-name', 'x', '-ips', '010.0.0.1/8'],
    ['ca', '-name', 'x', '-subnets', '1.2.3.4'],
    ['ca', '-name', 'x', '-subnets', '2001:db8::/32'],
    ['ca', '-name', 'x', '-out-key', ''],
    ['ca', '-name', 'x', '-out-key', '/nonexistent/dir/ca.key'],
    ['keygen', '-out-key', 'k'],
    ['keygen', '-out-key', '/nonexistent/k', '-out-pub', 'p'],
    ['sign', '-name', 'h'],
    ['sign', '-name', 'h', '-ip', '10.0.0.1/8'],
    ['sign', '-name', 'h', '-ip', '10.0.0.1/8', '-in-pub', 'p', '-out-key', 'k'],
    ['sign', '-ca-key', '', '-name', 'h', '-ip', '10.0.0.1/8'],
    ['print', '-path', 'nope'],
    ['print', '-path', '/'],
    ['print', '-json=maybe', '-path', 'x'],
    ['print', '-path'],
    ['verify', '-ca', 'x'],
    ['verify', '-ca', 'x', '-crt', 'y'],
  ];
  it.each(cases.map((c) => [c.join(' ') || '(no args)', c]))('%s', async (_, args) => {
    await compare(args as string[]);
  });
});

describe('refusals and bad input on real files match Go', () => {
  const cases: string[][] = [
    // root constraints
    ['sign', '-name', 'x', '-ip', '10.2.0.1/16'],
    ['sign', '-name', 'x', '-ip', '10.1.0.2/8'],
    ['sign', '-name', 'x', '-ip', '10.1.0.3/16', '-groups', 'a,c'],
    ['sign', '-name', 'x', '-ip', '10.1.0.4/16', '-subnets', '10.0.0.0/8'],
    ['sign', '-name', 'x', '-ip', '10.1.0.4/16', '-subnets', '192.168.0.0/15'],
    ['sign', '-name', 'x', '-ip', '10.1.0.4/16', '-duration', '999999h'],
    ['sign', '-name', 'x', '-ip', 'fe80::1/64'],
    ['sign', '-name', 'x', '-ip', '10.1.0.4/16', '-subnets', 'nope'],
    // overwrite refusals
    ['ca', '-name', 'again'],
    ['ca', '-name', 'again', '-out-key', 'fresh.key'],
    ['sign', '-name', 'h', '-ip', '10.1.0.9/16'],
    ['sign', '-name', 'h2', '-ip', '10.1.0.9/16', '-out-key', 'host.key'],
    // mismatched / wrong keys and certs
    ['sign', '-name', 'x', '-ip', '10.1.0.5/16', '-ca-key', 'other.key'],
    ['sign', '-name', 'x', '-ip', '10.1.0.5/16', '-ca-key', 'host.key'],
    ['sign', '-name', 'x', '-ip', '10.1.0.5/16', '-ca-key', 'short.key'],
    ['sign', '-name', 'x', '-ip', '10.1.0.5/16', '-ca-crt', 'garbage.crt'],
    ['sign', '-name', 'x', '-ip', '10.1.0.5/16', '-ca-crt', 'badproto.crt'],
    ['sign', '-name', 'x', '-ip', '10.1.0.5/16', '-ca-key', 'old.key', '-ca-crt', 'old.crt'],
    ['sign', '-name', 'x', '-ip', '10.1.0.5/16', '-in-pub', 'host.key'],
    ['sign', '-name', 'x', '-ip', '10.1.0.5/16', '-in-pub', 'short.pub'],
    ['sign', '-name', 'x', '-ip', '10.1.0.5/16', '-in-pub', 'missing.pub'],
    // print / verify of bad files
    ...['garbage', 'empty', 'wrongbanner', 'badproto', 'shortkey', 'utf8', 'nodetails'].flatMap((f) => [
      ['print', '-path', `${f}.crt`],
      ['verify', '-ca', 'ca.crt', '-crt', `${f}.crt`],
      ['verify', '-ca', `${f}.crt`, '-crt', 'h.crt'],
    ]),
    ['print', '-path', 'ca.key'],
    ['verify', '-ca', 'h.crt', '-crt', 'h.crt'],
    ['verify', '-ca', 'ca.crt', '-crt', 'ca.crt'],
    ['verify', '-ca', 'other.crt', '-crt', 'h.crt'],
    ['verify', '-ca', 'old.crt', '-crt', 'h.crt'],
    ['verify', '-ca', 'ca.crt', '-crt', 'missing.crt'],
    ['verify', '-ca', 'ca.crt', '-crt', 'h.crt'],
    ['verify', '-ca', 'ca.crt', '-crt', 'old-host.crt'],
    ['verify', '-ca', 'ca.crt,other.crt', '-crt', 'h.crt'],
    ['sign', '-name', 'x', '-ip', '10.1.0.5/16', '-ca-crt', 'h.crt'],
    ['sign', '-name', 'x', '-ip', '10.1.0.5/16', '-ca-crt', 'h.crt', '-ca-key', 'h.key'],
    ['sign', '-name=', '-ip', '10.1.0.5/16'],
    ['sign', '-name', 'a', '-name', 'dup', '-ip', '10.1.0.6/16', '-groups', ' a , ,b,'],
    // successful runs: same files written, same modes (QR codes too)
    ['ca', '-name', 'Q', '-out-key', 'q.key', '-out-crt', 'q.crt', '-out-qr', 'q.png'],
    ['sign', '-name', 'qh', '-ip', '10.1.0.7/16', '-out-qr', 'qh.png'],
    ['sign', '-name', 'pubonly', '-ip', '10.1.0.8/16', '-in-pub', 'host.pub'],
    ['keygen', '-out-key', 'host.key', '-out-pub', 'new.pub'],
    ['print', '-json=false', '-path', 'ca.crt'],
    ['print', '-json=1', '-path', 'h.crt', 'ignored', '-json=0'],
    ['print', '-path', 'ca.crt', '-out-qr', 'ca.png'],
  ];
  it.each(cases.map((c) => [c.join(' '), c]))('%s', async (_, args) => {
    // The 1 s "Old CA" and "old-host" must have expired before their cases run.
    if ((args as string[]).some((a) => a.startsWith('old'))) await new Promise((r) => setTimeout(r, 1100));
    await compare(args as string[], { seed: true, files: true });
  });

  it('a bundle whose second block is broken prints the first, then fails', async () => {
    const d = s.dir(seeded);
    writeFileSync(join(d, 'bundle.crt'), `${readFileSync(join(d, 'ca.crt'), 'utf8')}garbage`);
    expect(await ours(['print', '-path', join(d, 'bundle.crt')], d)).toEqual(
      go(['print', '-path', 'bundle.crt'], d),
    );
  });
});
