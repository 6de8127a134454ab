/** Reference implementation over @noble/ciphers (pure JS; slow, for cross-checking). */
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { createJsBatchAead, type JsSlot } from './internal/js-batch.js';
import type { BatchAead } from './types.js';
import { TAG_LEN } from './types.js';

const aead = (s: JsSlot, nonce: Uint8Array, ad: Uint8Array) =>
  s.cipher === 'aes' ? gcm(s.key, nonce, ad) : chacha20poly1305(s.key, nonce, ad);

export function createNobleBatchAead(): BatchAead {
  return createJsBatchAead('noble', {
    seal(s, nonce, buf, hdr, p, len) {
      buf.set(aead(s, nonce, buf.slice(hdr, p)).encrypt(buf.slice(p, p + len)), p);
    },
    open(s, nonce, buf, hdr, p, len) {
      try {
        buf.set(aead(s, nonce, buf.slice(hdr, p)).decrypt(buf.slice(p, p + len + TAG_LEN)), p);
        return true;
      } catch {
        return false;
      }
    },
  });
}
