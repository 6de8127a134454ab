/**
 * A Nebula v1 certificate (Go's `cert.NebulaCertificate`, 1.6.1). Immutable: the canonical bytes
 * and the fingerprint are computed once and cached.
 */
import { type CertCryptoProvider, equalBytes, getDefaultCryptoProvider } from './crypto.js';
import { CertError } from './errors.js';
import {
  decodeRawCertificate,
  emptyRawDetails,
  encodeRawCertificate,
  type RawDetails,
} from './internal/codec.js';
import { goJsonString, goTimeRFC3339, goTimeString } from './internal/go-format.js';
import { type IPv4Net, ipNetToString, maskBytesWithin, netContains } from './net.js';
import { CERT_BANNER, pemDecode, pemEncode } from './pem.js';

export interface CertificateDetails {
  readonly name: string;
  readonly ips: readonly IPv4Net[];
  readonly subnets: readonly IPv4Net[];
  readonly groups: readonly string[];
  /** Unix seconds. */
  readonly notBefore: number;
  /** Unix seconds. */
  readonly notAfter: number;
  /** Host: X25519 public key; CA: Ed25519 public key. */
  readonly publicKey: Uint8Array;
  readonly isCA: boolean;
  /** Lowercase hex fingerprint of the signing CA; `''` for a self-signed CA. */
  readonly issuer: string;
}

export const PUBLIC_KEY_LEN = 32;

const HEX_RE = /^(?:[0-9a-f]{2})*$/;
// Lone surrogates cannot be encoded as UTF-8 (Go's proto3 strings must be valid UTF-8).
const LONE_SURROGATE = /\p{Cs}/u;

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

function pairsToNets(values: readonly number[]): IPv4Net[] {
  const out: IPv4Net[] = [];
  for (let i = 0; i < values.length; i += 2) {
    out.push(Object.freeze({ addr: values[i] as number, mask: values[i + 1] as number }));
  }
  return out;
}

function netsToPairs(nets: readonly IPv4Net[]): number[] {
  const out: number[] = [];
  for (const n of nets) out.push(n.addr >>> 0, n.mask >>> 0);
  return out;
}

function checkUint32(v: unknown, what: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new CertError('ERR_CERT_INVALID_ARGUMENT', `${what} must be a uint32`);
  }
}

function checkString(v: unknown, what: string): void {
  if (typeof v !== 'string' || LONE_SURROGATE.test(v)) {
    throw new CertError('ERR_CERT_INVALID_ARGUMENT', `${what} must be a well-formed string`);
  }
}

function validateDetails(d: CertificateDetails): void {
  checkString(d.name, 'name');
  for (const g of d.groups) checkString(g, 'group');
  for (const n of [...d.ips, ...d.subnets]) {
    checkUint32(n.addr, 'address');
    checkUint32(n.mask, 'mask');
  }
  for (const [v, what] of [
    [d.notBefore, 'notBefore'],
    [d.notAfter, 'notAfter'],
  ] as const) {
    if (!Number.isSafeInteger(v))
      throw new CertError('ERR_CERT_INVALID_ARGUMENT', `${what} must be a safe integer`);
  }
  if (!(d.publicKey instanceof Uint8Array))
    throw new CertError('ERR_CERT_INVALID_ARGUMENT', 'publicKey must be bytes');
  if (typeof d.issuer !== 'string' || !HEX_RE.test(d.issuer)) {
    throw new CertError('ERR_CERT_INVALID_ARGUMENT', 'issuer must be lowercase hex');
  }
}

export class NebulaCertificate {
  readonly details: CertificateDetails;
  readonly signature: Uint8Array;
  #bytes: Uint8Array | undefined;
  #fingerprint: string | undefined;
  #groupSet: ReadonlySet<string> | undefined;

  private constructor(details: CertificateDetails, signature: Uint8Array) {
    this.details = details;
    this.signature = signature;
  }

  /** Builds a certificate from typed details (validated) and an optional signature. */
  static create(details: CertificateDetails, signature: Uint8Array = new Uint8Array(0)): NebulaCertificate {
    validateDetails(details);
    return new NebulaCertificate(freezeDetails(details), signature.slice());
  }

