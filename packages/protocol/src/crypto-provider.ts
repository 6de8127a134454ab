/**
 * The primitives Noise IX needs, behind one interface: `nodeCryptoProvider` (node:crypto, the
 * default; X25519 keys are imported as JWK, ~14x faster than DER on Node 20) and `nobleProvider`
 * (@noble/*, the auditable reference). Both are cross-tested on the spec's vectors.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type KeyObject,
  randomBytes as nodeRandomBytes,
} from 'node:crypto';
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ProtocolError } from './errors.js';
import { copyBytes } from './internal/bytes.js';
import type { Cipher } from './nonce.js';

export const X25519_KEY_LEN = 32;
export const AEAD_TAG_LEN = 16;

export interface X25519KeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

export interface CryptoProvider {
  readonly name: string;
  /** X25519(private, public). Throws `ERR_NOISE_DH` on the all-zero result (low-order point). */
  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
  x25519PublicKey(privateKey: Uint8Array): Uint8Array;
  /** A fresh random key pair, or the pair for `privateKey` when given (test vectors). */
  x25519KeyPair(privateKey?: Uint8Array): X25519KeyPair;
  sha256(...parts: Uint8Array[]): Uint8Array;
  hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array;
  /** Noise HKDF with two outputs: RFC 5869 with salt = chaining key, empty info, 64 bytes. */
  hkdf2(chainingKey: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array];
  /** Returns ciphertext ‖ 16-byte tag. `nonce` is 12 bytes. */
  aeadSeal(
    cipher: Cipher,
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    plaintext: Uint8Array,
  ): Uint8Array;
  /** Returns the plaintext, or null when authentication fails (or the input is shorter than a tag). */
  aeadOpen(
    cipher: Cipher,
    key: Uint8Array,
    nonce: Uint8Array,
    ad: Uint8Array,
    sealed: Uint8Array,
  ): Uint8Array | null;
  randomBytes(n: number): Uint8Array;
}

function checkLen(what: string, b: Uint8Array, n: number): void {
  if (!(b instanceof Uint8Array) || b.length !== n) {
    throw new ProtocolError('ERR_INVALID_ARGUMENT', `${what} must be ${n} bytes`);
  }
}

function hkdf2With(mac: (key: Uint8Array, ...parts: Uint8Array[]) => Uint8Array) {
  const one = Uint8Array.of(1);
  const two = Uint8Array.of(2);
  return (ck: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] => {
    const prk = mac(ck, ikm);
    const o1 = mac(prk, one);
    const o2 = mac(prk, o1, two);
    prk.fill(0);
    return [o1, o2];
  };
}

function isZero(b: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < b.length; i++) acc |= b[i]!;
  return acc === 0;
}

// OpenSSL ignores `x` when importing a private key, so a placeholder saves computing it.
/** The X25519 base point u = 9: X25519(priv, 9) is the public key. */
const X25519_BASEPOINT = new Uint8Array(32);
X25519_BASEPOINT[0] = 9;

const JWK_ZERO_X = Buffer.alloc(32).toString('base64url');

function nodePrivateKey(priv: Uint8Array): KeyObject {
  checkLen('X25519 private key', priv, 32);
  return createPrivateKey({
    key: {
      kty: 'OKP',
      crv: 'X25519',
      d: Buffer.from(priv.buffer, priv.byteOffset, 32).toString('base64url'),
      x: JWK_ZERO_X,
    },
    format: 'jwk',
  });
}

function nodePublicKey(pub: Uint8Array): KeyObject {
  checkLen('X25519 public key', pub, 32);
  return createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(pub.buffer, pub.byteOffset, 32).toString('base64url') },
    format: 'jwk',
  });
}

// The cast picks the CipherGCM overload; chacha20-poly1305 objects have the same AEAD methods.
function nodeAlgo(cipher: Cipher): 'aes-256-gcm' | 'chacha20-poly1305' {
  return cipher === 'aes' ? 'aes-256-gcm' : 'chacha20-poly1305';
}

function toU8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

