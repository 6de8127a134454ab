import { isCertError } from '@nebula-ts/cert';
import { type CertCliContext, CertCliError, fsPath } from './context.js';
import { GoIoError, goReadFile } from './go-os.js';

/** Reads a file; Go's wording differs per call site, hence `prefix` ("error while reading ca-key: "). */
export function readOrFail(ctx: CertCliContext, path: string, prefix: string): Uint8Array {
  try {
    return goReadFile(path, fsPath(ctx, path));
  } catch (e) {
    if (e instanceof GoIoError) throw new CertCliError(`${prefix}${e.message}`);
    throw e;
  }
}

/** Runs a library call, turning its CertError into `<prefix><Go message>`. */
export function orFail<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isCertError(e)) throw new CertCliError(`${prefix}${e.message}`);
    throw e;
  }
}
