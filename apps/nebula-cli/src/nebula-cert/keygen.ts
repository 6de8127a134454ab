/** `nebula-cert keygen`: an X25519 host key pair. Like 1.6.1 it overwrites existing files. */
import { generateX25519KeyPair, x25519PrivateKeyToPem, x25519PublicKeyToPem } from '@nebula-ts/cert';
import { type CertCliContext, requireFlag } from './context.js';
import { FLAGS } from './help.js';
import { writeOrFail } from './output.js';

export async function runKeygen(args: readonly string[], ctx: CertCliContext): Promise<void> {
  const f = FLAGS.keygen();
  f.parse(args);
  const outKey = f.getString('out-key');
  const outPub = f.getString('out-pub');
  requireFlag('out-key', outKey);
  requireFlag('out-pub', outPub);
  const kp = generateX25519KeyPair();
  writeOrFail(ctx, 'out-key', outKey, x25519PrivateKeyToPem(kp.privateKey));
  writeOrFail(ctx, 'out-pub', outPub, x25519PublicKeyToPem(kp.publicKey));
}
