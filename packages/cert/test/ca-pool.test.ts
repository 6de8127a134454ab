import { describe, expect, it } from 'vitest';
import {
  CAPool,
  type CertificateDetails,
  generateEd25519KeyPair,
  generateX25519KeyPair,
  isCertError,
  loadEd25519PrivateKey,
  NebulaCertificate,
} from '../src/index.js';
import {
  ALPHA_PEM,
  BETA,
  BETA_PEM,
  CA,
  CA_KEY_PEM,
  CA_NOT_AFTER,
  CA_PEM,
  NOT_BEFORE,
  NOW_2027,
} from './vectors.js';

const ca = NebulaCertificate.fromPem(CA_PEM).cert;
const caKey = loadEd25519PrivateKey(CA_KEY_PEM).key;
const alpha = NebulaCertificate.fromPem(ALPHA_PEM).cert;
const beta = NebulaCertificate.fromPem(BETA_PEM).cert;

function newCA(name: string, notBefore: number, notAfter: number, extra: Partial<CertificateDetails> = {}) {
  const kp = generateEd25519KeyPair();
  const cert = NebulaCertificate.create({
    name,
    ips: [],
    subnets: [],
    groups: [],
    notBefore,
    notAfter,
    publicKey: kp.publicKey,
    isCA: true,
    issuer: '',
    ...extra,
  }).sign(kp.privateKey);
  return { cert, key: kp.privateKey };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isCertError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'ok';
}

describe('CAPool.fromPem', () => {
  it('loads several CAs from one bundle, keyed by fingerprint', () => {
    const other = newCA('other', NOT_BEFORE, CA_NOT_AFTER);
    const { pool, expired } = CAPool.fromPem(`${CA_PEM}\n${other.cert.toPem()}\n\n`, {
      nowSeconds: NOW_2027,
    });
    expect(pool.size).toBe(2);
    expect(expired).toEqual([]);
    expect(pool.caForIssuer(CA.fingerprint)?.name).toBe('Vector CA');
    expect(pool.caForIssuer(other.cert.fingerprint())?.name).toBe('other');
  });

  it('refuses a non-CA and a CA that is not self-signed, with Go messages', () => {
    expect(codeOf(() => CAPool.fromPem(`${CA_PEM}${ALPHA_PEM}`))).toBe(
      'ERR_CERT_NOT_CA: alpha: certificate is not a CA',
    );
    const forged = NebulaCertificate.create({ ...ca.details, name: 'forged' }, ca.signature);
    expect(codeOf(() => CAPool.fromPem(forged.toPem()))).toBe(
      'ERR_CERT_NOT_SELF_SIGNED: forged: certificate is not self-signed',
    );
    expect(codeOf(() => CAPool.fromPem(`${CA_PEM}garbage`))).toBe(
      'ERR_CERT_PEM: input did not contain a valid PEM encoded block',
    );
  });

  it('keeps expired CAs with a report, and fails only when all are expired', () => {
    const old = newCA('old', 1000, 2000);
    const { pool, expired } = CAPool.fromPem(`${old.cert.toPem()}${CA_PEM}`, { nowSeconds: NOW_2027 });
    expect(pool.size).toBe(2);
    expect(expired.map((c) => c.name)).toEqual(['old']);
    expect(codeOf(() => CAPool.fromPem(old.cert.toPem(), { nowSeconds: NOW_2027 }))).toBe(
      'ERR_CERT_NO_VALID_CA: no valid CA certificates present',
    );
    // A repeated block counts once (Go counts its fingerprint map).
    const dup = CAPool.fromPem(`${old.cert.toPem()}${old.cert.toPem()}${CA_PEM}`, { nowSeconds: NOW_2027 });
    expect([dup.pool.size, dup.expired.length]).toEqual([2, 1]);
  });
});

