import { type CertCliContext, CertCliError, fsPath } from './context.js';
import { GoIoError, goWriteFile } from './go-os.js';
import { qrPng } from './qr.js';

/** Go wraps file errors per flag: "error while writing out-key: open x: ...". */
export function writeOrFail(
  ctx: CertCliContext,
  flag: string,
  path: string,
  data: string | Uint8Array,
): void {
  try {
    goWriteFile(path, data, fsPath(ctx, path));
  } catch (e) {
    if (e instanceof GoIoError) throw new CertCliError(`error while writing ${flag}: ${e.message}`);
    throw e;
  }
}

export async function writeQr(ctx: CertCliContext, path: string, pem: string): Promise<void> {
  if (path === '') return;
  let png: Uint8Array;
  try {
    png = await qrPng(pem);
  } catch (e) {
    // go-qrcode's wording for input beyond QR version 40, which is the only way this fails.
    const msg = /too big|too long/i.test((e as Error).message)
      ? 'content too long to encode'
      : (e as Error).message;
    throw new CertCliError(`error while generating qr code: ${msg}`);
  }
  writeOrFail(ctx, 'out-qr', path, png);
}
