import { createHash } from 'node:crypto';
import { createSlots, formatAddr, type UdpSocket } from '../src/index.js';

/** Deterministic xorshift32 so failures reproduce. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** Resolves when `cond()` holds; rejects after `ms` (bounded in time, never spins the CPU). */
export async function waitFor(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export interface Received {
  payloads: Buffer[];
  from: string[];
  batches: number;
}

/** Collects every datagram `sock` receives (copies out of the arena). */
export function collect(sock: UdpSocket, max = 64): Received {
  const slots = createSlots(max);
  const got: Received = { payloads: [], from: [], batches: 0 };
  sock.onBatch(slots, (n) => {
    got.batches++;
    for (let i = 0; i < n; i++) {
      const off = slots.offsets[i]!;
      got.payloads.push(Buffer.from(slots.buf.subarray(off, off + slots.lengths[i]!)));
      got.from.push(formatAddr(slots.addrs, i));
    }
  });
  return got;
}

export function digest(parts: readonly Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(Buffer.from(Uint32Array.of(p.length).buffer));
    h.update(p);
  }
  return h.digest('hex');
}

import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Child processes and worker threads cannot load TypeScript on Node 20, so they import the
 * compiled package. Fails clearly when dist is missing or older than src.
 */
export function requireBuiltDist(): string {
  const pkg = fileURLToPath(new URL('..', import.meta.url));
  const entry = `${pkg}dist/index.js`;
  if (!existsSync(entry))
    throw new Error(`${entry} is missing: run \`pnpm exec tsc -b\` in packages/udp first`);
  for (const f of readdirSync(`${pkg}src`, { recursive: true })) {
    const p = `${pkg}src/${String(f)}`;
    if (!p.endsWith('.ts')) continue;
    const js = `${pkg}dist/${String(f).slice(0, -3)}.js`;
    if (!existsSync(js) || statSync(p).mtimeMs > statSync(js).mtimeMs + 1000)
      throw new Error(`${js} is missing or older than ${p}: run \`pnpm exec tsc -b\` in packages/udp first`);
  }
  return entry;
}
