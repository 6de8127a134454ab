/**
 * Errors raised by `@nebula-ts/tun-linux`. Every failure that came from a syscall keeps the kernel's
 * `errno`, its name (`sysCode`, e.g. `EPERM`) and the `syscall` that failed (`ioctl`, `netlink`...),
 * plus `op` naming what we were doing (`TUNSETIFF`, `RTM_NEWROUTE 203.0.113.0/24`...).
 */

export type TunErrorCode =
  /** CAP_NET_ADMIN is missing (EPERM/EACCES from TUNSETIFF, an ioctl or rtnetlink). */
  | 'ERR_TUN_PERMISSION'
  /** `/dev/net/tun` does not exist (or the tun module is not available). */
  | 'ERR_TUN_NO_DEVICE'
  /** Operation on a queue or device after `close()`. */
  | 'ERR_TUN_CLOSED'
  /** Any other syscall failure; see `sysCode`, `errno`, `syscall`. */
  | 'ERR_TUN_SYSCALL';

export class TunError extends Error {
  static override readonly name = 'TunError';
  override readonly name = 'TunError';
  readonly code: TunErrorCode;
  readonly errno: number | undefined;
  readonly sysCode: string | undefined;
  readonly syscall: string | undefined;

  constructor(
    code: TunErrorCode,
    message: string,
    sys?: {
      errno?: number | undefined;
      sysCode?: string | undefined;
      syscall?: string | undefined;
      cause?: unknown;
    },
  ) {
    super(message, sys?.cause === undefined ? undefined : { cause: sys.cause });
    this.code = code;
    this.errno = sys?.errno;
    this.sysCode = sys?.sysCode;
    this.syscall = sys?.syscall;
  }
}

/** Structural guard: survives duplicate copies of this package. */
export function isTunError(e: unknown): e is TunError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    (e as { code: string }).code.startsWith('ERR_TUN_')
  );
}

interface NativeErrnoError {
  message: string;
  code?: string;
  errno?: number;
  syscall?: string;
}

function isNativeErrno(e: unknown): e is NativeErrnoError {
  return e instanceof Error && typeof (e as NativeErrnoError).errno === 'number';
}

/**
 * Turns an errno error from the addon into a TunError whose message says what to do about it.
 * `what` names the operation for the message ("open tun queue nebula1").
 */
export function fromNative(e: unknown, what: string): unknown {
  if (!isNativeErrno(e)) return e;
  const sys = { errno: e.errno, sysCode: e.code, syscall: e.syscall, cause: e };
  if (e.code === 'EPERM' || e.code === 'EACCES') {
    return new TunError(
      'ERR_TUN_PERMISSION',
      `${what}: permission denied, CAP_NET_ADMIN is required (run as root or grant cap_net_admin) [${e.message}]`,
      sys,
    );
  }
  if (
    (e.code === 'ENOENT' || e.code === 'ENODEV' || e.code === 'ENXIO') &&
    e.message.includes('/dev/net/tun')
  ) {
    return new TunError(
      'ERR_TUN_NO_DEVICE',
      `${what}: /dev/net/tun is missing (load the tun module: modprobe tun; or create it: mknod /dev/net/tun c 10 200) [${e.message}]`,
      sys,
    );
  }
  return new TunError('ERR_TUN_SYSCALL', `${what}: ${e.message}`, sys);
}
