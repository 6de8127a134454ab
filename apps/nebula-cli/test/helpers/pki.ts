import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateEd25519KeyPair,
  generateX25519KeyPair,
  NebulaCertificate,
  x25519PrivateKeyToPem,
} from '@nebula-ts/cert';

export interface TestPki {
  readonly dir: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** A cert signed by a different CA. */
  readonly foreignCert: string;
  readonly foreignKey: string;
  cleanup(): void;
}

const ip = (a: number, b: number, c: number, d: number): number =>
  ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

function makeCa(name: string, now: number) {
  const kp = generateEd25519KeyPair();
  const ca = NebulaCertificate.create({
    name,
    ips: [],
    subnets: [],
    groups: [],
    notBefore: now - 60,
    notAfter: now + 86_400,
    publicKey: kp.publicKey,
    isCA: true,
    issuer: '',
  }).sign(kp.privateKey);
  return { ca, key: kp.privateKey };
}

function makeHost(ca: { ca: NebulaCertificate; key: Uint8Array }, name: string, now: number) {
  const kp = generateX25519KeyPair();
  const cert = NebulaCertificate.create({
    name,
    ips: [{ addr: ip(203, 0, 113, 11), mask: 0xffffff00 }],
    subnets: [],
    groups: ['x'],
    notBefore: now - 60,
    notAfter: now + 3600,
    publicKey: kp.publicKey,
    isCA: false,
    issuer: ca.ca.fingerprint(),
  }).sign(ca.key);
  return { cert, key: kp.privateKey };
}

/** A CA and a host cert (203.0.113.11/24) made with our cert package, in a temp dir. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'nebula-cli-test-'));
  const now = Math.floor(Date.now() / 1000);
  const ca = makeCa('cli-test-ca', now);
  const host = makeHost(ca, 'a', now);
  const other = makeHost(makeCa('other-ca', now), 'a', now);
  const p = (f: string) => join(dir, f);
  writeFileSync(p('ca.crt'), ca.ca.toPem());
  writeFileSync(p('a.crt'), host.cert.toPem());
  writeFileSync(p('a.key'), x25519PrivateKeyToPem(host.key));
  writeFileSync(p('other.crt'), other.cert.toPem());
  writeFileSync(p('other.key'), x25519PrivateKeyToPem(other.key));
  return {
    dir,
    ca: p('ca.crt'),
    cert: p('a.crt'),
    key: p('a.key'),
    foreignCert: p('other.crt'),
    foreignKey: p('other.key'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
