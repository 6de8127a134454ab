/** File access with Go's `*os.PathError` texts ("open x: no such file or directory"). */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const STRERROR: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EEXIST: 'file exists',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EINVAL: 'invalid argument',
  EBUSY: 'device or resource busy',
  ETXTBSY: 'text file busy',
};

export function goPathError(e: unknown, path: string, op: string): string {
  const err = e as NodeJS.ErrnoException;
  const text = (err.code && STRERROR[err.code]) ?? err.message;
  return `${err.syscall ?? op} ${path}: ${text}`;
}

export class GoIoError extends Error {}

/** `ioutil.ReadFile`; throws GoIoError carrying Go's error text. */
export function goReadFile(path: string, real: string = path): Uint8Array {
  try {
    return readFileSync(real);
  } catch (e) {
    throw new GoIoError(goPathError(e, path, 'open'));
  }
}

/** `ioutil.WriteFile(path, data, 0600)`. */
export function goWriteFile(path: string, data: string | Uint8Array, real: string = path): void {
  try {
    writeFileSync(real, data, { mode: 0o600 });
  } catch (e) {
    throw new GoIoError(goPathError(e, path, 'open'));
  }
}

/** `os.Stat(path) == nil`: refuse-to-overwrite checks. */
export const goExists = (path: string): boolean => existsSync(path);
