/**
 * @packageDocumentation
 * Batched AEAD for Nebula packets (AES-256-GCM, ChaCha20-Poly1305): a native addon over Node's
 * own OpenSSL that seals/opens a whole batch per call (AES-GCM through OpenSSL's GCM mode and AES-NI
 * functions directly, ChaCha20-Poly1305 through one reused EVP context per key), plus
 * node:crypto and @noble/ciphers implementations of the same interface.
 */
import { AeadError } from './errors.js';
import { createNativeBatchAead, nativeAeadAvailable } from './native.js';
import { createNobleBatchAead } from './noble-impl.js';
import { createNodeBatchAead } from './node-impl.js';
import type { BatchAead, BatchAeadKind, NativeAeadOptions } from './types.js';

/**
 * A new batch AEAD (one per thread). With no `kind`: the native addon when it loads, else the
 * node:crypto fallback. Asking for 'native' explicitly throws `ERR_AEAD_NATIVE_UNAVAILABLE`
 * when the addon is missing.
 */
export function createBatchAead(kind?: BatchAeadKind, native?: NativeAeadOptions): BatchAead {
  switch (kind ?? (nativeAeadAvailable() ? 'native' : 'node')) {
    case 'native':
      return createNativeBatchAead(native);
    case 'node':
      return createNodeBatchAead();
    case 'noble':
      return createNobleBatchAead();
    default:
      throw new AeadError('ERR_AEAD_ARGUMENT', `unknown BatchAead kind: ${String(kind)}`);
  }
}

export { AeadError, type AeadErrorCode, isAeadError } from './errors.js';
export { createNativeBatchAead, nativeAeadAvailable, nativeOpensslVersion } from './native.js';
export {
  type AesEngine,
  type BatchAead,
  type BatchAeadKind,
  type Cipher,
  HEADER_LEN,
  KEY_LEN,
  MAX_SLOTS,
  type NativeAeadOptions,
  TAG_LEN,
} from './types.js';
