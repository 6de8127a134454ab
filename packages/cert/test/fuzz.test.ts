import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CAPool,
  isCertError,
  loadEd25519PrivateKey,
  loadX25519PrivateKey,
  loadX25519PublicKey,
  NebulaCertificate,
  pemEncode,
} from '../src/index.js';
import { ALPHA_PEM, BETA_PEM, CA_PEM, NOW_2027 } from './vectors.js';

const numRuns = Number(process.env.FUZZ_RUNS ?? 2000);
const seeds = [ALPHA_PEM, BETA_PEM, CA_PEM].map((p) => NebulaCertificate.fromPem(p).cert.toBytes());
const { pool } = CAPool.fromPem(CA_PEM, { nowSeconds: NOW_2027 });

/** Anything thrown must be a typed CertError; a successful parse must re-encode and re-parse stably. */
function decodeOrTypedError(bytes: Uint8Array): void {
  let cert: NebulaCertificate;
  try {
    cert = NebulaCertificate.fromBytes(bytes);
  } catch (e) {
    if (!isCertError(e)) throw e;
    return;
  }
  const canonical = cert.toBytes();
  const again = NebulaCertificate.fromBytes(canonical);
  expect(again.toBytes()).toEqual(canonical);
  expect(again.fingerprint()).toBe(cert.fingerprint());
  cert.toString();
  cert.toGoJson();
  try {
    pool.verify(cert, NOW_2027);
  } catch (e) {
    if (!isCertError(e)) throw e;
  }
}

const mutated = fc
  .tuple(
    fc.constantFrom(...seeds),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }),
  )
  .map(([seed, flips]) => {
    const b = seed.slice();
    for (const [pos, bit] of flips) b[pos % b.length] = (b[pos % b.length] as number) ^ (1 << bit);
    return b;
  });

const truncated = fc
  .tuple(fc.constantFrom(...seeds), fc.nat())
  .map(([seed, n]) => seed.subarray(0, n % (seed.length + 1)));

describe('decoder fuzz: always a typed error or a stable certificate, never a crash', () => {
  it('bit-flipped certificates', () => {
    fc.assert(fc.property(mutated, decodeOrTypedError), { numRuns });
  });

  it('truncated certificates', () => {
    fc.assert(fc.property(truncated, decodeOrTypedError), { numRuns });
  });

  it('random garbage', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), decodeOrTypedError), { numRuns });
  });

  it('garbage spliced into a valid certificate', () => {
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.nat(), fc.uint8Array({ maxLength: 40 }), (seed, at, junk) => {
        const i = at % seed.length;
        decodeOrTypedError(new Uint8Array([...seed.subarray(0, i), ...junk, ...seed.subarray(i)]));
      }),
      { numRuns },
    );
  });

  it('PEM text: wrong banners, broken base64, random text', () => {
    const banner = fc.constantFrom(
      'NEBULA CERTIFICATE',
      'NEBULA X25519 PRIVATE KEY',
      'NEBULA X25519 PUBLIC KEY',
      'NEBULA ED25519 PRIVATE KEY',
      'NEBULA ED25519 PUBLIC KEY',
      'CERTIFICATE',
    );
    const text = fc.oneof(
      fc.string({ maxLength: 400 }),
      fc.tuple(banner, fc.uint8Array({ maxLength: 120 })).map(([b, bytes]) => pemEncode(b, bytes)),
      fc
        .tuple(fc.constantFrom(ALPHA_PEM, CA_PEM), fc.nat(), fc.string({ maxLength: 4 }))
        .map(([p, at, s]) => p.slice(0, at % p.length) + s + p.slice(at % p.length)),
    );
    fc.assert(
      fc.property(text, (t) => {
        for (const load of [
          (x: string) => NebulaCertificate.fromPem(x),
          (x: string) => CAPool.fromPem(x, { nowSeconds: NOW_2027 }),
          loadX25519PrivateKey,
          loadX25519PublicKey,
          loadEd25519PrivateKey,
        ]) {
          try {
            load(t);
          } catch (e) {
            if (!isCertError(e)) throw e;
          }
        }
      }),
      { numRuns },
    );
  });
});
