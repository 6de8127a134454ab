/**
 * Fallback over node:crypto: one createCipheriv/createDecipheriv per packet (Node 20 cannot
 * re-nonce a cipher object), so it allocates per packet; ~7-10x slower than the addon.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import {
  checkBatchArgs,
  checkResults,
  checkSealMeta,
  checkSetKey,
  nonceFromHeader,
  openEntryOk,
} from './internal/check.js';
import { type BatchAead, type Cipher, HEADER_LEN, TAG_LEN } from './types.js';

interface NodeSlot {
  algo: 'aes-256-gcm';
  cipher: Cipher;
  key: Buffer;
}

export function createNodeBatchAead(): BatchAead {
  const slots: (NodeSlot | undefined)[] = [];
  const nonce = Buffer.alloc(12);
  const has = (s: number): boolean => slots[s] !== undefined;
  const wipe = (s: number): void => {
    const old = slots[s];
    if (old) old.key.fill(0);
    slots[s] = undefined;
  };
  return {
    kind: 'node',
    setKey(slot, cipher, key) {
      checkSetKey(slot, cipher, key);
      wipe(slot);
      // The cast selects the CipherGCM overloads; chacha20-poly1305 objects have the same methods.
      const algo = (cipher === 'aes' ? 'aes-256-gcm' : 'chacha20-poly1305') as 'aes-256-gcm';
      slots[slot] = { algo, cipher, key: Buffer.from(key) };
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
        const c = createCipheriv(s.algo, s.key, nonce, { authTagLength: TAG_LEN });
        c.setAAD(buf.subarray(hdr, p));
        const ct = c.update(buf.subarray(p, p + len));
        buf.set(ct, p);
        const fin = c.final();
        buf.set(fin, p + ct.length);
        buf.set(c.getAuthTag(), p + len);
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
        const len = meta[3 * i + 2]! - TAG_LEN;
        nonceFromHeader(nonce, s.cipher, buf, hdr);
        const d = createDecipheriv(s.algo, s.key, nonce, { authTagLength: TAG_LEN });
        d.setAAD(buf.subarray(hdr, p));
        d.setAuthTag(buf.subarray(p + len, p + len + TAG_LEN));
        const pt = d.update(buf.subarray(p, p + len));
        try {
          const fin = d.final();
          buf.set(pt, p);
          buf.set(fin, p + pt.length);
          results[i] = 1;
          ok++;
        } catch {
          pt.fill(0);
          buf.fill(0, p, p + len);
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
