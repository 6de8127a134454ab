/** `nebula-cert verify`: every CA block must load (expired ones too fail here, as in 1.6.1). */
import { CAPool, isCertError, NebulaCertificate, pemText } from '@nebula-ts/cert';
import { type CertCliContext, CertCliError, requireFlag } from './context.js';
import { FLAGS } from './help.js';
import { orFail, readOrFail } from './read.js';

export async function runVerify(args: readonly string[], ctx: CertCliContext): Promise<void> {
  const f = FLAGS.verify();
  f.parse(args);
  const caPath = f.getString('ca');
  const crtPath = f.getString('crt');
  requireFlag('ca', caPath);
  requireFlag('crt', crtPath);
  const nowS = Math.floor((ctx.now ?? Date.now)() / 1000);

  let rest = pemText(readOrFail(ctx, caPath, 'error while reading ca: '));
  const pool = new CAPool();
  for (;;) {
    orFail('error while adding ca cert to pool: ', () => {
      const parsed = NebulaCertificate.fromPem(rest);
      rest = parsed.rest;
      if (pool.addCA(parsed.cert, nowS)) {
        throw new CertCliError(
          `error while adding ca cert to pool: ${parsed.cert.name}: certificate is expired`,
        );
      }
    });
    if (rest.trim() === '') break;
  }

  const rawCrt = readOrFail(ctx, crtPath, 'unable to read crt; ');
  const cert = orFail('error while parsing crt: ', () => NebulaCertificate.fromPem(rawCrt).cert);
  try {
    pool.verify(cert, nowS);
  } catch (e) {
    if (isCertError(e)) throw new CertCliError(e.message);
    throw e;
  }
}
