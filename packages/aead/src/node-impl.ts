/**
 * Fallback over node:crypto: one createCipheriv/createDecipheriv per packet (Node 20 cannot
 * re-nonce a cipher object), so it allocates per packet; ~7-10x slower than the addon.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { createJsBatchAead, type JsSlot } from './internal/js-batch.js';
import { type BatchAead, TAG_LEN } from './types.js';

// The cast selects the CipherGCM overloads; chacha20-poly1305 objects have the same methods.
const algo = (s: JsSlot) => (s.cipher === 'aes' ? 'aes-256-gcm' : 'chacha20-poly1305') as 'aes-256-gcm';

export function createNodeBatchAead(): BatchAead {
  return createJsBatchAead('node', {
    seal(s, nonce, buf, hdr, p, len) {
      const c = createCipheriv(algo(s), s.key, nonce, { authTagLength: TAG_LEN });
      c.setAAD(buf.subarray(hdr, p));
      const ct = c.update(buf.subarray(p, p + len));
      buf.set(ct, p);
      buf.set(c.final(), p + ct.length);
      buf.set(c.getAuthTag(), p + len);
    },
    open(s, nonce, buf, hdr, p, len) {
      const d = createDecipheriv(algo(s), s.key, nonce, { authTagLength: TAG_LEN });
      d.setAAD(buf.subarray(hdr, p));
      d.setAuthTag(buf.subarray(p + len, p + len + TAG_LEN));
      const pt = d.update(buf.subarray(p, p + len));
      try {
        const fin = d.final();
        buf.set(pt, p);
        buf.set(fin, p + pt.length);
        return true;
      } catch {
        pt.fill(0);
        return false;
      }
    },
  });
}
