import { createRequire } from 'node:module';
import type { BatchSend } from '@nebula-ts/native-common';
import { AeadError } from './errors.js';
import type { AesEngine, BatchAead, Cipher, NativeAeadOptions } from './types.js';

interface NativeAddon {
  NativeBatchAead: new (
    aesEngine?: 'auto' | 'evp',
  ) => {
    aesEngine(): AesEngine;
    setKey(slot: number, kind: number, key: Uint8Array): void;
    clearKey(slot: number): void;
    sealBatch(buf: Uint8Array, meta: Uint32Array, count: number): void;
    openBatch(buf: Uint8Array, meta: Uint32Array, count: number, results: Uint8Array): number;
    bindSeal(buf: Uint8Array, meta: Uint32Array, send?: BatchSend): (count: number) => number | undefined;
    bindOpen(buf: Uint8Array, meta: Uint32Array, results: Uint8Array): (count: number) => number;
    close(): void;
  };
  opensslVersion: string;
}

let addon: NativeAddon | null = null;
let loadError: unknown = null;

function load(): NativeAddon | null {
  if (addon !== null || loadError !== null) return addon;
  try {
    addon = createRequire(import.meta.url)('../build/Release/aead.node') as NativeAddon;
  } catch (e) {
    loadError = e;
  }
  return addon;
}

/** Whether the OpenSSL addon loads in this process (it is per thread-safe: context-aware). */
export function nativeAeadAvailable(): boolean {
  return load() !== null;
}

/** The OpenSSL version the addon is running against (Node's own), or null. */
export function nativeOpensslVersion(): string | null {
  return load()?.opensslVersion ?? null;
}

const KIND = { aes: 1, chachapoly: 2 } as const;

/** The addon's class already has the contract's shape; this adds `kind` and the cipher mapping. */
export function createNativeBatchAead(
  options: NativeAeadOptions = {},
): BatchAead & { readonly aesEngine: AesEngine } {
  const a = load();
  if (a === null) {
    throw new AeadError(
      'ERR_AEAD_NATIVE_UNAVAILABLE',
      'native AEAD addon not loadable (run `pnpm exec node-gyp rebuild` in packages/aead)',
      {
        cause: loadError,
      },
    );
  }
  const n = new a.NativeBatchAead(options.aesEngine ?? 'auto');
  return {
    kind: 'native',
    aesEngine: n.aesEngine(),
    setKey(slot: number, cipher: Cipher, key: Uint8Array): void {
      const k = KIND[cipher];
      if (k === undefined) throw new AeadError('ERR_AEAD_ARGUMENT', `unknown cipher: ${String(cipher)}`);
      n.setKey(slot, k, key);
    },
    clearKey: (slot) => n.clearKey(slot),
    sealBatch: (buf, meta, count) => n.sealBatch(buf, meta, count),
    openBatch: (buf, meta, count, results) => n.openBatch(buf, meta, count, results),
    bindSeal: (buf, meta, send) => n.bindSeal(buf, meta, send),
    bindOpen: (buf, meta, results) => n.bindOpen(buf, meta, results),
    close: () => n.close(),
  };
}