  /** Go's `UnmarshalNebulaCertificate`: any valid protobuf encoding; errors carry Go's messages. */
  static fromBytes(bytes: Uint8Array): NebulaCertificate {
    if (!(bytes instanceof Uint8Array) || bytes.length === 0)
      throw new CertError('ERR_CERT_MALFORMED', 'nil byte array');
    const raw = decodeRawCertificate(bytes);
    const d = raw.details;
    if (d === null) throw new CertError('ERR_CERT_MALFORMED', 'encoded Details was nil');
    if (d.ips.length % 2 !== 0) {
      throw new CertError('ERR_CERT_MALFORMED', 'encoded IPs should be in pairs, an odd number was found');
    }
    if (d.subnets.length % 2 !== 0) {
      throw new CertError(
        'ERR_CERT_MALFORMED',
        'encoded Subnets should be in pairs, an odd number was found',
      );
    }
    if (d.publicKey.length < PUBLIC_KEY_LEN) {
      throw new CertError('ERR_CERT_MALFORMED', `Public key was fewer than 32 bytes; ${d.publicKey.length}`);
    }
    // Freshly decoded arrays are owned here: freeze them in place rather than copying again.
    return new NebulaCertificate(
      Object.freeze({
        name: d.name,
        ips: Object.freeze(pairsToNets(d.ips)),
        subnets: Object.freeze(pairsToNets(d.subnets)),
        groups: Object.freeze(d.groups),
        notBefore: d.notBefore,
        notAfter: d.notAfter,
        publicKey: d.publicKey,
        isCA: d.isCA,
        issuer: hex(d.issuer),
      }),
      raw.signature,
    );
  }

  /**
   * Go's `UnmarshalNebulaCertificateFromPEM`: the first PEM block must be a certificate. Returns the
   * text after it (bundles are read block by block).
   */
  static fromPem(input: string | Uint8Array): { cert: NebulaCertificate; rest: string } {
    const { block, rest } = pemDecode(input);
    if (block === null)
      throw new CertError('ERR_CERT_PEM', 'input did not contain a valid PEM encoded block');
    if (block.type !== CERT_BANNER) {
      throw new CertError('ERR_CERT_PEM', 'bytes did not contain a proper nebula certificate banner');
    }
    return { cert: NebulaCertificate.fromBytes(block.bytes), rest };
  }

  /**
   * The reverse of `bytesWithoutPublicKey()` (cert.md §6): decode the handshake's cert, insert the
   * Noise remote static key as PublicKey, re-serialize and parse.
   */
  static fromHandshakeBytes(bytes: Uint8Array, noiseRemoteStatic: Uint8Array): NebulaCertificate {
    if (!(bytes instanceof Uint8Array) || bytes.length === 0)
      throw new CertError('ERR_CERT_MALFORMED', 'nil byte array');
    const raw = decodeRawCertificate(bytes);
    if (raw.details === null) throw new CertError('ERR_CERT_MALFORMED', 'encoded Details was nil');
    raw.details.publicKey = noiseRemoteStatic.slice();
    const canonical = encodeRawCertificate(raw.details, raw.signature);
    const cert = NebulaCertificate.fromBytes(canonical);
    // Decoding then re-encoding canonical bytes is the identity (fuzz-tested), so keep them.
    cert.#bytes = canonical;
    return cert;
  }

  get name(): string {
    return this.details.name;
  }

  get isCA(): boolean {
    return this.details.isCA;
  }

  get issuer(): string {
    return this.details.issuer;
  }

  get publicKey(): Uint8Array {
    return this.details.publicKey;
  }

  get ips(): readonly IPv4Net[] {
    return this.details.ips;
  }

  get subnets(): readonly IPv4Net[] {
    return this.details.subnets;
  }

  get groups(): readonly string[] {
    return this.details.groups;
  }

  get notBefore(): number {
    return this.details.notBefore;
  }

  get notAfter(): number {
    return this.details.notAfter;
  }

  /** The peer's overlay address: Ips[0].addr (cert.md §6); `undefined` without Ips. */
  get vpnIp(): number | undefined {
    return this.details.ips[0]?.addr;
  }

  hasGroup(group: string): boolean {
    this.#groupSet ??= new Set(this.details.groups);
    return this.#groupSet.has(group);
  }

  private raw(): RawDetails {
    const d = this.details;
    return {
      ...emptyRawDetails(),
      name: d.name,
      ips: netsToPairs(d.ips),
      subnets: netsToPairs(d.subnets),
      groups: [...d.groups],
      notBefore: d.notBefore,
      notAfter: d.notAfter,
      publicKey: d.publicKey,
      isCA: d.isCA,
      issuer: fromHex(d.issuer),
    };
  }

  /** Canonical RawNebulaCertificateDetails bytes: the signed message. */
  marshalDetails(): Uint8Array {
    return this.#detailsView().slice();
  }

