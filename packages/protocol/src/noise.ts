/**
 * Noise IX as Nebula 1.6.1 uses it through flynn/noise v1.0.0 (handshake.md §1-2):
 * `Noise_IX_25519_{AESGCM,ChaChaPoly}_SHA256`, empty prologue (still mixed), no PSK.
 *
 * ```
 * -> e, s
 * <- e, ee, se, s, es
 * ```
 * Messages here are the Noise bytes only; the Nebula header in front is not part of the transcript.
 * A failed `readMessage` leaves the state as it was (flynn/noise rolls back too), so a forged
 * stage 2 cannot spoil a pending handshake.
 */
import { AEAD_TAG_LEN, type CryptoProvider, nodeCryptoProvider } from './crypto-provider.js';
import { ProtocolError } from './errors.js';
import { copyBytes } from './internal/bytes.js';
import { type Cipher, writeNoiseNonce } from './nonce.js';

export type NoiseRole = 'initiator' | 'responder';

export interface NoiseHandshakeOptions {
  role: NoiseRole;
  cipher: Cipher;
  staticPrivateKey: Uint8Array;
  staticPublicKey: Uint8Array;
  /** Fixed ephemeral private key, for test vectors only; a fresh random one otherwise. */
  ephemeralPrivateKey?: Uint8Array;
  provider?: CryptoProvider;
}

export interface NoiseKeys {
  /** Initiator → responder key. */
  k1: Uint8Array;
  /** Responder → initiator key. */
  k2: Uint8Array;
}

const DH_LEN = 32;
const EMPTY = new Uint8Array(0);

export function noiseProtocolName(cipher: Cipher): string {
  return `Noise_IX_25519_${cipher === 'aes' ? 'AESGCM' : 'ChaChaPoly'}_SHA256`;
}

/**
 * One handshake attempt. Initiator: `writeMessage` (stage 1), `readMessage` (stage 2), `split`.
 * Responder: `readMessage` (stage 1), `writeMessage` (stage 2), `split`.
 */
export class NoiseHandshake {
  readonly role: NoiseRole;
  readonly cipher: Cipher;
  private readonly p: CryptoProvider;
  private readonly sPriv: Uint8Array;
  private readonly sPub: Uint8Array;
  private ePriv: Uint8Array;
  private readonly ePub: Uint8Array;
  private re: Uint8Array | null = null;
  private rs: Uint8Array | null = null;
  // SymmetricState / CipherState
  private ck: Uint8Array;
  private h: Uint8Array;
  private k: Uint8Array | null = null;
  private n = 0;
  private step = 0;
  private readonly nonce = new Uint8Array(12);

  constructor(opts: NoiseHandshakeOptions) {
    if (opts.role !== 'initiator' && opts.role !== 'responder') {
      throw new ProtocolError('ERR_INVALID_ARGUMENT', `unknown Noise role: ${String(opts.role)}`);
    }
    if (opts.cipher !== 'aes' && opts.cipher !== 'chachapoly') {
      throw new ProtocolError('ERR_INVALID_ARGUMENT', `unknown cipher: ${String(opts.cipher)}`);
    }
    if (opts.staticPrivateKey?.length !== DH_LEN || opts.staticPublicKey?.length !== DH_LEN) {
      throw new ProtocolError('ERR_INVALID_ARGUMENT', 'static X25519 keys must be 32 bytes');
    }
    if (opts.ephemeralPrivateKey !== undefined && opts.ephemeralPrivateKey.length !== DH_LEN) {
      throw new ProtocolError('ERR_INVALID_ARGUMENT', 'ephemeral X25519 private key must be 32 bytes');
    }
    this.role = opts.role;
    this.cipher = opts.cipher;
    this.p = opts.provider ?? nodeCryptoProvider;
    this.sPriv = copyBytes(opts.staticPrivateKey);
    this.sPub = copyBytes(opts.staticPublicKey);
    const e = this.p.x25519KeyPair(opts.ephemeralPrivateKey);
    this.ePriv = e.privateKey;
    this.ePub = e.publicKey;

    // A name of at most HASHLEN bytes is zero-padded, not hashed.
    const name = new TextEncoder().encode(noiseProtocolName(opts.cipher));
    const h = new Uint8Array(32);
    if (name.length <= 32) h.set(name);
    else h.set(this.p.sha256(name));
    this.h = h;
    this.ck = copyBytes(h);
    this.mixHash(EMPTY); // prologue
  }

  /** The peer's static public key (after its `s` token was read), else null. */
  get remoteStaticKey(): Uint8Array | null {
    return this.rs;
  }

  /** The peer's ephemeral public key, else null. */
  get remoteEphemeralKey(): Uint8Array | null {
    return this.re;
  }

  get localEphemeralPublicKey(): Uint8Array {
    return this.ePub;
  }

  /** Current handshake hash h (final once both messages are done). */
  get handshakeHash(): Uint8Array {
    return copyBytes(this.h);
  }

  /** True once both messages have been processed. */
  get complete(): boolean {
    return this.step === 2;
  }

