import { describe, expect, it } from 'vitest';
import { isCertError, NebulaCertificate } from '../src/index.js';
import { ALPHA, ALPHA_PEM, CA, hex, unhex } from './vectors.js';

const alpha = NebulaCertificate.fromPem(ALPHA_PEM).cert;
const pk = ALPHA.publicKey;
const sig = ALPHA.signature;

/** Wraps details bytes (hex) and the alpha signature into an outer message. */
function outer(detailsHex: string, sigHex = sig): Uint8Array {
  const d = unhex(detailsHex);
  const len = d.length < 128 ? [d.length] : [(d.length & 0x7f) | 0x80, d.length >> 7];
  return new Uint8Array([0x0a, ...len, ...d, 0x12, 0x40, ...unhex(sigHex)]);
}

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (!isCertError(e)) throw e;
    return { code: e.code, message: e.message };
  }
  throw new Error('expected a CertError');
}

describe('decoder accepts any valid protobuf encoding and re-encodes canonically', () => {
  const name = '0a05616c706861';
  const ips = '12098180a8518080fcff0f';
  const rest = `28bb8b88d80630ba91b8ee073a20${pk}4a20${CA.fingerprint}`;

  it('fields in reverse order', () => {
    const d = `4a20${CA.fingerprint}3a20${pk}30ba91b8ee0728bb8b88d806220377656222036f7073${ips}${name}`;
    // groups keep their relative order: "web" then "ops" here.
    const c = NebulaCertificate.fromBytes(outer(d));
    expect(c.details.groups).toEqual(['web', 'ops']);
    expect(c.name).toBe('alpha');
  });

  it('outer fields swapped, unpacked Ips, unknown fields of every wire type', () => {
    const unpackedIps = '108180a851108080fcff0f';
    // field 15 varint, 19 fixed64, 20 fixed32, 21 bytes, 22 group containing a varint
    const unknown = '78059901010203040506070' + '8a50104030201aa0103010203b3010801b401';
    const groupsHex = '22036f7073220377656'.slice(0, -1) + '62';
    const d = `${unknown}${name}${unpackedIps}${groupsHex}${rest}`;
    const canonicalDetails = `${name}${ips}${groupsHex}${rest}`;
    expect(canonicalDetails).toBe(hex(alpha.marshalDetails()));
    const db = unhex(d);
    const swapped = new Uint8Array([
      0x12,
      0x40,
      ...unhex(sig),
      0x0a,
      (db.length & 0x7f) | 0x80,
      db.length >> 7,
      ...db,
    ]);
    const c = NebulaCertificate.fromBytes(swapped);
    expect(hex(c.marshalDetails())).toBe(canonicalDetails);
    expect(hex(c.toBytes())).toBe(hex(alpha.toBytes()));
    expect(c.fingerprint()).toBe(ALPHA.fingerprint);
  });

  it('a known field with an unexpected wire type is skipped like an unknown field', () => {
    // Name as a varint (field 1, wire type 0) is ignored by protobuf-go.
    const c = NebulaCertificate.fromBytes(
      outer(`0801${alpha.marshalDetails().length ? hex(alpha.marshalDetails()) : ''}`),
    );
    expect(c.fingerprint()).toBe(ALPHA.fingerprint);
  });

  it('merges a repeated Details message (proto semantics) and keeps the last scalar', () => {
    const full = hex(alpha.marshalDetails());
    const first = '0a036f6c64'; // Name "old"
    const bytes = unhex(`0a05${first}0a${(full.length / 2).toString(16)}${full}1240${sig}`);
    const c = NebulaCertificate.fromBytes(bytes);
    expect(c.name).toBe('alpha');
    expect(c.fingerprint()).toBe(ALPHA.fingerprint);
  });

  it('overlong (non-minimal) varints are accepted and re-encoded minimally', () => {
    const d = hex(alpha.marshalDetails()).replace('28bb8b88d806', '28bb8b88d88680808000');
    const c = NebulaCertificate.fromBytes(outer(d));
    expect(c.notBefore).toBe(alpha.notBefore);
    expect(c.fingerprint()).toBe(ALPHA.fingerprint);
  });

  it('keeps a public key longer than 32 bytes as-is', () => {
    const d = hex(alpha.marshalDetails()).replace(`3a20${pk}`, `3a21${pk}ff`);
    const c = NebulaCertificate.fromBytes(outer(d));
    expect(c.publicKey.length).toBe(33);
    expect(hex(c.marshalDetails())).toBe(d);
  });

  it('encodes negative times as 10-byte varints and decodes them back', () => {
    const c = NebulaCertificate.create({ ...alpha.details, notBefore: -1, notAfter: 0 });
    const bytes = c.toBytes();
    expect(hex(c.marshalDetails())).toContain('28ffffffffffffffffff01');
    expect(hex(c.marshalDetails())).not.toContain('3000');
    expect(NebulaCertificate.fromBytes(bytes).notBefore).toBe(-1);
  });
});

