import { describe, expect, it } from 'vitest';
import {
  CAPool,
  type CertCryptoProvider,
  isCertError,
  loadEd25519PrivateKey,
  loadX25519PrivateKey,
  NebulaCertificate,
  nobleProvider,
  nodeCryptoProvider,
  parseCidr,
} from '../src/index.js';
import {
  ALPHA,
  ALPHA_KEY_PEM,
  ALPHA_PEM,
  BETA,
  BETA_KEY_PEM,
  BETA_PEM,
  CA,
  CA_KEY_PEM,
  CA_NOT_AFTER,
  CA_PEM,
  hex,
  NOT_BEFORE,
  NOW_2027,
  unhex,
} from './vectors.js';

const pemBody = (pem: string) => NebulaCertificate.fromPem(pem).cert;
const rawPemBytes = (pem: string) =>
  new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64'));

describe.each<[string, CertCryptoProvider]>([
  ['node:crypto', nodeCryptoProvider],
  ['noble', nobleProvider],
])('vectors.md §1 with %s', (_, provider) => {
  const ca = pemBody(CA_PEM);
  const alpha = pemBody(ALPHA_PEM);
  const beta = pemBody(BETA_PEM);
  const caKey = loadEd25519PrivateKey(CA_KEY_PEM).key;

  it('parses the CA with the documented details', () => {
    expect(ca.name).toBe('Vector CA');
    expect(ca.isCA).toBe(true);
    expect(ca.issuer).toBe('');
    expect(ca.details.groups).toEqual(['ops', 'web']);
    expect(ca.details.ips).toEqual([{ addr: 0x0a2a0000, mask: 0xffff0000 }]);
    expect(ca.details.subnets).toEqual([]);
    expect(ca.notBefore).toBe(NOT_BEFORE);
    expect(ca.notAfter).toBe(CA_NOT_AFTER);
    expect(hex(ca.publicKey)).toBe(CA.publicKey);
    expect(hex(ca.signature)).toBe(CA.signature);
  });

  it('parses alpha and beta', () => {
    expect(alpha.name).toBe('alpha');
    expect(alpha.vpnIp).toBe(0x0a2a0001);
    expect(alpha.details.ips).toEqual([{ addr: 0x0a2a0001, mask: 0xffff0000 }]);
    expect(alpha.details.groups).toEqual(['ops', 'web']);
    expect(alpha.issuer).toBe(CA.fingerprint);
    expect(alpha.notAfter).toBe(CA_NOT_AFTER - 1);
    expect(hex(alpha.publicKey)).toBe(ALPHA.publicKey);
    expect(beta.name).toBe('beta');
    expect(beta.vpnIp).toBe(0x0a2a0002);
    expect(beta.details.groups).toEqual(['web']);
    expect(hex(beta.publicKey)).toBe(BETA.publicKey);
  });

  it('re-encodes all three byte-identically and marshals the documented details', () => {
    for (const pem of [CA_PEM, ALPHA_PEM, BETA_PEM]) {
      expect(hex(pemBody(pem).toBytes())).toBe(hex(rawPemBytes(pem)));
      expect(pemBody(pem).toPem()).toBe(pem);
    }
    expect(hex(ca.marshalDetails())).toBe(CA.details);
    expect(ca.marshalDetails().length).toBe(80);
    expect(hex(alpha.marshalDetails())).toBe(ALPHA.details);
    expect(alpha.marshalDetails().length).toBe(108);
  });

  it('computes the fingerprints', () => {
    expect(NebulaCertificate.fromBytes(ca.toBytes()).fingerprint(provider)).toBe(CA.fingerprint);
    expect(NebulaCertificate.fromBytes(alpha.toBytes()).fingerprint(provider)).toBe(ALPHA.fingerprint);
    expect(NebulaCertificate.fromBytes(beta.toBytes()).fingerprint(provider)).toBe(BETA.fingerprint);
  });

  it('verifies the signatures with the CA key, and rejects a flipped bit', () => {
    expect(ca.checkSignature(ca.publicKey, provider)).toBe(true);
    expect(alpha.checkSignature(ca.publicKey, provider)).toBe(true);
    expect(beta.checkSignature(ca.publicKey, provider)).toBe(true);
    expect(alpha.checkSignature(beta.publicKey, provider)).toBe(false);
    const sig = alpha.signature.slice();
    sig[5] = (sig[5] as number) ^ 1;
    const bad = NebulaCertificate.create(alpha.details, sig);
    expect(bad.checkSignature(ca.publicKey, provider)).toBe(false);
  });

  it('re-signing reproduces Go signatures (Ed25519 is deterministic)', () => {
    expect(hex(alpha.sign(caKey, provider).signature)).toBe(ALPHA.signature);
    expect(hex(ca.sign(caKey, provider).signature)).toBe(CA.signature);
  });

  it('derives the X25519 public keys and matches private keys to certs', () => {
    const a = loadX25519PrivateKey(ALPHA_KEY_PEM).key;
    const b = loadX25519PrivateKey(BETA_KEY_PEM).key;
    expect(hex(provider.x25519PublicKey(a))).toBe(ALPHA.publicKey);
    expect(hex(provider.x25519PublicKey(b))).toBe(BETA.publicKey);
    expect(() => alpha.verifyPrivateKey(a, provider)).not.toThrow();
    expect(() => alpha.verifyPrivateKey(b, provider)).toThrow(
      "public key in cert and private key supplied don't match",
    );
    expect(() => ca.verifyPrivateKey(caKey, provider)).not.toThrow();
    expect(hex(provider.ed25519PublicKey(caKey.subarray(0, 32)))).toBe(CA.publicKey);
  });

  it('verifies alpha and beta against the CA at 2027-01-01', () => {
    const { pool, expired } = CAPool.fromPem(CA_PEM, { nowSeconds: NOW_2027, provider });
    expect(expired).toEqual([]);
    expect(pool.fingerprints()).toEqual([CA.fingerprint]);
    expect(pool.verify(alpha, NOW_2027).name).toBe('Vector CA');
    expect(pool.verify(beta, NOW_2027).name).toBe('Vector CA');
  });

  it('produces the 142-byte handshake form and reverses it with the Noise static key', () => {
    const wire = alpha.bytesWithoutPublicKey();
    expect(wire.length).toBe(142);
    expect(hex(wire)).toBe(ALPHA.withoutPublicKey);
    const back = NebulaCertificate.fromHandshakeBytes(wire, unhex(ALPHA.publicKey));
    expect(back.fingerprint(provider)).toBe(ALPHA.fingerprint);
    expect(back.checkSignature(ca.publicKey, provider)).toBe(true);
    // A different static key yields a cert whose signature no longer verifies.
    const forged = NebulaCertificate.fromHandshakeBytes(wire, unhex(BETA.publicKey));
    const { pool } = CAPool.fromPem(CA_PEM, { nowSeconds: NOW_2027, provider });
    expect(() => pool.verify(forged, NOW_2027)).toThrow('certificate signature did not match');
  });

  it('refuses the three constraint violations of vectors.md', () => {
    const { pool } = CAPool.fromPem(CA_PEM, { nowSeconds: NOW_2027, provider });
    const make = (ip: string, groups: string[]) =>
      NebulaCertificate.create({ ...alpha.details, ips: [parseCidr(ip).ip], groups }).sign(caKey, provider);
    const cases: [NebulaCertificate, string, string][] = [
      [
        make('10.42.0.1/16', ['db']),
        'group',
        'certificate contained a group not present on the signing ca: db',
      ],
      [
        make('10.43.0.1/16', ['ops']),
        'ip',
        'certificate contained an ip assignment outside the limitations of the signing ca: 10.43.0.1/16',
      ],
      [
        make('10.42.0.1/8', ['ops']),
        'ip',
        'certificate contained an ip assignment outside the limitations of the signing ca: 10.42.0.1/8',
      ],
    ];
    for (const [cert, detail, message] of cases) {
      expect(cert.checkSignature(ca.publicKey, provider)).toBe(true);
      let err: unknown;
      try {
        pool.verify(cert, NOW_2027);
      } catch (e) {
        err = e;
      }
      expect(isCertError(err)).toBe(true);
      expect(err).toMatchObject({ code: 'ERR_CERT_CONSTRAINTS', detail, message });
    }
    // The same cert inside the restrictions passes.
    expect(() => pool.verify(make('10.42.7.7/24', ['web']), NOW_2027)).not.toThrow();
  });
});
