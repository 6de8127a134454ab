/** Key generation and the PEM key formats of Nebula 1.6.1 (cert.md §2), with Go's error strings. */
import { type CertCryptoProvider, getDefaultCryptoProvider } from './crypto.js';
import { CertError } from './errors.js';
import {
  ED25519_PRIVATE_KEY_BANNER,
  ED25519_PUBLIC_KEY_BANNER,
  pemDecode,
  pemEncode,
  X25519_PRIVATE_KEY_BANNER,
  X25519_PUBLIC_KEY_BANNER,
} from './pem.js';

export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/** Host key pair: 32 random bytes, public = X25519(private, 9). */
export function generateX25519KeyPair(provider: CertCryptoProvider = getDefaultCryptoProvider()): KeyPair {
  const privateKey = provider.randomBytes(32);
  return { privateKey, publicKey: provider.x25519PublicKey(privateKey) };
}

export function x25519PublicKey(
  privateKey: Uint8Array,
  provider: CertCryptoProvider = getDefaultCryptoProvider(),
): Uint8Array {
  if (privateKey.length !== 32)
    throw new CertError('ERR_CERT_KEY', 'key was not 32 bytes, is invalid X25519 private key');
  return provider.x25519PublicKey(privateKey);
}

/** CA key pair: `privateKey` is Go's 64-byte form (seed ‖ public key). */
export function generateEd25519KeyPair(provider: CertCryptoProvider = getDefaultCryptoProvider()): KeyPair {
  const seed = provider.randomBytes(32);
  const publicKey = provider.ed25519PublicKey(seed);
  const privateKey = new Uint8Array(64);
  privateKey.set(seed, 0);
  privateKey.set(publicKey, 32);
  return { publicKey, privateKey };
}

interface KeyFormat {
  readonly banner: string;
  readonly length: number;
  readonly bannerError: string;
  readonly lengthError: string;
}

const FORMATS = {
  x25519Private: {
    banner: X25519_PRIVATE_KEY_BANNER,
    length: 32,
    bannerError: 'bytes did not contain a proper nebula X25519 private key banner',
    lengthError: 'key was not 32 bytes, is invalid X25519 private key',
  },
  x25519Public: {
    banner: X25519_PUBLIC_KEY_BANNER,
    length: 32,
    bannerError: 'bytes did not contain a proper nebula X25519 public key banner',
    lengthError: 'key was not 32 bytes, is invalid X25519 public key',
  },
  ed25519Private: {
    banner: ED25519_PRIVATE_KEY_BANNER,
    length: 64,
    bannerError: 'bytes did not contain a proper nebula Ed25519 private key banner',
    lengthError: 'key was not 64 bytes, is invalid ed25519 private key',
  },
  ed25519Public: {
    banner: ED25519_PUBLIC_KEY_BANNER,
    length: 32,
    bannerError: 'bytes did not contain a proper nebula Ed25519 public key banner',
    lengthError: 'key was not 32 bytes, is invalid ed25519 public key',
  },
} as const satisfies Record<string, KeyFormat>;

export interface LoadedKey {
  readonly key: Uint8Array;
  /** Text after the first PEM block. */
  readonly rest: string;
}

function load(f: KeyFormat, input: string | Uint8Array): LoadedKey {
  const { block, rest } = pemDecode(input);
  if (block === null) throw new CertError('ERR_CERT_PEM', 'input did not contain a valid PEM encoded block');
  if (block.type !== f.banner) throw new CertError('ERR_CERT_PEM', f.bannerError);
  if (block.bytes.length !== f.length) throw new CertError('ERR_CERT_KEY', f.lengthError);
  return { key: block.bytes, rest };
}

export const loadX25519PrivateKey = (pem: string | Uint8Array): LoadedKey => load(FORMATS.x25519Private, pem);
export const loadX25519PublicKey = (pem: string | Uint8Array): LoadedKey => load(FORMATS.x25519Public, pem);
export const loadEd25519PrivateKey = (pem: string | Uint8Array): LoadedKey =>
  load(FORMATS.ed25519Private, pem);
export const loadEd25519PublicKey = (pem: string | Uint8Array): LoadedKey => load(FORMATS.ed25519Public, pem);

export const x25519PrivateKeyToPem = (k: Uint8Array): string => pemEncode(X25519_PRIVATE_KEY_BANNER, k);
export const x25519PublicKeyToPem = (k: Uint8Array): string => pemEncode(X25519_PUBLIC_KEY_BANNER, k);
export const ed25519PrivateKeyToPem = (k: Uint8Array): string => pemEncode(ED25519_PRIVATE_KEY_BANNER, k);
export const ed25519PublicKeyToPem = (k: Uint8Array): string => pemEncode(ED25519_PUBLIC_KEY_BANNER, k);
