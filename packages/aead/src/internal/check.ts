/** Argument and meta checks shared by the TypeScript implementations (mirrors the addon's). */
import { AeadError } from '../errors.js';
import { type Cipher, HEADER_LEN, KEY_LEN, MAX_SLOTS, TAG_LEN } from '../types.js';

export function checkSetKey(slot: number, cipher: Cipher, key: Uint8Array): void {
  if (!Number.isInteger(slot) || slot < 0 || slot >= MAX_SLOTS) {
    throw new AeadError('ERR_AEAD_ARGUMENT', 'key slot out of range');
  }
  if (cipher !== 'aes' && cipher !== 'chachapoly') {
    throw new AeadError('ERR_AEAD_ARGUMENT', `unknown cipher: ${String(cipher)}`);
  }
  if (!(key instanceof Uint8Array) || key.length !== KEY_LEN) {
    throw new AeadError('ERR_AEAD_ARGUMENT', 'key must be a 32-byte Uint8Array');
  }
}

export function checkBatchArgs(buf: Uint8Array, meta: Uint32Array, count: number): void {
  if (!(buf instanceof Uint8Array) || !(meta instanceof Uint32Array) || typeof count !== 'number') {
    throw new AeadError('ERR_AEAD_ARGUMENT', 'expected (buf: Uint8Array, meta: Uint32Array, count: number)');
  }
  if (!Number.isInteger(count) || count < 0 || count * 3 > meta.length) {
    throw new AeadError('ERR_AEAD_BAD_META', 'count exceeds meta.length / 3');
  }
}

export function checkResults(results: Uint8Array, count: number): void {
  if (!(results instanceof Uint8Array) || results.length < count) {
    throw new AeadError(
      'ERR_AEAD_ARGUMENT',
      'openBatch: results must be a Uint8Array of at least count bytes',
    );
  }
}

/** Seal: every entry must name a live slot and fit header+payload+tag inside buf. */
export function checkSealMeta(
  buf: Uint8Array,
  meta: Uint32Array,
  count: number,
  has: (slot: number) => boolean,
): void {
  for (let i = 0; i < count; i++) {
    if (!has(meta[3 * i]!)) {
      throw new AeadError('ERR_AEAD_BAD_META', `sealBatch: packet ${i} uses an empty key slot`);
    }
    if (meta[3 * i + 1]! + HEADER_LEN + meta[3 * i + 2]! + TAG_LEN > buf.length) {
      throw new AeadError('ERR_AEAD_BAD_META', `sealBatch: packet ${i} exceeds the buffer`);
    }
  }
}

/** Open: whether entry i is structurally usable (else the packet simply fails). */
export function openEntryOk(buf: Uint8Array, meta: Uint32Array, i: number): boolean {
  const total = meta[3 * i + 2]!;
  return total >= TAG_LEN && meta[3 * i + 1]! + HEADER_LEN + total <= buf.length;
}

/** Writes the 12-byte nonce for the header at `hdr` into `out`. */
export function nonceFromHeader(out: Uint8Array, cipher: Cipher, buf: Uint8Array, hdr: number): void {
  out[0] = 0;
  out[1] = 0;
  out[2] = 0;
  out[3] = 0;
  if (cipher === 'aes') {
    for (let j = 0; j < 8; j++) out[4 + j] = buf[hdr + 8 + j]!;
  } else {
    for (let j = 0; j < 8; j++) out[4 + j] = buf[hdr + 15 - j]!;
  }
}
