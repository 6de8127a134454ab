import { describe, expect, it } from 'vitest';
import {
  CERT_BANNER,
  ed25519PrivateKeyToPem,
  ed25519PublicKeyToPem,
  generateEd25519KeyPair,
  generateX25519KeyPair,
  loadEd25519PrivateKey,
  loadEd25519PublicKey,
  loadX25519PrivateKey,
  loadX25519PublicKey,
  NebulaCertificate,
  nobleProvider,
  pemDecode,
  pemDecodeAll,
  pemEncode,
  x25519PrivateKeyToPem,
  x25519PublicKey,
  x25519PublicKeyToPem,
} from '../src/index.js';
import { ALPHA_KEY_PEM, ALPHA_PEM, BETA_PEM, CA_KEY_PEM, CA_PEM } from './vectors.js';

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return `${(e as { code: string }).code}: ${(e as Error).message}`;
  }
  return 'no error';
}

describe('PEM', () => {
  it('encodes like Go (64 columns, trailing newline) and decodes back', () => {
    const bytes = new Uint8Array(100).map((_, i) => i);
    const pem = pemEncode('X', bytes);
    expect(pem.split('\n').map((l) => l.length)).toEqual([17, 64, 64, 8, 15, 0]);
    expect(pemDecode(pem).block?.bytes).toEqual(bytes);
    expect(pemEncode('EMPTY', new Uint8Array(0))).toBe('-----BEGIN EMPTY-----\n-----END EMPTY-----\n');
    expect(pemDecode(pemEncode('EMPTY', new Uint8Array(0))).block?.bytes.length).toBe(0);
  });

  it('reads bundles block by block, with junk before, CRLF, headers, and skips broken blocks', () => {
    const crlf = BETA_PEM.replace(/\n/g, '\r\n');
    const withHeader = CA_PEM.replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\n\n');
    const broken = '-----BEGIN NEBULA CERTIFICATE-----\n!!!!\n-----END NEBULA CERTIFICATE-----\n';
    const blocks = pemDecodeAll(`hello\n${ALPHA_PEM}${broken}${crlf}${withHeader}`);
    expect(blocks.map((b) => b.type)).toEqual([CERT_BANNER, CERT_BANNER, CERT_BANNER]);
    expect(blocks.map((b) => NebulaCertificate.fromBytes(b.bytes).name)).toEqual([
      'alpha',
      'beta',
      'Vector CA',
    ]);
    expect(blocks[2]?.headers).toEqual({ 'Proc-Type': '4,ENCRYPTED' });
    const first = NebulaCertificate.fromPem(`${ALPHA_PEM}${BETA_PEM}`);
    expect(first.cert.name).toBe('alpha');
    expect(first.rest).toBe(BETA_PEM);
  });

  it('requires Go-strict padded base64 and a matching END line', () => {
    expect(pemDecode('-----BEGIN A-----\nAAA\n-----END A-----\n').block).toBeNull();
    expect(pemDecode('-----BEGIN A-----\nAA==\n-----END B-----\n').block).toBeNull();
    expect(pemDecode('-----BEGIN A-----\nAA==\n-----END A-----junk\n').block).toBeNull();
    expect(pemDecode('-----BEGIN A-----\nA A=\t=\n-----END A-----  \n').block?.bytes).toEqual(
      new Uint8Array([0]),
    );
  });

  it('gives Go errors for no block and for every wrong banner', () => {
    expect(message(() => NebulaCertificate.fromPem('garbage'))).toBe(
      'ERR_CERT_PEM: input did not contain a valid PEM encoded block',
    );
    expect(message(() => NebulaCertificate.fromPem(ALPHA_KEY_PEM))).toBe(
      'ERR_CERT_PEM: bytes did not contain a proper nebula certificate banner',
    );
    expect(message(() => loadX25519PrivateKey(CA_KEY_PEM))).toBe(
      'ERR_CERT_PEM: bytes did not contain a proper nebula X25519 private key banner',
    );
    expect(message(() => loadX25519PublicKey(ALPHA_KEY_PEM))).toBe(
      'ERR_CERT_PEM: bytes did not contain a proper nebula X25519 public key banner',
    );
    expect(message(() => loadEd25519PrivateKey(ALPHA_KEY_PEM))).toBe(
      'ERR_CERT_PEM: bytes did not contain a proper nebula Ed25519 private key banner',
    );
    expect(message(() => loadEd25519PublicKey(CA_PEM))).toBe(
      'ERR_CERT_PEM: bytes did not contain a proper nebula Ed25519 public key banner',
    );
  });

  it('checks key lengths with Go messages', () => {
    const short = new Uint8Array(31);
    expect(message(() => loadX25519PrivateKey(x25519PrivateKeyToPem(short)))).toBe(
      'ERR_CERT_KEY: key was not 32 bytes, is invalid X25519 private key',
    );
    expect(message(() => loadX25519PublicKey(x25519PublicKeyToPem(short)))).toBe(
      'ERR_CERT_KEY: key was not 32 bytes, is invalid X25519 public key',
    );
    expect(message(() => loadEd25519PrivateKey(ed25519PrivateKeyToPem(new Uint8Array(32))))).toBe(
      'ERR_CERT_KEY: key was not 64 bytes, is invalid ed25519 private key',
    );
    expect(message(() => loadEd25519PublicKey(ed25519PublicKeyToPem(new Uint8Array(64))))).toBe(
      'ERR_CERT_KEY: key was not 32 bytes, is invalid ed25519 public key',
    );
  });
});

describe('keys', () => {
  it('generates X25519 pairs consistent across providers and round-trips their PEM', () => {
    const kp = generateX25519KeyPair();
    expect(kp.privateKey.length).toBe(32);
    expect(x25519PublicKey(kp.privateKey, nobleProvider)).toEqual(kp.publicKey);
    expect(loadX25519PrivateKey(x25519PrivateKeyToPem(kp.privateKey)).key).toEqual(kp.privateKey);
    expect(loadX25519PublicKey(x25519PublicKeyToPem(kp.publicKey)).key).toEqual(kp.publicKey);
  });

  it('generates Go-form Ed25519 keys (seed ‖ public) whose public half both providers agree on', () => {
    const kp = generateEd25519KeyPair(nobleProvider);
    expect(kp.privateKey.length).toBe(64);
    expect(kp.privateKey.subarray(32)).toEqual(kp.publicKey);
    expect(generateEd25519KeyPair().privateKey.length).toBe(64);
    const loaded = loadEd25519PrivateKey(ed25519PrivateKeyToPem(kp.privateKey));
    expect(loaded.key).toEqual(kp.privateKey);
    expect(loaded.rest).toBe('');
  });

  it('verifyPrivateKey: CA needs the 64-byte key, host the matching X25519 key', () => {
    const ca = NebulaCertificate.fromPem(CA_PEM).cert;
    const alpha = NebulaCertificate.fromPem(ALPHA_PEM).cert;
    expect(message(() => ca.verifyPrivateKey(new Uint8Array(32)))).toBe(
      'ERR_CERT_KEY: key was not 64 bytes, is invalid ed25519 private key',
    );
    expect(message(() => ca.verifyPrivateKey(generateEd25519KeyPair().privateKey))).toBe(
      "ERR_CERT_KEY: public key in cert and private key supplied don't match",
    );
    expect(message(() => alpha.verifyPrivateKey(generateX25519KeyPair().privateKey))).toBe(
      "ERR_CERT_KEY: public key in cert and private key supplied don't match",
    );
    expect(() => alpha.verifyPrivateKey(loadX25519PrivateKey(ALPHA_KEY_PEM).key)).not.toThrow();
  });
});
