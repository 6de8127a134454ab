/** `nebula-cert ca`: a self-signed Ed25519 CA (1.6.1 flow and messages). */
import { ed25519PrivateKeyToPem, generateEd25519KeyPair, NebulaCertificate } from '@nebula-ts/cert';
import { parseCidrList } from './cidr.js';
import { type CertCliContext, CertCliError, fsPath, helpError, requireFlag, splitList } from './context.js';
import { goExists } from './go-os.js';
import { FLAGS } from './help.js';
import { writeOrFail, writeQr } from './output.js';
import { validityWindow } from './time.js';

export async function runCa(args: readonly string[], ctx: CertCliContext): Promise<void> {
  const f = FLAGS.ca();
  f.parse(args);
  const name = f.getString('name');
  const outKey = f.getString('out-key');
  const outCrt = f.getString('out-crt');
  requireFlag('name', name);
  requireFlag('out-key', outKey);
  requireFlag('out-crt', outCrt);
  const duration = f.getDuration('duration');
  if (duration <= 0n) throw helpError('-duration must be greater than 0');

  const groups = splitList(f.getString('groups'));
  const ips = parseCidrList(f.getString('ips'), 'ip', false);
  const subnets = parseCidrList(f.getString('subnets'), 'subnet', true);

  const kp = generateEd25519KeyPair();
  const { notBefore, notAfter } = validityWindow((ctx.now ?? Date.now)(), duration);
  const unsigned = NebulaCertificate.create({
    name,
    groups,
    ips,
    subnets,
    notBefore,
    notAfter,
    publicKey: kp.publicKey,
    isCA: true,
    issuer: '',
  });

  if (goExists(fsPath(ctx, outKey)))
    throw new CertCliError(`refusing to overwrite existing CA key: ${outKey}`);
  if (goExists(fsPath(ctx, outCrt)))
    throw new CertCliError(`refusing to overwrite existing CA cert: ${outCrt}`);
  const cert = unsigned.sign(kp.privateKey);
  writeOrFail(ctx, 'out-key', outKey, ed25519PrivateKeyToPem(kp.privateKey));
  const pem = cert.toPem();
  writeOrFail(ctx, 'out-crt', outCrt, pem);
  await writeQr(ctx, f.getString('out-qr'), pem);
}
