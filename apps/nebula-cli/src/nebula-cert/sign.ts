/** `nebula-cert sign`: a host certificate signed by the CA (1.6.1 order of checks and messages). */
import {
  generateX25519KeyPair,
  isCertError,
  loadEd25519PrivateKey,
  loadX25519PublicKey,
  NebulaCertificate,
  x25519PrivateKeyToPem,
} from '@nebula-ts/cert';
import { parseCidrFlag, parseCidrList } from './cidr.js';
import { type CertCliContext, CertCliError, fsPath, helpError, requireFlag, splitList } from './context.js';
import { goExists } from './go-os.js';
import { FLAGS } from './help.js';
import { writeOrFail, writeQr } from './output.js';
import { orFail, readOrFail } from './read.js';
import { validityWindow } from './time.js';

export async function runSign(args: readonly string[], ctx: CertCliContext): Promise<void> {
  const f = FLAGS.sign();
  f.parse(args);
  const caKeyPath = f.getString('ca-key');
  const caCrtPath = f.getString('ca-crt');
  const name = f.getString('name');
  const ip = f.getString('ip');
  const inPub = f.getString('in-pub');
  let outKey = f.getString('out-key');
  let outCrt = f.getString('out-crt');
  requireFlag('ca-key', caKeyPath);
  requireFlag('ca-crt', caCrtPath);
  requireFlag('name', name);
  requireFlag('ip', ip);
  if (inPub !== '' && outKey !== '') throw helpError('cannot set both -in-pub and -out-key');

  const rawCaKey = readOrFail(ctx, caKeyPath, 'error while reading ca-key: ');
  const caKey = orFail('error while parsing ca-key: ', () => loadEd25519PrivateKey(rawCaKey).key);
  const rawCaCrt = readOrFail(ctx, caCrtPath, 'error while reading ca-crt: ');
  const caCert = orFail('error while parsing ca-crt: ', () => NebulaCertificate.fromPem(rawCaCrt).cert);
  try {
    caCert.verifyPrivateKey(caKey);
  } catch (e) {
    if (isCertError(e))
      throw new CertCliError('refusing to sign, root certificate does not match private key');
    throw e;
  }
  const issuer = caCert.fingerprint();
  const nowMs = (ctx.now ?? Date.now)();
  const nowS = Math.floor(nowMs / 1000);
  if (caCert.expired(nowS)) throw new CertCliError('ca certificate is expired');

  let duration = f.getDuration('duration');
  // No duration: expire one second before the CA (Go: time.Until(ca.NotAfter) - 1s).
  if (duration <= 0n)
    duration = BigInt(caCert.notAfter) * 1_000_000_000n - BigInt(nowMs) * 1_000_000n - 1_000_000_000n;

  const ipNet = parseCidrFlag(ip, 'ip', false);
  const groups = splitList(f.getString('groups'));
  const subnets = parseCidrList(f.getString('subnets'), 'subnet', true);

  let publicKey: Uint8Array;
  let privateKey: Uint8Array | undefined;
  if (inPub !== '') {
    const raw = readOrFail(ctx, inPub, 'error while reading in-pub: ');
    publicKey = orFail('error while parsing in-pub: ', () => loadX25519PublicKey(raw).key);
  } else {
    ({ publicKey, privateKey } = generateX25519KeyPair());
  }

  const { notBefore, notAfter } = validityWindow(nowMs, duration);
  const unsigned = NebulaCertificate.create({
    name,
    ips: [ipNet],
    subnets,
    groups,
    notBefore,
    notAfter,
    publicKey,
    isCA: false,
    issuer,
  });
  orFail('refusing to sign, root certificate constraints violated: ', () =>
    unsigned.checkRootConstraints(caCert),
  );

  if (outKey === '') outKey = `${name}.key`;
  if (outCrt === '') outCrt = `${name}.crt`;
  if (goExists(fsPath(ctx, outCrt))) throw new CertCliError(`refusing to overwrite existing cert: ${outCrt}`);
  const cert = unsigned.sign(caKey);
  if (privateKey !== undefined) {
    if (goExists(fsPath(ctx, outKey)))
      throw new CertCliError(`refusing to overwrite existing key: ${outKey}`);
    writeOrFail(ctx, 'out-key', outKey, x25519PrivateKeyToPem(privateKey));
  }
  const pem = cert.toPem();
  writeOrFail(ctx, 'out-crt', outCrt, pem);
  await writeQr(ctx, f.getString('out-qr'), pem);
}