  /** Builds the next message for `payload`. Initiator: stage 1; responder: stage 2. */
  writeMessage(payload: Uint8Array = EMPTY): Uint8Array {
    if (this.role === 'initiator' && this.step === 0) {
      const out = new Uint8Array(DH_LEN * 2 + payload.length);
      out.set(this.ePub, 0);
      this.mixHash(this.ePub);
      out.set(this.encryptAndHash(this.sPub), DH_LEN); // no key yet: plaintext
      out.set(this.encryptAndHash(payload), DH_LEN * 2);
      this.step = 1;
      return out;
    }
    if (this.role === 'responder' && this.step === 1) {
      const re = this.re!;
      const rs = this.rs!;
      const out = new Uint8Array(DH_LEN + DH_LEN + AEAD_TAG_LEN + payload.length + AEAD_TAG_LEN);
      out.set(this.ePub, 0);
      this.mixHash(this.ePub);
      this.mixKey(this.p.x25519(this.ePriv, re)); // ee
      this.mixKey(this.p.x25519(this.ePriv, rs)); // se
      out.set(this.encryptAndHash(this.sPub), DH_LEN);
      this.mixKey(this.p.x25519(this.sPriv, re)); // es
      out.set(this.encryptAndHash(payload), DH_LEN * 2 + AEAD_TAG_LEN);
      this.step = 2;
      this.wipeEphemeral();
      return out;
    }
    throw new ProtocolError('ERR_NOISE_STATE', `writeMessage out of turn (${this.role}, step ${this.step})`);
  }

  /**
   * Processes the peer's message and returns its payload. Throws `ERR_NOISE_SHORT_MESSAGE`,
   * `ERR_NOISE_DECRYPT` or `ERR_NOISE_DH`; on any error the state is unchanged.
   */
  readMessage(msg: Uint8Array): Uint8Array {
    if (this.role === 'responder' && this.step === 0) {
      if (msg.length < DH_LEN * 2) {
        throw new ProtocolError(
          'ERR_NOISE_SHORT_MESSAGE',
          `stage 1 message is ${msg.length} bytes, need at least 64`,
        );
      }
      const re = copyBytes(msg, 0, DH_LEN);
      const rs = copyBytes(msg, DH_LEN, DH_LEN * 2);
      const payload = copyBytes(msg, DH_LEN * 2);
      // Nothing here can fail after the length check: no key yet, so no decryption.
      this.mixHash(re);
      this.mixHash(rs);
      this.mixHash(payload);
      this.re = re;
      this.rs = rs;
      this.step = 1;
      return payload;
    }
    if (this.role === 'initiator' && this.step === 1) {
      const min = DH_LEN + DH_LEN + AEAD_TAG_LEN + AEAD_TAG_LEN;
      if (msg.length < min) {
        throw new ProtocolError(
          'ERR_NOISE_SHORT_MESSAGE',
          `stage 2 message is ${msg.length} bytes, need at least ${min}`,
        );
      }
      const saved = { ck: this.ck, h: this.h, k: this.k, n: this.n };
      try {
        const re = copyBytes(msg, 0, DH_LEN);
        this.mixHash(re);
        this.mixKey(this.p.x25519(this.ePriv, re)); // ee
        this.mixKey(this.p.x25519(this.sPriv, re)); // se
        const rs = this.decryptAndHash(msg.subarray(DH_LEN, DH_LEN * 2 + AEAD_TAG_LEN));
        this.mixKey(this.p.x25519(this.ePriv, rs)); // es
        const payload = this.decryptAndHash(msg.subarray(DH_LEN * 2 + AEAD_TAG_LEN));
        this.re = re;
        this.rs = rs;
        this.step = 2;
        this.wipeEphemeral();
        return payload;
      } catch (e) {
        // mixHash/mixKey replace rather than mutate, so restoring the references rolls back.
        this.ck = saved.ck;
        this.h = saved.h;
        this.k = saved.k;
        this.n = saved.n;
        throw e;
      }
    }
    throw new ProtocolError('ERR_NOISE_STATE', `readMessage out of turn (${this.role}, step ${this.step})`);
  }

  /** Transport keys. Initiator sends with k1 and receives with k2; the responder the reverse. */
  split(): NoiseKeys {
    if (this.step !== 2) throw new ProtocolError('ERR_NOISE_STATE', 'split before the handshake completed');
    const [k1, k2] = this.p.hkdf2(this.ck, EMPTY);
    return { k1, k2 };
  }

  private mixHash(data: Uint8Array): void {
    this.h = this.p.sha256(this.h, data);
  }

  private mixKey(ikm: Uint8Array): void {
    const [ck, k] = this.p.hkdf2(this.ck, ikm);
    this.ck = ck;
    this.k = k;
    this.n = 0;
  }

  private encryptAndHash(pt: Uint8Array): Uint8Array {
    let out: Uint8Array;
    if (this.k === null) out = copyBytes(pt);
    else {
      writeNoiseNonce(this.nonce, this.cipher, this.n);
      out = this.p.aeadSeal(this.cipher, this.k, this.nonce, this.h, pt);
      this.n++;
    }
    this.mixHash(out);
    return out;
  }

  private decryptAndHash(ct: Uint8Array): Uint8Array {
    if (this.k === null) {
      this.mixHash(ct);
      return copyBytes(ct);
    }
    writeNoiseNonce(this.nonce, this.cipher, this.n);
    const pt = this.p.aeadOpen(this.cipher, this.k, this.nonce, this.h, ct);
    if (pt === null) throw new ProtocolError('ERR_NOISE_DECRYPT', 'Noise message failed authentication');
    this.n++;
    this.mixHash(ct);
    return pt;
  }

  private wipeEphemeral(): void {
    this.ePriv.fill(0);
  }
}
