/**
 * Control-path single-shot AEAD (lighthouse, test, close, queued packets): one node:crypto cipher
 * per packet, nonce as handshake.md §7. The data path uses the batch AEAD instead.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';

export type NoiseCipher = 'aes' | 'chachapoly';

/** Transport nonce: 4 zero bytes ‖ counter (BE for AES-GCM, LE for ChaCha20-Poly1305). */
export function writeNonce(cipher: NoiseCipher, counter: number, out: Uint8Array): void {
  out.fill(0, 0, 4);
  const hi = Math.floor(counter / 0x100000000);
  const lo = counter >>> 0;
  const v = new DataView(out.buffer, out.byteOffset, 12);
  if (cipher === 'aes') {
    v.setUint32(4, hi);
    v.setUint32(8, lo);
  } else {
    v.setUint32(4, lo, true);
    v.setUint32(8, hi, true);
  }
}

export function aeadSeal(
  cipher: NoiseCipher,
  key: Uint8Array,
  counter: number,
  ad: Uint8Array,
  pt: Uint8Array,
): Buffer {
  const nonce = Buffer.alloc(12);
  writeNonce(cipher, counter, nonce);
  const c =
    cipher === 'aes'
      ? createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 })
      : createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  c.setAAD(ad, { plaintextLength: pt.length });
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}

/** Returns null when the tag does not verify. */
export function aeadOpen(
  cipher: NoiseCipher,
  key: Uint8Array,
  counter: number,
  ad: Uint8Array,
  ct: Uint8Array,
): Buffer | null {
  if (ct.length < 16) return null;
  const nonce = Buffer.alloc(12);
  writeNonce(cipher, counter, nonce);
  const d =
    cipher === 'aes'
      ? createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 })
      : createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  d.setAAD(ad, { plaintextLength: ct.length - 16 });
  d.setAuthTag(ct.subarray(ct.length - 16));
  try {
    return Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
  } catch {
    return null;
  }
}
