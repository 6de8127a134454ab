/**
 * Loads and checks what `pki.*` points at, with the messages 1.6.1 gives: the CA pool (with the
 * blocklist), our certificate, and our X25519 key. `-test` and startup both go through here.
 */
import { readFile } from 'node:fs/promises';
import { CAPool, isCertError, loadX25519PrivateKey, NebulaCertificate } from '@nebula-ts/cert';
import type { NebulaConfig, PkiConfig } from '@nebula-ts/config';
import { formatIpv4, parseIpv4 } from '@nebula-ts/config';
import { CliError } from '../errors.js';

export interface LoadedPki {
  readonly caPool: CAPool;
  readonly expiredCas: readonly NebulaCertificate[];
  readonly cert: NebulaCertificate;
  readonly privateKey: Uint8Array;
}

/** A `pki.*` value is inline PEM when it contains a PEM header, else a path. */
async function readPkiItem(key: 'ca' | 'cert' | 'key', value: string): Promise<string> {
  if (value.includes('-----BEGIN')) return value;
  try {
    return await readFile(value, 'utf8');
  } catch (e) {
    throw new CliError('ERR_CLI_PKI', `unable to read pki.${key} file ${value}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

function certMessage(e: unknown): string {
  return isCertError(e) || e instanceof Error ? (e as Error).message : String(e);
}

export async function loadPki(
  pki: PkiConfig,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<LoadedPki> {
  const caText = await readPkiItem('ca', pki.ca);
  let caPool: CAPool;
  let expiredCas: readonly NebulaCertificate[];
  try {
    ({ pool: caPool, expired: expiredCas } = CAPool.fromPem(caText, { nowSeconds }));
  } catch (e) {
    throw new CliError(
      'ERR_CLI_PKI',
      `error while adding CA certificate to CA trust store: ${certMessage(e)}`,
      { cause: e },
    );
  }
  for (const fp of pki.blocklist) caPool.blocklist(fp);

  const certText = await readPkiItem('cert', pki.cert);
  let cert: NebulaCertificate;
  try {
    cert = NebulaCertificate.fromPem(certText).cert;
  } catch (e) {
    throw new CliError('ERR_CLI_PKI', `error while unmarshaling pki.cert ${pki.cert}: ${certMessage(e)}`, {
      cause: e,
    });
  }
  if (cert.expired(nowSeconds))
    throw new CliError('ERR_CLI_PKI', 'nebula certificate for this host is expired');
  if (cert.details.ips.length === 0) throw new CliError('ERR_CLI_PKI', 'no IPs encoded in certificate');

  const keyText = await readPkiItem('key', pki.key);
  let privateKey: Uint8Array;
  try {
    privateKey = loadX25519PrivateKey(keyText).key;
  } catch (e) {
    throw new CliError('ERR_CLI_PKI', `error while unmarshaling pki.key ${pki.key}: ${certMessage(e)}`, {
      cause: e,
    });
  }
  try {
    cert.verifyPrivateKey(privateKey);
  } catch (e) {
    throw new CliError('ERR_CLI_PKI', certMessage(e), { cause: e });
  }
  // Not checked by 1.6.1 at startup, but a cert the CA does not vouch for can never handshake.
  try {
    caPool.verify(cert, nowSeconds);
  } catch (e) {
    throw new CliError('ERR_CLI_PKI', `pki.cert is not valid for pki.ca: ${certMessage(e)}`, { cause: e });
  }
  return { caPool, expiredCas, cert, privateKey };
}

/** Overlay addresses in the config must lie in our certificate's network (its first IP). */
export function checkOverlayAddresses(config: NebulaConfig, cert: NebulaCertificate): void {
  const net = cert.details.ips[0];
  if (!net) return;
  const inNet = (ip: number): boolean => (ip & net.mask) >>> 0 === (net.addr & net.mask) >>> 0;
  const bits = 32 - countTrailingZeros(net.mask);
  const netText = `${formatIpv4((net.addr & net.mask) >>> 0)}/${bits}`;
  for (const h of config.lighthouse.hosts) {
    if (!inNet(parseIpv4(h) as number))
      throw new CliError('ERR_CLI_CONFIG', `lighthouse host ${h} is not in our subnet ${netText}, invalid`);
  }
  for (const vpnIp of config.static_host_map.keys()) {
    if (!inNet(parseIpv4(vpnIp) as number))
      throw new CliError(
        'ERR_CLI_CONFIG',
        `static_host_map key ${vpnIp} is not in our subnet ${netText}, invalid`,
      );
  }
  config.tun.routes.forEach((r, i) => {
    const contained = r.route.bits >= bits && inNet(r.route.addr);
    if (!contained)
      throw new CliError(
        'ERR_CLI_CONFIG',
        `tun.routes[${i}].route ${r.route.text} is not contained within the network attached to the certificate (${netText})`,
      );
  });
}

function countTrailingZeros(mask: number): number {
  if (mask === 0) return 32;
  let n = 0;
  while (((mask >>> n) & 1) === 0) n++;
  return n;
}
