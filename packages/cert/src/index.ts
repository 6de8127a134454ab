/**
 * @packageDocumentation
 * Nebula v1 certificates as Go Nebula 1.6.1 has them: protobuf codec (canonical, byte-exact with
 * Go), PEM, Ed25519 signing and verification, fingerprints, the CA pool with its blocklist, and
 * the X25519/Ed25519 key formats. Crypto goes through a provider: `node:crypto` by default,
 * `@noble/*` as the reference.
 *
 * @example
 * ```ts
 * import { CAPool, NebulaCertificate } from '@nebula-ts/cert';
 * const { pool, expired } = CAPool.fromPem(caPem); // warn about each expired CA
 * const { cert } = NebulaCertificate.fromPem(hostPem);
 * pool.verify(cert); // throws CertError (code ERR_CERT_*) with Go's message
 * ```
 */
export { CAPool, type CAPoolLoad } from './ca-pool.js';
export { type CertificateDetails, NebulaCertificate, PUBLIC_KEY_LEN } from './certificate.js';
export {
  type CertCryptoProvider,
  getDefaultCryptoProvider,
  nobleProvider,
  nodeCryptoProvider,
  setDefaultCryptoProvider,
} from './crypto.js';
export { CertError, type CertErrorCode, type ConstraintDetail, isCertError } from './errors.js';
export {
  ed25519PrivateKeyToPem,
  ed25519PublicKeyToPem,
  generateEd25519KeyPair,
  generateX25519KeyPair,
  type KeyPair,
  type LoadedKey,
  loadEd25519PrivateKey,
  loadEd25519PublicKey,
  loadX25519PrivateKey,
  loadX25519PublicKey,
  x25519PrivateKeyToPem,
  x25519PublicKey,
  x25519PublicKeyToPem,
} from './keys.js';
export {
  type IPv4Net,
  ipNetToString,
  ipToString,
  maskPrefixLength,
  type ParsedCidr,
  parseCidr,
  parseIPv4,
  prefixToMask,
} from './net.js';
export {
  CERT_BANNER,
  ED25519_PRIVATE_KEY_BANNER,
  ED25519_PUBLIC_KEY_BANNER,
  type PemBlock,
  pemDecode,
  pemDecodeAll,
  pemEncode,
  pemText,
  X25519_PRIVATE_KEY_BANNER,
  X25519_PUBLIC_KEY_BANNER,
} from './pem.js';

import { NebulaCertificate } from './certificate.js';

/** `NebulaCertificate.fromBytes`. */
export const fromBytes = (bytes: Uint8Array): NebulaCertificate => NebulaCertificate.fromBytes(bytes);
/** `NebulaCertificate.fromPem`: the first block, plus the text after it. */
export const fromPem = (input: string | Uint8Array): { cert: NebulaCertificate; rest: string } =>
  NebulaCertificate.fromPem(input);
/** Canonical bytes of a certificate. */
export const toBytes = (cert: NebulaCertificate): Uint8Array => cert.toBytes();
