/**
 * Transport-phase AEAD nonce (handshake.md §7): 4 zero bytes ‖ the 64-bit message counter,
 * big-endian for AES-GCM and little-endian for ChaCha20-Poly1305 (Go flips one global
 * endianness with the cipher; it matches the Noise nonce convention of each cipher).
 */
export type Cipher = 'aes' | 'chachapoly';

export const NONCE_LEN = 12;
const TWO_32 = 4294967296;

/** Writes the nonce for `counter` (integer < 2^53) into the reused 12-byte `out`; returns it. */
export function writeTransportNonce(out: Uint8Array, cipher: Cipher, counter: number): Uint8Array {
  const hi = Math.floor(counter / TWO_32);
  const lo = counter >>> 0;
  out[0] = 0;
  out[1] = 0;
  out[2] = 0;
  out[3] = 0;
  if (cipher === 'aes') {
    out[4] = hi >>> 24;
    out[5] = hi >>> 16;
    out[6] = hi >>> 8;
    out[7] = hi;
    out[8] = lo >>> 24;
    out[9] = lo >>> 16;
    out[10] = lo >>> 8;
    out[11] = lo;
  } else {
    out[4] = lo;
    out[5] = lo >>> 8;
    out[6] = lo >>> 16;
    out[7] = lo >>> 24;
    out[8] = hi;
    out[9] = hi >>> 8;
    out[10] = hi >>> 16;
    out[11] = hi >>> 24;
  }
  return out;
}

/**
 * Writes the nonce straight from a header's counter bytes (8..15 of the header at `hdrOff`),
 * exact for the full 64-bit range: copied as is for aes, byte-reversed for chachapoly.
 */
export function writeNonceFromHeader(
  out: Uint8Array,
  cipher: Cipher,
  buf: Uint8Array,
  hdrOff: number,
): Uint8Array {
  out[0] = 0;
  out[1] = 0;
  out[2] = 0;
  out[3] = 0;
  const c = hdrOff + 8;
  if (cipher === 'aes') {
    for (let i = 0; i < 8; i++) out[4 + i] = buf[c + i]!;
  } else {
    for (let i = 0; i < 8; i++) out[4 + i] = buf[c + 7 - i]!;
  }
  return out;
}

/** Handshake-phase Noise nonce for counter n (same byte order rule as transport). */
export const writeNoiseNonce = writeTransportNonce;