export const nodeCryptoProvider: CryptoProvider = {
  name: 'node',
  x25519(privateKey, publicKey) {
    let out: Buffer;
    try {
      out = diffieHellman({ privateKey: nodePrivateKey(privateKey), publicKey: nodePublicKey(publicKey) });
    } catch (e) {
      if (e instanceof ProtocolError) throw e;
      // OpenSSL refuses to derive an all-zero secret.
      throw new ProtocolError('ERR_NOISE_DH', 'X25519 failed (low-order public key)', { cause: e });
    }
    if (isZero(out)) throw new ProtocolError('ERR_NOISE_DH', 'X25519 produced an all-zero secret');
    return toU8(out);
  },
  x25519PublicKey(privateKey) {
    return this.x25519(privateKey, X25519_BASEPOINT);
  },
  x25519KeyPair(privateKey) {
    if (privateKey) {
      const priv = copyBytes(privateKey);
      return { privateKey: priv, publicKey: this.x25519PublicKey(priv) };
    }
    // Random scalar + X25519(priv, 9), not generateKeyPairSync: on Node 20 a GC that destroys a
    // finished KeyGenJob during a JWK export can deadlock the thread (futex wait, no timeout); a
    // handshake flood (one ephemeral key per stage 1) hit it. X25519 clamps the scalar itself.
    const priv = toU8(nodeRandomBytes(32));
    return { privateKey: priv, publicKey: this.x25519PublicKey(priv) };
  },
  sha256(...parts) {
    const h = createHash('sha256');
    for (const p of parts) h.update(p);
    return toU8(h.digest());
  },
  hmacSha256(key, ...parts) {
    const h = createHmac('sha256', key);
    for (const p of parts) h.update(p);
    return toU8(h.digest());
  },
  hkdf2: hkdf2With((key, ...parts) => {
    const h = createHmac('sha256', key);
    for (const p of parts) h.update(p);
    return toU8(h.digest());
  }),
  aeadSeal(cipher, key, nonce, ad, plaintext) {
    checkLen('AEAD key', key, 32);
    checkLen('AEAD nonce', nonce, 12);
    const c = createCipheriv(nodeAlgo(cipher) as 'aes-256-gcm', key, nonce, { authTagLength: AEAD_TAG_LEN });
    c.setAAD(ad);
    const a = c.update(plaintext);
    const b = c.final();
    const tag = c.getAuthTag();
    const out = new Uint8Array(a.length + b.length + AEAD_TAG_LEN);
    out.set(a, 0);
    out.set(b, a.length);
    out.set(tag, a.length + b.length);
    return out;
  },
  aeadOpen(cipher, key, nonce, ad, sealed) {
    checkLen('AEAD key', key, 32);
    checkLen('AEAD nonce', nonce, 12);
    if (sealed.length < AEAD_TAG_LEN) return null;
    const ctLen = sealed.length - AEAD_TAG_LEN;
    const d = createDecipheriv(nodeAlgo(cipher) as 'aes-256-gcm', key, nonce, {
      authTagLength: AEAD_TAG_LEN,
    });
    d.setAAD(ad);
    d.setAuthTag(sealed.subarray(ctLen));
    const a = d.update(sealed.subarray(0, ctLen));
    try {
      const b = d.final();
      if (b.length === 0) return toU8(a);
      return toU8(Buffer.concat([a, b]));
    } catch {
      a.fill(0);
      return null;
    }
  },
  randomBytes(n) {
    return toU8(nodeRandomBytes(n));
  },
};

function nobleMac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = hmac.create(sha256, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

function nobleAead(cipher: Cipher, key: Uint8Array, nonce: Uint8Array, ad: Uint8Array) {
  checkLen('AEAD key', key, 32);
  checkLen('AEAD nonce', nonce, 12);
  return cipher === 'aes' ? gcm(key, nonce, ad) : chacha20poly1305(key, nonce, ad);
}

export const nobleProvider: CryptoProvider = {
  name: 'noble',
  x25519(privateKey, publicKey) {
    checkLen('X25519 private key', privateKey, 32);
    checkLen('X25519 public key', publicKey, 32);
    let out: Uint8Array;
    try {
      out = x25519.getSharedSecret(privateKey, publicKey);
    } catch (e) {
      throw new ProtocolError('ERR_NOISE_DH', 'X25519 failed (low-order public key)', { cause: e });
    }
    if (isZero(out)) throw new ProtocolError('ERR_NOISE_DH', 'X25519 produced an all-zero secret');
    return out;
  },
  x25519PublicKey(privateKey) {
    checkLen('X25519 private key', privateKey, 32);
    return x25519.getPublicKey(privateKey);
  },
  x25519KeyPair(privateKey) {
    const priv = privateKey ? copyBytes(privateKey) : x25519.utils.randomSecretKey();
    return { privateKey: priv, publicKey: this.x25519PublicKey(priv) };
  },
  sha256(...parts) {
    const h = sha256.create();
    for (const p of parts) h.update(p);
    return h.digest();
  },
  hmacSha256: nobleMac,
  hkdf2: hkdf2With(nobleMac),
  aeadSeal(cipher, key, nonce, ad, plaintext) {
    return nobleAead(cipher, key, nonce, ad).encrypt(plaintext);
  },
  aeadOpen(cipher, key, nonce, ad, sealed) {
    if (sealed.length < AEAD_TAG_LEN) return null;
    try {
      return nobleAead(cipher, key, nonce, ad).decrypt(sealed);
    } catch {
      return null;
    }
  },
  randomBytes(n) {
    return toU8(nodeRandomBytes(n));
  },
};
