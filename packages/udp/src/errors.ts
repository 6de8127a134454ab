/**
 * Errors of `@nebula-ts/udp`. Every error carries a stable `code` (`ERR_UDP_*`); those that come
 * from a syscall also carry `errno`, `syscall` and `sysCode` (the errno name, e.g. `EADDRINUSE`),
 * and the local address involved is in both `address` and the message.
 */

export type UdpErrorCode =
  | 'ERR_UDP_ADDRESS_IN_USE'
  | 'ERR_UDP_PERMISSION'
  | 'ERR_UDP_ADDRESS_NOT_AVAILABLE'
  | 'ERR_UDP_SYSCALL'
  | 'ERR_UDP_CLOSED'
  | 'ERR_UDP_INVALID_ADDRESS'
  | 'ERR_UDP_INVALID_ARG';

export interface SyscallDetails {
  readonly errno: number;
  readonly syscall: string;
  readonly sysCode: string;
}

/** Runtime failures: bind, setsockopt, recvmmsg... and use after close. */
export class UdpError extends Error {
  static override readonly name = 'UdpError';
  override readonly name = 'UdpError';
  readonly code: UdpErrorCode;
  readonly errno: number | undefined;
  readonly syscall: string | undefined;
  readonly sysCode: string | undefined;
  readonly address: string | undefined;

  constructor(
    code: UdpErrorCode,
    message: string,
    details?: Partial<SyscallDetails> & { address?: string; cause?: unknown },
  ) {
    super(message, details?.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.errno = details?.errno;
    this.syscall = details?.syscall;
    this.sysCode = details?.sysCode;
    this.address = details?.address;
  }
}

/** A malformed address or host string (argument error, thrown before any syscall). */
export class UdpAddressError extends TypeError {
  static override readonly name = 'UdpAddressError';
  override readonly name = 'UdpAddressError';
  readonly code = 'ERR_UDP_INVALID_ADDRESS' as const;
}

/** An argument outside its range: port, batch size, slot bounds, socket count. */
export class UdpRangeError extends RangeError {
  static override readonly name = 'UdpRangeError';
  override readonly name = 'UdpRangeError';
  readonly code = 'ERR_UDP_INVALID_ARG' as const;
}

/** Structural check (survives duplicate copies of this package). */
export function isUdpError(e: unknown): e is UdpError | UdpAddressError | UdpRangeError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    (e as { code: string }).code.startsWith('ERR_UDP_')
  );
}

const bySysCode: Record<string, UdpErrorCode> = {
  EADDRINUSE: 'ERR_UDP_ADDRESS_IN_USE',
  EACCES: 'ERR_UDP_PERMISSION',
  EPERM: 'ERR_UDP_PERMISSION',
  EADDRNOTAVAIL: 'ERR_UDP_ADDRESS_NOT_AVAILABLE',
  EBADF: 'ERR_UDP_CLOSED',
};

/** Turns the addon's errno error (`code`, `errno`, `syscall`) into a `UdpError` naming `address`. */
export function fromNative(e: unknown, address: string): unknown {
  if (!(e instanceof Error)) return e;
  // The addon's own bounds checks: give them the package's code.
  if (e instanceof RangeError && !(e instanceof UdpRangeError))
    return new UdpRangeError(e.message, { cause: e });
  const n = e as Error & { code?: unknown; errno?: unknown; syscall?: unknown };
  if (typeof n.syscall !== 'string' || typeof n.code !== 'string') return e;
  const code = bySysCode[n.code] ?? 'ERR_UDP_SYSCALL';
  return new UdpError(code, `${n.message} (udp ${address})`, {
    errno: typeof n.errno === 'number' ? n.errno : 0,
    syscall: n.syscall,
    sysCode: n.code,
    address,
    cause: e,
  });
}
