/** Error codes of @nebula-ts/aead. The native addon sets the same `code` on what it throws. */
export type AeadErrorCode =
  /** The native addon could not be loaded (not built, wrong ABI). `cause` has the loader error. */
  | 'ERR_AEAD_NATIVE_UNAVAILABLE'
  /** Wrong argument types, key size, unknown cipher, slot out of range. */
  | 'ERR_AEAD_ARGUMENT'
  /** A seal meta entry uses an empty slot or points outside the buffer; count > meta.length / 3. */
  | 'ERR_AEAD_BAD_META'
  /** OpenSSL refused an operation that cannot fail on valid input. */
  | 'ERR_AEAD_OPENSSL'
  /** A seal bound to a send (`bindSeal`'s `send`): the send refused the batch (`errno`, e.g. a closed socket). */
  | 'ERR_AEAD_SEND';

/** `code` is the stable part; match on it (the guard below), not on the class. */
export class AeadError extends Error {
  static override readonly name = 'AeadError';
  override readonly name = 'AeadError';
  readonly code: AeadErrorCode;
  constructor(code: AeadErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

const CODES: ReadonlySet<string> = new Set<AeadErrorCode>([
  'ERR_AEAD_NATIVE_UNAVAILABLE',
  'ERR_AEAD_ARGUMENT',
  'ERR_AEAD_BAD_META',
  'ERR_AEAD_OPENSSL',
  'ERR_AEAD_SEND',
]);

/** True for AeadError and for the addon's errors (same codes); checks `code`, not the class. */
export function isAeadError(e: unknown): e is Error & { code: AeadErrorCode } {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    CODES.has((e as { code: string }).code)
  );
}
