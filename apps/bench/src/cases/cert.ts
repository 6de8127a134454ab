/**
 * `pnpm bench cert`: certificate costs on the handshake path. Verify/s with node:crypto (fast
 * path) vs @noble (reference), and parse + fingerprint ns/op. Rates are per CPU-second.
 * Args: `--quick` for a short run (CI smoke).
 */
import {
  CAPool,
  type CertCryptoProvider,
  generateEd25519KeyPair,
  generateX25519KeyPair,
  NebulaCertificate,
  nobleProvider,
  nodeCryptoProvider,
} from '@nebula-ts/cert';
import { measure, type OpResult, printTable } from '../harness.js';

function fixture() {
  const now = Math.floor(Date.now() / 1000);
  const caKeys = generateEd25519KeyPair();
  const ca = NebulaCertificate.create({
    name: 'Bench CA',
    ips: [],
    subnets: [],
    groups: ['ops', 'web'],
    notBefore: now - 60,
    notAfter: now + 86_400,
    publicKey: caKeys.publicKey,
    isCA: true,
    issuer: '',
  }).sign(caKeys.privateKey);
  const hostKeys = generateX25519KeyPair();
  const host = NebulaCertificate.create({
    name: 'bench-host',
    ips: [{ addr: 0xcb007101, mask: 0xffffff00 }],
    subnets: [{ addr: 0x0a000000, mask: 0xff000000 }],
    groups: ['ops'],
    notBefore: now - 30,
    notAfter: now + 86_000,
    publicKey: hostKeys.publicKey,
    isCA: false,
    issuer: ca.fingerprint(),
  }).sign(caKeys.privateKey);
  return { ca, host, hostPublic: hostKeys.publicKey, now };
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const { ca, host, hostPublic, now } = fixture();
  const bytes = host.toBytes();
  const wire = host.bytesWithoutPublicKey();
  const rows: OpResult[] = [];
  const scale = (n: number) => (quick ? Math.max(20, Math.floor(n / 20)) : n);

  rows.push(measure('parse (fromBytes)', scale(200_000), () => NebulaCertificate.fromBytes(bytes)));
  rows.push(
    measure('parse + fingerprint (node sha256)', scale(100_000), () =>
      NebulaCertificate.fromBytes(bytes).fingerprint(nodeCryptoProvider),
    ),
  );
  rows.push(
    measure('parse + fingerprint (noble sha256)', scale(50_000), () =>
      NebulaCertificate.fromBytes(bytes).fingerprint(nobleProvider),
    ),
  );
  rows.push(
    measure('toBytes (canonical encode)', scale(200_000), () => NebulaCertificate.fromBytes(bytes).toBytes()),
  );

  const providers: [string, CertCryptoProvider, number][] = [
    ['node', nodeCryptoProvider, 20_000],
    ['noble', nobleProvider, 400],
  ];
  for (const [name, provider, ops] of providers) {
    const { pool } = CAPool.fromPem(ca.toPem(), { nowSeconds: now, provider });
    rows.push(
      measure(`signature check (${name})`, scale(ops), () => host.checkSignature(ca.publicKey, provider), 3),
    );
    // What a handshake does: rebuild the cert around the Noise static key, then Verify.
    rows.push(
      measure(
        `handshake cert: fromHandshakeBytes + pool.verify (${name})`,
        scale(ops),
        () => pool.verify(NebulaCertificate.fromHandshakeBytes(wire, hostPublic), now),
        3,
      ),
    );
  }
  printTable(rows);
  console.log('');
  for (const r of rows.filter((x) => x.name.includes('verify') || x.name.includes('signature'))) {
    console.log(`${r.name}: ${Math.round(1e9 / r.nsPerOp)} /s per CPU-second`);
  }
}
