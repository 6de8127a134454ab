/**
 * The batch skeleton shared by the JS implementations (node:crypto and noble): key slots, meta
 * checks, the per-packet loop and the nonce. Each implementation only supplies how to seal or
 * open one packet in place; the native addon does the same walk in C++.
 */
import { type BatchAead, type Cipher, HEADER_LEN, TAG_LEN } from '../types.js';
import {
  checkBatchArgs,
  checkResults,
  checkSealMeta,
  checkSetKey,
  nonceFromHeader,
  openEntryOk,
} from './check.js';

export interface JsSlot {
  readonly cipher: Cipher;
  /** A private copy of the key, zeroed on clear/close. */
  readonly key: Uint8Array;
}

export interface PacketCipher {
  /** Encrypts `buf[p, p+len)` in place with AD `buf[hdr, p)` and writes the tag at `p+len`. */
  seal(slot: JsSlot, nonce: Uint8Array, buf: Uint8Array, hdr: number, p: number, len: number): void;
  /** Decrypts `buf[p, p+len)` in place (tag at `p+len`); false if not authentic. */
  open(slot: JsSlot, nonce: Uint8Array, buf: Uint8Array, hdr: number, p: number, len: number): boolean;
}

export function createJsBatchAead(kind: 'node' | 'noble', one: PacketCipher): BatchAead {
  const slots: (JsSlot | undefined)[] = [];
  const nonce = new Uint8Array(12);
  const has = (s: number): boolean => slots[s] !== undefined;
  const wipe = (s: number): void => {
    slots[s]?.key.fill(0);
    slots[s] = undefined;
  };
  return {
    kind,
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
        nonceFromHeader(nonce, s.cipher, buf, hdr);
        one.seal(s, nonce, buf, hdr, hdr + HEADER_LEN, meta[3 * i + 2]!);
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
        if (one.open(s, nonce, buf, hdr, p, len)) {
          results[i] = 1;
          ok++;
        } else {
          // A forged packet leaves nothing readable behind.
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
