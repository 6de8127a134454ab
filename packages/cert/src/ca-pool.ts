/** Go's `NebulaCAPool` (1.6.1): trusted CAs by fingerprint, a blocklist, and `Verify`. */
import type { NebulaCertificate as Cert } from './certificate.js';
import { NebulaCertificate } from './certificate.js';
import { type CertCryptoProvider, getDefaultCryptoProvider } from './crypto.js';
import { CertError } from './errors.js';
import { pemText } from './pem.js';

export interface CAPoolLoad {
  readonly pool: CAPool;
  /** CAs already expired at load time: kept in the pool, the caller warns about each (as Go does). */
  readonly expired: readonly Cert[];
}

export class CAPool {
  readonly #cas = new Map<string, Cert>();
  readonly #blocklist = new Set<string>();
  readonly #provider: CertCryptoProvider;

  constructor(provider: CertCryptoProvider = getDefaultCryptoProvider()) {
    this.#provider = provider;
  }

  /**
   * Go's `NewCAPoolFromBytes` plus the node's check: every PEM block must be a self-signed CA.
   * Expired CAs are kept and listed in `expired`; a pool where every CA is expired throws
   * `ERR_CERT_NO_VALID_CA`.
   */
  static fromPem(
    text: string | Uint8Array,
    options: { nowSeconds?: number; provider?: CertCryptoProvider } = {},
  ): CAPoolLoad {
    const pool = new CAPool(options.provider);
    const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
    let rest = pemText(text);
    for (;;) {
      const r = NebulaCertificate.fromPem(rest);
      rest = r.rest;
      pool.addCA(r.cert, now);
      if (rest.trim() === '') break;
    }
    // Counted over distinct CAs (a bundle may repeat one), as Go counts its map.
    const expired = pool.cas().filter((c) => c.expired(now));
    if (expired.length >= pool.size) {
      throw new CertError('ERR_CERT_NO_VALID_CA', 'no valid CA certificates present');
    }
    return { pool, expired };
  }

  /**
   * Go's `AddCACertificate` for an already parsed cert. Returns true when the CA is expired at
   * `nowSeconds` (it is added anyway).
   */
  addCA(ca: Cert, nowSeconds: number = Math.floor(Date.now() / 1000)): boolean {
    if (!ca.isCA) throw new CertError('ERR_CERT_NOT_CA', `${ca.name}: certificate is not a CA`);
    if (!ca.checkSignature(ca.publicKey, this.#provider)) {
      throw new CertError('ERR_CERT_NOT_SELF_SIGNED', `${ca.name}: certificate is not self-signed`);
    }
    this.#cas.set(ca.fingerprint(this.#provider), ca);
    return ca.expired(nowSeconds);
  }

  get size(): number {
    return this.#cas.size;
  }

  /** Trusted CA fingerprints. */
  fingerprints(): string[] {
    return [...this.#cas.keys()];
  }

  cas(): Cert[] {
    return [...this.#cas.values()];
  }

  blocklist(fingerprint: string): void {
    this.#blocklist.add(fingerprint);
  }

  resetBlocklist(): void {
    this.#blocklist.clear();
  }

  isBlocklisted(cert: Cert): boolean {
    return this.#blocklist.has(cert.fingerprint(this.#provider));
  }

  caForIssuer(issuerHex: string): Cert | undefined {
    return this.#cas.get(issuerHex);
  }

  /** Go's `GetCAForCert`. */
  caForCert(cert: Cert): Cert {
    if (cert.issuer === '') throw new CertError('ERR_CERT_NO_ISSUER', 'no issuer in certificate');
    const ca = this.#cas.get(cert.issuer);
    if (ca === undefined)
      throw new CertError('ERR_CERT_CA_NOT_FOUND', 'could not find ca for the certificate');
    return ca;
  }

  /**
   * Go's `Verify(t, pool)` in its order: blocklist, issuer, root expiry, expiry, signature, root
   * constraints. Returns the signing CA; throws `CertError` with Go's message.
   */
  verify(cert: Cert, nowSeconds: number = Math.floor(Date.now() / 1000)): Cert {
    if (this.isBlocklisted(cert)) throw new CertError('ERR_CERT_BLOCKLISTED', 'certificate has been blocked');
    const signer = this.caForCert(cert);
    if (signer.expired(nowSeconds))
      throw new CertError('ERR_CERT_ROOT_EXPIRED', 'root certificate is expired');
    if (cert.expired(nowSeconds)) throw new CertError('ERR_CERT_EXPIRED', 'certificate is expired');
    if (!cert.checkSignature(signer.publicKey, this.#provider)) {
      throw new CertError('ERR_CERT_SIGNATURE_MISMATCH', 'certificate signature did not match');
    }
    cert.checkRootConstraints(signer);
    return signer;
  }
}
