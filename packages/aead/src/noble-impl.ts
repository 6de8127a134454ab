/** Reference implementation over @noble/ciphers (pure JS; slow, for cross-checking). */
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import {
  checkBatchArgs,
  checkResults,
  checkSealMeta,
  checkSetKey,
  nonceFromHeader,
  openEntryOk,
} from './internal/check.js';
import { type BatchAead, type Cipher, HEADER_LEN, TAG_LEN } from './types.js';

interface NobleSlot {
  cipher: Cipher;
  key: Uint8Array;
}

export function createNobleBatchAead(): BatchAead {
  const slots: (NobleSlot | undefined)[] = [];
  const nonce = new Uint8Array(12);
  const has = (s: number): boolean => slots[s] !== undefined;
  const wipe = (s: number): void => {
    slots[s]?.key.fill(0);
    slots[s] = undefined;
  };
  const aead = (s: NobleSlot, ad: Uint8Array) =>
    s.cipher === 'aes' ? gcm(s.key, nonce, ad) : chacha20poly1305(s.key, nonce, ad);
  return {
    kind: 'noble',
    setKey(slot, cipher, key) {
      checkSetKey(slot, cipher, key);
      wipe(slot);
      slots[slot] = { cipher, key: new Uint8Array(key) };
    },
    clearKey(slot) {
      if (Number.isInteger(slot) && slot >= 0) wipe(slot);
    },
    sealBatch(buf, meta, count) {
      checkBatchArgs(buf, meta, count);
      checkSealMeta(buf, meta, count, has);
      for (let i = 0; i < count; i++) {
        const s = slots[meta[3 * i]!]!;
        const hdr = meta[3 * i + 1]!;
        const p = hdr + HEADER_LEN;
        const len = meta[3 * i + 2]!;
        nonceFromHeader(nonce, s.cipher, buf, hdr);
        buf.set(aead(s, buf.slice(hdr, p)).encrypt(buf.slice(p, p + len)), p);
      }
    },
    openBatch(buf, meta, count, results) {
      checkBatchArgs(buf, meta, count);
      checkResults(results, count);
      let ok = 0;
      for (let i = 0; i < count; i++) {
        results[i] = 0;
        const s = slots[meta[3 * i]!];
        if (s === undefined || !openEntryOk(buf, meta, i)) continue;
        const hdr = meta[3 * i + 1]!;
        const p = hdr + HEADER_LEN;
        const total = meta[3 * i + 2]!;
        nonceFromHeader(nonce, s.cipher, buf, hdr);
        try {
          buf.set(aead(s, buf.slice(hdr, p)).decrypt(buf.slice(p, p + total)), p);
          results[i] = 1;
          ok++;
        } catch {
          buf.fill(0, p, p + total - TAG_LEN);
        }
      }
      return ok;
    },
    close() {
      for (let s = 0; s < slots.length; s++) wipe(s);
      slots.length = 0;
    },
  };
}
