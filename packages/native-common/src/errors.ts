/**
 * Errors of `@nebula-ts/native-common`'s JS face. Every error carries a stable `code`
 * (`ERR_NATIVE_*`); those from a syscall also carry `errno`, `syscall` and `sysCode` (the errno
 * name, e.g. `EMFILE`).
 */

export type NativeErrorCode =
  | 'ERR_NATIVE_INVALID_ARG'
  | 'ERR_NATIVE_SYSCALL'
  | 'ERR_NATIVE_CLOSED'
  | 'ERR_NATIVE_WRONG_THREAD';

export class NativeError extends Error {
  static override readonly name = 'NativeError';
  override readonly name = 'NativeError';
  readonly code: NativeErrorCode;
  readonly errno: number | undefined;
  readonly syscall: string | undefined;
  readonly sysCode: string | undefined;

  constructor(
    code: NativeErrorCode,
    message: string,
    details?: { errno?: number; syscall?: string; sysCode?: string; cause?: unknown },
  ) {
    super(message, details?.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.errno = details?.errno;
    this.syscall = details?.syscall;
    this.sysCode = details?.sysCode;
  }
}

/** Structural check (survives duplicate copies of this package). */
export function isNativeError(e: unknown): e is NativeError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    (e as { code: string }).code.startsWith('ERR_NATIVE_')
  );
}

/** Turns the addon's errno error (`code`, `errno`, `syscall`) or argument error into a `NativeError`. */
export function fromNative(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  if (e instanceof TypeError || e instanceof RangeError)
    return new NativeError('ERR_NATIVE_INVALID_ARG', e.message, { cause: e });
  const n = e as Error & { code?: unknown; errno?: unknown; syscall?: unknown };
  if (typeof n.syscall !== 'string' || typeof n.code !== 'string') return e;
  return new NativeError('ERR_NATIVE_SYSCALL', n.message, {
    errno: typeof n.errno === 'number' ? n.errno : 0,
    syscall: n.syscall,
    sysCode: n.code,
    cause: e,
  });
}
