import type { BatchSend } from '@nebula-ts/native-common';
export type Cipher = 'aes' | 'chachapoly';
export type BatchAeadKind = 'native' | 'node' | 'noble';

/**
 * How the native addon runs AES-256-GCM: 'aesni-gcm128' calls OpenSSL's GCM mode and AES-NI
 * functions directly (a lone packet on cold caches costs a few µs instead of tens through EVP);
 * 'evp' goes through EVP and the provider, as ChaCha20-Poly1305 always does.
 */
export type AesEngine = 'aesni-gcm128' | 'evp';

export interface NativeAeadOptions {
  /** 'auto' (default): 'aesni-gcm128' when this process's OpenSSL exports it and the CPU has AES-NI. */
  readonly aesEngine?: 'auto' | 'evp';
}

/** Bytes of Nebula header in front of each packet; it is the AEAD additional data. */
export const HEADER_LEN = 16;
export const TAG_LEN = 16;
export const KEY_LEN = 32;
/** Slots are indexes into a dense table; keep them small (e.g. a per-routine tunnel index). */
export const MAX_SLOTS = 1 << 20;

/**
 * Seals/opens batches of Nebula packets in place. Packet i is described by three `meta` words:
 * `[3i]` key slot, `[3i+1]` offset of its 16-byte header in `buf`, `[3i+2]` length (plaintext
 * for seal; ciphertext+tag for open). The payload follows the header; the 16-byte tag follows
 * the payload. AD = the header; nonce = 4 zero bytes ‖ header bytes 8..15 (the counter), as is
 * for aes and byte-reversed for chachapoly (handshake.md §7).
 *
 * One instance per thread: instances hold OpenSSL contexts and are not shareable.
 */
export interface BatchAead {
  readonly kind: BatchAeadKind;
  /** Installs `key` in `slot` (replacing and wiping what was there). */
  setKey(slot: number, cipher: Cipher, key: Uint8Array): void;
  /** Wipes and frees the slot; packets that still name it fail (open) or throw (seal). */
  clearKey(slot: number): void;
  /**
   * Seals `count` packets in place. Every entry is validated first: an empty slot or a packet
   * whose header+payload+tag does not fit in `buf` throws `ERR_AEAD_BAD_META` before any byte
   * is written.
   */
  sealBatch(buf: Uint8Array, meta: Uint32Array, count: number): void;
  /**
   * Opens `count` packets in place; `results[i]` = 1 if authentic, else 0 (tampered, shorter
   * than a tag, empty slot, outside `buf`). Failed packets' payload bytes are zeroed.
   * Returns the number of authentic packets.
   */
  openBatch(buf: Uint8Array, meta: Uint32Array, count: number, results: Uint8Array): number;
  /**
   * `sealBatch` on fixed arrays, as a function of the count alone (native only). A data path
   * that always seals from the same arrays saves the per-call argument work, which dominates a
   * lone packet's cost in an idle process. The arrays stay pinned while the function lives and
   * must not be transferred.
   *
   * With `send` (a bound batch send carrying `nativeSend`: `@nebula-ts/udp`'s `bindSend`), the
   * function also sends the sealed batch, in the same native call, and returns how many packets
   * the send consumed; the send's arrays must describe the same packets (entry i = packet i).
   * A send that refuses the batch throws ERR_AEAD_SEND.
   */
  bindSeal?(buf: Uint8Array, meta: Uint32Array, send?: BatchSend): (count: number) => number | undefined;
  /** `openBatch` on fixed arrays, as `bindSeal`. */
  bindOpen?(buf: Uint8Array, meta: Uint32Array, results: Uint8Array): (count: number) => number;
  /** Frees every slot. The instance can be reused afterwards. */
  close(): void;
}
