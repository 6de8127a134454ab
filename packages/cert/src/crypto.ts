/**
 * The few primitives certificates need, behind one interface: `node:crypto` (OpenSSL) is the fast
 * path, `@noble/*` the auditable reference. Tests run both on the same vectors.
 */
import * as nodeCrypto from 'node:crypto';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
  randomBytes,
} from 'node:crypto';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';

// `crypto.hash` exists from Node 20.12; older 20.x falls back to createHash.
const oneShotHash = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;

export interface CertCryptoProvider {
  readonly name: 'node' | 'noble' | (string & {});
  sha256(data: Uint8Array): Uint8Array;
  /** Pure Ed25519 with Go's 64-byte private key (seed ‖ public key). */
  ed25519Sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array;
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /** Public key of a 32-byte seed. */
  ed25519PublicKey(seed: Uint8Array): Uint8Array;
  /** X25519(private, 9). */
  x25519PublicKey(privateKey: Uint8Array): Uint8Array;
  randomBytes(n: number): Uint8Array;
}

// DER prefixes of PKCS#8 OneAsymmetricKey for a raw 32-byte Ed25519 seed / X25519 scalar.
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');

function b64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}

function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Raw public keys imported as JWK (~14x faster than SPKI on Node 20); CAs repeat, so cache a few. */
const verifyKeys = new Map<string, KeyObject | null>();
const VERIFY_CACHE_MAX = 256;

function ed25519VerifyKey(pub: Uint8Array): KeyObject | null {
  const id = b64url(pub);
  let key = verifyKeys.get(id);
  if (key !== undefined) return key;
  try {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: id }, format: 'jwk' });
  } catch {
    key = null;
  }
  if (verifyKeys.size >= VERIFY_CACHE_MAX) verifyKeys.delete(verifyKeys.keys().next().value as string);
  verifyKeys.set(id, key);
  return key;
}

function pkcs8(prefix: Buffer, raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([prefix, raw]), format: 'der', type: 'pkcs8' });
}

function rawPublic(key: KeyObject): Uint8Array {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return u8(Buffer.from(jwk.x as string, 'base64url'));
}

function assertLength(b: Uint8Array, n: number, what: string): void {
  if (!(b instanceof Uint8Array) || b.length !== n) throw new RangeError(`${what} must be ${n} bytes`);
}

export const nodeCryptoProvider: CertCryptoProvider = {
  name: 'node',
  // One-shot `crypto.hash` (Node >= 20.12) skips the Hash object: ~30% cheaper for a cert.
  sha256: oneShotHash
    ? (data) => u8(oneShotHash('sha256', data, 'buffer') as Buffer)
    : (data) => u8(createHash('sha256').update(data).digest()),
  ed25519Sign(privateKey, message) {
    assertLength(privateKey, 64, 'Ed25519 private key');
    // The public half is re-derived from the seed; callers check it against the CA cert first.
    return u8(nodeSign(null, message, pkcs8(ED25519_PKCS8, privateKey.subarray(0, 32))));
  },
  ed25519Verify(publicKey, message, signature) {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    const key = ed25519VerifyKey(publicKey);
    if (key === null) return false;
    try {
      return nodeVerify(null, message, key, signature);
    } catch {
      return false;
    }
  },
  ed25519PublicKey(seed) {
    assertLength(seed, 32, 'Ed25519 seed');
    return rawPublic(pkcs8(ED25519_PKCS8, seed));
  },
  x25519PublicKey(privateKey) {
    assertLength(privateKey, 32, 'X25519 private key');
    return rawPublic(pkcs8(X25519_PKCS8, privateKey));
  },
  randomBytes: (n) => u8(randomBytes(n)),
};

export const nobleProvider: CertCryptoProvider = {
  name: 'noble',
  sha256: (data) => sha256(data),
  ed25519Sign(privateKey, message) {
    assertLength(privateKey, 64, 'Ed25519 private key');
    return ed25519.sign(message, privateKey.subarray(0, 32));
  },
  ed25519Verify(publicKey, message, signature) {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
  ed25519PublicKey(seed) {
    assertLength(seed, 32, 'Ed25519 seed');
    return ed25519.getPublicKey(seed);
  },
  x25519PublicKey(privateKey) {
    assertLength(privateKey, 32, 'X25519 private key');
    return x25519.getPublicKey(privateKey);
  },
  randomBytes: (n) => u8(randomBytes(n)),
};

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] as number) ^ (b[i] as number);
  return d === 0;
}

let defaultProvider: CertCryptoProvider = nodeCryptoProvider;

/** The provider used when none is passed (node:crypto unless changed). */
export function getDefaultCryptoProvider(): CertCryptoProvider {
  return defaultProvider;
}

export function setDefaultCryptoProvider(p: CertCryptoProvider): void {
  defaultProvider = p;
}