  /** Canonical RawNebulaCertificate bytes, byte-for-byte as Go's `Marshal()`. */
  toBytes(): Uint8Array {
    return this.#canonical().slice();
  }

  #canonical(): Uint8Array {
    this.#bytes ??= encodeRawCertificate(this.raw(), this.signature);
    return this.#bytes;
  }

  /** Field 1 of the canonical encoding is exactly the canonical details: no second encode. */
  #detailsView(): Uint8Array {
    const b = this.#canonical();
    let len = 0;
    let shift = 0;
    let i = 1;
    for (;;) {
      const c = b[i++] as number;
      len += (c & 0x7f) * 2 ** shift;
      if (c < 0x80) break;
      shift += 7;
    }
    return b.subarray(i, i + len);
  }

  toPem(): string {
    return pemEncode(CERT_BANNER, this.toBytes());
  }

  /** The certificate as it goes into a handshake: PublicKey omitted (it is the Noise static key). */
  bytesWithoutPublicKey(): Uint8Array {
    return encodeRawCertificate({ ...this.raw(), publicKey: new Uint8Array(0) }, this.signature);
  }

  /** Lowercase hex SHA-256 of the canonical bytes (cached). */
  fingerprint(provider: CertCryptoProvider = getDefaultCryptoProvider()): string {
    this.#fingerprint ??= hex(provider.sha256(this.#canonical()));
    return this.#fingerprint;
  }

  /** Go's `Expired(t)`: before NotBefore or after NotAfter (both bounds valid). */
  expired(nowSeconds: number): boolean {
    return this.details.notBefore > nowSeconds || this.details.notAfter < nowSeconds;
  }

  /** Ed25519 signature over the canonical details with `publicKey` (the signer's). */
  checkSignature(publicKey: Uint8Array, provider: CertCryptoProvider = getDefaultCryptoProvider()): boolean {
    return provider.ed25519Verify(publicKey, this.#detailsView(), this.signature);
  }

  /** Returns a copy signed with a 64-byte Ed25519 CA key. */
  sign(
    caPrivateKey: Uint8Array,
    provider: CertCryptoProvider = getDefaultCryptoProvider(),
  ): NebulaCertificate {
    if (!(caPrivateKey instanceof Uint8Array) || caPrivateKey.length !== 64) {
      throw new CertError('ERR_CERT_KEY', 'key was not 64 bytes, is invalid ed25519 private key');
    }
    return new NebulaCertificate(this.details, provider.ed25519Sign(caPrivateKey, this.marshalDetails()));
  }

  /**
   * Go's `CheckRootConstrains`: validity window inside the signer's, groups/ips/subnets within the
   * signer's restrictions. Throws `ERR_CERT_CONSTRAINTS` with Go's message and a `detail`.
   */
  checkRootConstraints(signer: NebulaCertificate): void {
    const s = signer.details;
    const d = this.details;
    const fail = (
      detail: 'expires-after-signer' | 'valid-before-signer' | 'group' | 'ip' | 'subnet',
      msg: string,
    ) => new CertError('ERR_CERT_CONSTRAINTS', msg, { detail });
    if (s.notAfter < d.notAfter)
      throw fail('expires-after-signer', 'certificate expires after signing certificate');
    if (s.notBefore > d.notBefore) {
      throw fail('valid-before-signer', 'certificate is valid before the signing certificate');
    }
    if (s.groups.length > 0) {
      for (const g of d.groups) {
        if (!signer.hasGroup(g))
          throw fail('group', `certificate contained a group not present on the signing ca: ${g}`);
      }
    }
    if (s.ips.length > 0) {
      for (const ip of d.ips) {
        if (!netMatch(ip, s.ips)) {
          throw fail(
            'ip',
            `certificate contained an ip assignment outside the limitations of the signing ca: ${ipNetToString(ip)}`,
          );
        }
      }
    }
    if (s.subnets.length > 0) {
      for (const sn of d.subnets) {
        if (!netMatch(sn, s.subnets)) {
          throw fail(
            'subnet',
            `certificate contained a subnet assignment outside the limitations of the signing ca: ${ipNetToString(sn)}`,
          );
        }
      }
    }
  }

  /**
   * Go's `VerifyPrivateKey`: a CA needs the 64-byte Ed25519 key whose public half is PublicKey, a
   * host the X25519 key whose public key is PublicKey.
   */
  verifyPrivateKey(key: Uint8Array, provider: CertCryptoProvider = getDefaultCryptoProvider()): void {
    const mismatch = () =>
      new CertError('ERR_CERT_KEY', "public key in cert and private key supplied don't match");
    if (this.details.isCA) {
      if (key.length !== 64)
        throw new CertError('ERR_CERT_KEY', 'key was not 64 bytes, is invalid ed25519 private key');
      if (!equalBytes(key.subarray(32), this.details.publicKey)) throw mismatch();
      return;
    }
    if (key.length !== 32)
      throw new CertError('ERR_CERT_KEY', `bad scalar length: ${key.length}, expected 32`);
    if (!equalBytes(provider.x25519PublicKey(key), this.details.publicKey)) throw mismatch();
  }

  /**
   * `nebula-cert print -json` object, keys in Go's (sorted) order. Times Go cannot marshal (year
   * outside [0, 9999]) come out as `null`.
   */
  toJSON(): Record<string, unknown> {
    const d = this.details;
    return {
      details: {
        groups: [...d.groups],
        ips: d.ips.map(ipNetToString),
        isCa: d.isCA,
        issuer: d.issuer,
        name: d.name,
        notAfter: goTimeRFC3339(d.notAfter),
        notBefore: goTimeRFC3339(d.notBefore),
        publicKey: hex(d.publicKey),
        subnets: d.subnets.map(ipNetToString),
      },
      fingerprint: this.fingerprint(),
      signature: hex(this.signature),
    };
  }

  /**
   * Exactly the line `nebula-cert print -json` prints (Go's encoding/json escaping), without the
   * newline. Go ignores its marshalling error for out-of-range years and prints an empty line:
   * so does this (returns `''`).
   */
  toGoJson(): string {
    const d = this.details;
    const notAfter = goTimeRFC3339(d.notAfter);
    const notBefore = goTimeRFC3339(d.notBefore);
    if (notAfter === null || notBefore === null) return '';
    const arr = (xs: readonly string[]) => `[${xs.map(goJsonString).join(',')}]`;
    return (
      `{"details":{"groups":${arr(d.groups)},"ips":${arr(d.ips.map(ipNetToString))},"isCa":${d.isCA},` +
      `"issuer":${goJsonString(d.issuer)},"name":${goJsonString(d.name)},` +
      `"notAfter":"${notAfter}","notBefore":"${notBefore}",` +
      `"publicKey":"${hex(d.publicKey)}","subnets":${arr(d.subnets.map(ipNetToString))}},` +
      `"fingerprint":"${this.fingerprint()}","signature":"${hex(this.signature)}"}`
    );
  }

  /** Go's `String()`, as `nebula-cert print` shows it (times in the local zone). */
  toString(): string {
    const d = this.details;
    const list = (label: string, items: readonly string[]) =>
      items.length === 0
        ? `\t\t${label}: []\n`
        : `\t\t${label}: [\n${items.map((i) => `\t\t\t${i}\n`).join('')}\t\t]\n`;
    return (
      'NebulaCertificate {\n\tDetails {\n' +
      `\t\tName: ${d.name}\n` +
      list('Ips', d.ips.map(ipNetToString)) +
      list('Subnets', d.subnets.map(ipNetToString)) +
      list(
        'Groups',
        d.groups.map((g) => `"${g}"`),
      ) +
      `\t\tNot before: ${goTimeString(d.notBefore)}\n` +
      `\t\tNot After: ${goTimeString(d.notAfter)}\n` +
      `\t\tIs CA: ${d.isCA}\n` +
      `\t\tIssuer: ${d.issuer}\n` +
      `\t\tPublic key: ${hex(d.publicKey)}\n` +
      '\t}\n' +
      `\tFingerprint: ${this.fingerprint()}\n` +
      `\tSignature: ${hex(this.signature)}\n` +
      '}'
    );
  }
}

function netMatch(cert: IPv4Net, rootNets: readonly IPv4Net[]): boolean {
  for (const n of rootNets) {
    if (netContains(n, cert.addr) && maskBytesWithin(n.mask, cert.mask)) return true;
  }
  return false;
}

function freezeDetails(d: CertificateDetails): CertificateDetails {
  return Object.freeze({
    name: d.name,
    ips: Object.freeze(d.ips.map((n) => Object.freeze({ addr: n.addr >>> 0, mask: n.mask >>> 0 }))),
    subnets: Object.freeze(d.subnets.map((n) => Object.freeze({ addr: n.addr >>> 0, mask: n.mask >>> 0 }))),
    groups: Object.freeze([...d.groups]),
    notBefore: d.notBefore,
    notAfter: d.notAfter,
    publicKey: d.publicKey.slice(),
    isCA: d.isCA,
    issuer: d.issuer,
  });
}
