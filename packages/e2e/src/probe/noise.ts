/**
 * Noise IX initiator (`Noise_IX_25519_{AESGCM,ChaChaPoly}_SHA256`, empty prologue) on node:crypto,
 * written from the spec (handshake.md §1, §7) independently of @nebula-ts/protocol.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type KeyObject,
  randomBytes,
} from 'node:crypto';

export type ProbeCipher = 'aes' | 'chachapoly';

const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

export interface X25519Key {
  readonly privateKey: KeyObject;
  readonly publicRaw: Uint8Array;
}

const BASEPOINT = new Uint8Array(32);
BASEPOINT[0] = 9;

export function x25519FromRaw(priv: Uint8Array): X25519Key {
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_X25519, priv]),
    format: 'der',
    type: 'pkcs8',
  });
  // public = X25519(priv, 9). Not generateKeyPairSync + JWK export: on Node 20.20 thousands of those
  // deadlock (a GC inside ExportJWK runs ~KeyGenJob, which takes a mutex already held).
  return { privateKey, publicRaw: x25519(privateKey, BASEPOINT) };
}

export function x25519Generate(): X25519Key {
  return x25519FromRaw(new Uint8Array(randomBytes(32)));
}

export function x25519(priv: KeyObject, pubRaw: Uint8Array): Uint8Array {
  const publicKey = createPublicKey({
    key: Buffer.concat([SPKI_X25519, pubRaw]),
    format: 'der',
    type: 'spki',
  });
  return new Uint8Array(diffieHellman({ privateKey: priv, publicKey }));
}

/** Nonce: 4 zero bytes ‖ counter, big-endian for AES-GCM, little-endian for ChaCha20-Poly1305. */
export function nonceFor(cipher: ProbeCipher, n: number | bigint): Buffer {
  const b = Buffer.alloc(12);
  if (cipher === 'aes') b.writeBigUInt64BE(BigInt(n), 4);
  else b.writeBigUInt64LE(BigInt(n), 4);
  return b;
}

function algo(cipher: ProbeCipher): 'aes-256-gcm' | 'chacha20-poly1305' {
  return cipher === 'aes' ? 'aes-256-gcm' : 'chacha20-poly1305';
}

export function aeadSeal(
  cipher: ProbeCipher,
  key: Uint8Array,
  n: number | bigint,
  pt: Uint8Array,
  ad: Uint8Array,
): Uint8Array {
  const c = createCipheriv(algo(cipher) as 'aes-256-gcm', key, nonceFor(cipher, n), { authTagLength: 16 });
  c.setAAD(ad, { plaintextLength: pt.length });
  return new Uint8Array(Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]));
}

/** null when not authentic. */
export function aeadOpen(
  cipher: ProbeCipher,
  key: Uint8Array,
  n: number | bigint,
  ct: Uint8Array,
  ad: Uint8Array,
): Uint8Array | null {
  if (ct.length < 16) return null;
  try {
    const d = createDecipheriv(algo(cipher) as 'aes-256-gcm', key, nonceFor(cipher, n), {
      authTagLength: 16,
    });
    d.setAAD(ad, { plaintextLength: ct.length - 16 });
    d.setAuthTag(ct.subarray(ct.length - 16));
    return new Uint8Array(Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]));
  } catch {
    return null;
  }
}

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const hmac = (key: Uint8Array, ...parts: Uint8Array[]): Uint8Array => {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

function hkdf2(ck: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const t = hmac(ck, ikm);
  const a = hmac(t, Uint8Array.of(1));
  return [a, hmac(t, a, Uint8Array.of(2))];
}

/** The initiator side of one IX handshake. */
export class IxInitiator {
  private h: Uint8Array;
  private ck: Uint8Array;
  private k: Uint8Array | null = null;
  private n = 0;
  readonly e: X25519Key;

  constructor(
    readonly cipher: ProbeCipher,
    private readonly s: X25519Key,
    ephemeral?: X25519Key,
  ) {
    const name = Buffer.from(`Noise_IX_25519_${cipher === 'aes' ? 'AESGCM' : 'ChaChaPoly'}_SHA256`);
    const h = new Uint8Array(32);
    h.set(name);
    this.ck = h.slice();
    this.h = sha256(h); // MixHash(prologue = empty)
    this.e = ephemeral ?? x25519Generate();
  }

  private mixHash(d: Uint8Array): void {
    this.h = sha256(this.h, d);
  }
  private mixKey(ikm: Uint8Array): void {
    [this.ck, this.k] = hkdf2(this.ck, ikm);
    this.n = 0;
  }
  private encrypt(pt: Uint8Array): Uint8Array {
    if (!this.k) {
      this.mixHash(pt);
      return pt;
    }
    const c = aeadSeal(this.cipher, this.k, this.n++, pt, this.h);
    this.mixHash(c);
    return c;
  }
  private decrypt(ct: Uint8Array): Uint8Array {
    if (!this.k) {
      this.mixHash(ct);
      return ct;
    }
    const p = aeadOpen(this.cipher, this.k, this.n++, ct, this.h);
    if (!p) throw new Error('noise: stage 2 decryption failed');
    this.mixHash(ct);
    return p;
  }

  /** Stage 1 body (after the header): e ‖ s ‖ payload (no keys yet: all plaintext). */
  writeStage1(payload: Uint8Array): Uint8Array {
    this.mixHash(this.e.publicRaw);
    const s = this.encrypt(this.s.publicRaw);
    const p = this.encrypt(payload);
    return Buffer.concat([this.e.publicRaw, s, p]);
  }

  /** Stage 2 body → { payload, remoteStatic }; afterwards `split()`. */
  readStage2(body: Uint8Array): { payload: Uint8Array; remoteStatic: Uint8Array } {
    if (body.length < 32 + 48 + 16) throw new Error(`noise: stage 2 too short (${body.length})`);
    const re = body.subarray(0, 32);
    this.mixHash(re);
    this.mixKey(x25519(this.e.privateKey, re)); // ee
    this.mixKey(x25519(this.s.privateKey, re)); // se
    const rs = this.decrypt(body.subarray(32, 80));
    this.mixKey(x25519(this.e.privateKey, rs)); // es
    const payload = this.decrypt(body.subarray(80));
    return { payload, remoteStatic: rs };
  }

  /** (k1: initiator → responder, k2: responder → initiator). */
  split(): { k1: Uint8Array; k2: Uint8Array } {
    const [k1, k2] = hkdf2(this.ck, new Uint8Array(0));
    return { k1, k2 };
  }
}