describe('CAPool.verify follows Go order and messages', () => {
  const { pool } = CAPool.fromPem(CA_PEM, { nowSeconds: NOW_2027 });

  it('blocklist wins over everything', () => {
    const { pool: p } = CAPool.fromPem(CA_PEM, { nowSeconds: NOW_2027 });
    p.blocklist(BETA.fingerprint);
    expect(p.isBlocklisted(beta)).toBe(true);
    expect(codeOf(() => p.verify(beta, 0))).toBe('ERR_CERT_BLOCKLISTED: certificate has been blocked');
    expect(codeOf(() => p.verify(alpha, NOW_2027))).toBe('ok');
    p.resetBlocklist();
    expect(codeOf(() => p.verify(beta, NOW_2027))).toBe('ok');
  });

  it('no issuer / unknown CA', () => {
    expect(codeOf(() => pool.verify(ca, NOW_2027))).toBe('ERR_CERT_NO_ISSUER: no issuer in certificate');
    const stranger = NebulaCertificate.create({ ...alpha.details, issuer: '00'.repeat(32) }, alpha.signature);
    expect(codeOf(() => pool.verify(stranger, NOW_2027))).toBe(
      'ERR_CERT_CA_NOT_FOUND: could not find ca for the certificate',
    );
  });

  it('root expired before cert expired, cert expired before signature', () => {
    expect(codeOf(() => pool.verify(alpha, CA_NOT_AFTER + 1))).toBe(
      'ERR_CERT_ROOT_EXPIRED: root certificate is expired',
    );
    expect(codeOf(() => pool.verify(alpha, CA_NOT_AFTER))).toBe('ERR_CERT_EXPIRED: certificate is expired');
    expect(codeOf(() => pool.verify(alpha, NOT_BEFORE - 1))).toBe(
      'ERR_CERT_ROOT_EXPIRED: root certificate is expired',
    );
    // Bounds are inclusive.
    expect(codeOf(() => pool.verify(alpha, NOT_BEFORE))).toBe('ok');
    expect(codeOf(() => pool.verify(alpha, CA_NOT_AFTER - 1))).toBe('ok');
    const tampered = NebulaCertificate.create({ ...alpha.details, name: 'mallory' }, alpha.signature);
    expect(codeOf(() => pool.verify(tampered, CA_NOT_AFTER + 5))).toBe(
      'ERR_CERT_ROOT_EXPIRED: root certificate is expired',
    );
    expect(codeOf(() => pool.verify(tampered, NOW_2027))).toBe(
      'ERR_CERT_SIGNATURE_MISMATCH: certificate signature did not match',
    );
  });

  it('root constraints: validity window, groups, ips, subnets (mask rule)', () => {
    const restricted = newCA('r', NOT_BEFORE, CA_NOT_AFTER, {
      groups: ['a'],
      ips: [{ addr: 0x0a000000, mask: 0xff000000 }],
      subnets: [{ addr: 0xc0a80000, mask: 0xffff0000 }],
    });
    const { pool: p } = CAPool.fromPem(restricted.cert.toPem(), { nowSeconds: NOW_2027 });
    const host = (d: Partial<CertificateDetails>) =>
      NebulaCertificate.create({
        name: 'h',
        ips: [{ addr: 0x0a010203, mask: 0xffff0000 }],
        subnets: [{ addr: 0xc0a80100, mask: 0xffffff00 }],
        groups: ['a'],
        notBefore: NOT_BEFORE,
        notAfter: CA_NOT_AFTER,
        publicKey: generateX25519KeyPair().publicKey,
        isCA: false,
        issuer: restricted.cert.fingerprint(),
        ...d,
      }).sign(restricted.key);
    expect(codeOf(() => p.verify(host({}), NOW_2027))).toBe('ok');
    expect(codeOf(() => p.verify(host({ notAfter: CA_NOT_AFTER + 1 }), NOW_2027))).toBe(
      'ERR_CERT_CONSTRAINTS: certificate expires after signing certificate',
    );
    expect(codeOf(() => p.verify(host({ notBefore: NOT_BEFORE - 1 }), NOW_2027))).toBe(
      'ERR_CERT_CONSTRAINTS: certificate is valid before the signing certificate',
    );
    expect(codeOf(() => p.verify(host({ groups: ['a', 'b'] }), NOW_2027))).toBe(
      'ERR_CERT_CONSTRAINTS: certificate contained a group not present on the signing ca: b',
    );
    expect(codeOf(() => p.verify(host({ ips: [{ addr: 0x0b000001, mask: 0xffffff00 }] }), NOW_2027))).toBe(
      'ERR_CERT_CONSTRAINTS: certificate contained an ip assignment outside the limitations of the signing ca: 11.0.0.1/24',
    );
    expect(codeOf(() => p.verify(host({ ips: [{ addr: 0x0a000001, mask: 0xfe000000 }] }), NOW_2027))).toBe(
      'ERR_CERT_CONSTRAINTS: certificate contained an ip assignment outside the limitations of the signing ca: 10.0.0.1/7',
    );
    expect(
      codeOf(() => p.verify(host({ subnets: [{ addr: 0xc0a90000, mask: 0xffffff00 }] }), NOW_2027)),
    ).toBe(
      'ERR_CERT_CONSTRAINTS: certificate contained a subnet assignment outside the limitations of the signing ca: 192.169.0.0/24',
    );
    // The mask rule is byte-wise: /8 CA, cert mask 255.0.255.0 is accepted (every byte >= CA's).
    expect(codeOf(() => p.verify(host({ ips: [{ addr: 0x0a000001, mask: 0xff00ff00 }] }), NOW_2027))).toBe(
      'ok',
    );
    // A CA without restrictions signs anything inside its window.
    const signedByVector = host({ issuer: CA.fingerprint, groups: ['x'] }).sign(caKey);
    expect(
      codeOf(() => pool.verify(NebulaCertificate.fromBytes(signedByVector.toBytes()), NOW_2027)),
    ).toContain('group not present');
  });
});
