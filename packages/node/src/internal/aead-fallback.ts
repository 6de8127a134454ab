/**
 * A BatchAead over node:crypto, one cipher object per packet (what `createBatchAead('node')` in
 * `@nebula-ts/aead` provides). Used when that package is not available; correct but slow.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { BatchAead, Cipher } from './io-types.js';

export class NodeCryptoBatchAead implements BatchAead {
  private readonly keys: Array<{ cipher: Cipher; key: Buffer } | undefined> = [];
  private readonly nonce = Buffer.alloc(12);

  setKey(slot: number, cipher: Cipher, key: Uint8Array): void {
    this.keys[slot] = { cipher, key: Buffer.from(key) };
  }
  clearKey(slot: number): void {
    this.keys[slot] = undefined;
  }

  private setNonce(cipher: Cipher, buf: Uint8Array, hdr: number): void {
    const n = this.nonce;
    n.fill(0, 0, 4);
    if (cipher === 'aes') for (let i = 0; i < 8; i++) n[4 + i] = buf[hdr + 8 + i]!;
    else for (let i = 0; i < 8; i++) n[4 + i] = buf[hdr + 15 - i]!;
  }

  sealBatch(buf: Uint8Array, meta: Uint32Array, count: number): void {
    for (let i = 0; i < count; i++) {
      const k = this.keys[meta[3 * i]!];
      const hdr = meta[3 * i + 1]!;
      const len = meta[3 * i + 2]!;
      if (!k) continue;
      this.setNonce(k.cipher, buf, hdr);
      const c =
        k.cipher === 'aes'
          ? createCipheriv('aes-256-gcm', k.key, this.nonce, { authTagLength: 16 })
          : createCipheriv('chacha20-poly1305', k.key, this.nonce, { authTagLength: 16 });
      c.setAAD(buf.subarray(hdr, hdr + 16), { plaintextLength: len });
      const out = c.update(buf.subarray(hdr + 16, hdr + 16 + len));
      c.final();
      buf.set(out, hdr + 16);
      buf.set(c.getAuthTag(), hdr + 16 + len);
    }
  }

  openBatch(buf: Uint8Array, meta: Uint32Array, count: number, results: Uint8Array): number {
    let ok = 0;
    for (let i = 0; i < count; i++) {
      results[i] = 0;
      const k = this.keys[meta[3 * i]!];
      const hdr = meta[3 * i + 1]!;
      const len = meta[3 * i + 2]!;
      if (!k || len < 16) continue;
      const ctLen = len - 16;
      this.setNonce(k.cipher, buf, hdr);
      const d =
        k.cipher === 'aes'
          ? createDecipheriv('aes-256-gcm', k.key, this.nonce, { authTagLength: 16 })
          : createDecipheriv('chacha20-poly1305', k.key, this.nonce, { authTagLength: 16 });
      d.setAAD(buf.subarray(hdr, hdr + 16), { plaintextLength: ctLen });
      d.setAuthTag(buf.subarray(hdr + 16 + ctLen, hdr + 16 + len));
      try {
        const out = d.update(buf.subarray(hdr + 16, hdr + 16 + ctLen));
        d.final();
        buf.set(out, hdr + 16);
        results[i] = 1;
        ok++;
      } catch {
        /* not authentic */
      }
    }
    return ok;
  }
}