describe('decoder errors carry Go 1.6.1 messages', () => {
  // The byte after "proto:" is U+00A0 in Debian's build (protobuf-go detrand).
  const WIRE = 'proto:\u00a0cannot parse invalid wire-format data';
  const cases: [string, Uint8Array, string][] = [
    ['empty input', new Uint8Array(0), 'nil byte array'],
    ['no Details', unhex('1200'), 'encoded Details was nil'],
    ['empty Details', unhex('0a00'), 'Public key was fewer than 32 bytes; 0'],
    ['short key', unhex('0a033a0101'), 'Public key was fewer than 32 bytes; 1'],
    ['odd Ips', unhex('0a03120102'), 'encoded IPs should be in pairs, an odd number was found'],
    ['odd Subnets', unhex('0a031a0102'), 'encoded Subnets should be in pairs, an odd number was found'],
    ['invalid UTF-8 name', unhex('0a040a02c328'), 'string field contains invalid UTF-8'],
    ['invalid UTF-8 group', unhex('0a04220280ff'), 'string field contains invalid UTF-8'],
    ['truncated tag', unhex('0a'), WIRE],
    ['length past the end', unhex('0a05'), WIRE],
    ['varint past 10 bytes', unhex('0a0b28ffffffffffffffffffff01'), WIRE],
    ['10th varint byte > 1', unhex('0a0b28ffffffffffffffffff02'), WIRE],
    ['field number 0', unhex('0a020000'), WIRE],
    // The largest valid field number is skipped as unknown; one more is malformed, also nested.
    ['unknown field 2^29 - 1 skipped', unhex('f8ffffff0f00'), 'encoded Details was nil'],
    ['field number 2^29', unhex('808080801000'), WIRE],
    ['field number 2^29 in Details', unhex('0a06808080801000'), WIRE],
    ['wire type 7', unhex('0a020f00'), WIRE],
    ['stray end group', unhex('0c'), WIRE],
    ['unterminated group', unhex('0a020b08'), WIRE],
    ['truncated packed varint', unhex('0a0312018f'), WIRE],
  ];
  it.each(cases)('%s', (_, bytes, message) => {
    expect(errorOf(() => NebulaCertificate.fromBytes(bytes))).toEqual({
      code: 'ERR_CERT_MALFORMED',
      message,
    });
  });

  it('refuses int64 times beyond ±2^53 instead of rounding them', () => {
    const e = errorOf(() => NebulaCertificate.fromBytes(unhex('0a0a2880808080808080807f')));
    expect(e.code).toBe('ERR_CERT_MALFORMED');
  });

  it('refuses to build certs from values Go could not encode', () => {
    expect(errorOf(() => NebulaCertificate.create({ ...alpha.details, name: '\ud800' })).code).toBe(
      'ERR_CERT_INVALID_ARGUMENT',
    );
    expect(errorOf(() => NebulaCertificate.create({ ...alpha.details, issuer: 'XYZ' })).code).toBe(
      'ERR_CERT_INVALID_ARGUMENT',
    );
    expect(
      errorOf(() => NebulaCertificate.create({ ...alpha.details, ips: [{ addr: -1, mask: 0 }] })).code,
    ).toBe('ERR_CERT_INVALID_ARGUMENT');
  });
});

describe('Go text forms', () => {
  it('prints non-contiguous masks as hex and unusual names verbatim / JSON-escaped', () => {
    const c = NebulaCertificate.create({
      ...alpha.details,
      name: 'a<b>&"\\\n\u0001\u2028é',
      ips: [{ addr: 0x0a000001, mask: 0xff00ff00 }],
      subnets: [{ addr: 0, mask: 0 }],
    });
    const s = c.toString();
    expect(s).toContain('\t\t\t10.0.0.1/ff00ff00\n');
    expect(s).toContain('\t\t\t0.0.0.0/0\n');
    expect(s).toContain('\t\tName: a<b>&"\\\n\u0001\u2028é\n');
    expect(c.toGoJson()).toContain('"name":"a\\u003cb\\u003e\\u0026\\"\\\\\\n\\u0001\\u2028é"');
    expect(JSON.parse(c.toGoJson())).toEqual(JSON.parse(JSON.stringify(c)));
  });
});
