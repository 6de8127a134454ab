/**
 * Errors of `@nebula-ts/cert`. Messages are Go Nebula 1.6.1's error strings verbatim (log and CLI
 * parity); `code` is the stable thing to branch on.
 */
export type CertErrorCode =
  /** Bytes that are not a valid RawNebulaCertificate (wire format, pairs, key length, UTF-8). */
  | 'ERR_CERT_MALFORMED'
  /** No PEM block, or a PEM block with the wrong banner. */
  | 'ERR_CERT_PEM'
  /** A key of the wrong length or type, or a key that does not match its certificate. */
  | 'ERR_CERT_KEY'
  | 'ERR_CERT_BLOCKLISTED'
  | 'ERR_CERT_NO_ISSUER'
  | 'ERR_CERT_CA_NOT_FOUND'
  | 'ERR_CERT_ROOT_EXPIRED'
  | 'ERR_CERT_EXPIRED'
  | 'ERR_CERT_SIGNATURE_MISMATCH'
  /** Root constraints (`CheckRootConstrains`) violated; `detail` says which one. */
  | 'ERR_CERT_CONSTRAINTS'
  | 'ERR_CERT_NOT_CA'
  | 'ERR_CERT_NOT_SELF_SIGNED'
  /** Every CA of a pool is expired. */
  | 'ERR_CERT_NO_VALID_CA'
  /** A value we refuse to build a certificate from (bad IP, bad hex issuer, unsafe time...). */
  | 'ERR_CERT_INVALID_ARGUMENT';

export type ConstraintDetail = 'expires-after-signer' | 'valid-before-signer' | 'group' | 'ip' | 'subnet';

export class CertError extends Error {
  static override readonly name = 'CertError';
  override readonly name = 'CertError';
  readonly code: CertErrorCode;
  /** Set for `ERR_CERT_CONSTRAINTS`. */
  readonly detail: ConstraintDetail | undefined;

  constructor(
    code: CertErrorCode,
    message: string,
    options?: { detail?: ConstraintDetail; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.detail = options?.detail;
  }
}

/** Structural guard: survives duplicate copies of this package, unlike `instanceof`. */
export function isCertError(e: unknown): e is CertError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    (e as { code: string }).code.startsWith('ERR_CERT_') &&
    typeof (e as { message?: unknown }).message === 'string'
  );
}
