/** `nebula-cert print`: every certificate of a file, as Go's String() or JSON, one per line. */
import { NebulaCertificate, pemText } from '@nebula-ts/cert';
import { type CertCliContext, requireFlag } from './context.js';
import { FLAGS } from './help.js';
import { writeQr } from './output.js';
import { orFail, readOrFail } from './read.js';

export async function runPrint(args: readonly string[], ctx: CertCliContext): Promise<void> {
  const f = FLAGS.print();
  f.parse(args);
  const path = f.getString('path');
  requireFlag('path', path);
  const json = f.getBool('json');
  const qrPath = f.getString('out-qr');
  let rest = pemText(readOrFail(ctx, path, 'unable to read cert; '));
  let qrText = '';
  for (;;) {
    const parsed = orFail('error while unmarshaling cert: ', () => NebulaCertificate.fromPem(rest));
    rest = parsed.rest;
    // Printed as parsed: a bad second block still shows the first, as Go does.
    ctx.stdout(`${json ? parsed.cert.toGoJson() : parsed.cert.toString()}\n`);
    if (qrPath !== '') qrText += parsed.cert.toPem();
    if (rest.trim() === '') break;
  }
  await writeQr(ctx, qrPath, qrText);
}
