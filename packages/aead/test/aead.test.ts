import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BatchAead,
  type Cipher,
  createBatchAead,
  createNativeBatchAead,
  HEADER_LEN,
  isAeadError,
  nativeAeadAvailable,
  nativeOpensslVersion,
  TAG_LEN,
} from '../src/index.js';

const numRuns = Number(process.env.FUZZ_RUNS ?? 2000);
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** Every implementation under test: the native addon's AES both direct (its default) and through EVP. */
const IMPLS = {
  native: () => createNativeBatchAead(),
  'native-evp': () => createNativeBatchAead({ aesEngine: 'evp' }),
  node: () => createBatchAead('node'),
  noble: () => createBatchAead('noble'),
} satisfies Record<string, () => BatchAead>;
type Impl = keyof typeof IMPLS;
const KINDS = Object.keys(IMPLS) as Impl[];

// vectors.md §2: first data packet alpha→beta (k1) and test reply beta→alpha (k2), counter 3.
const ICMP = hex('4500001c000100004001668a0a2a00010a2a00020800f7ff00000000');
const V: Record<Cipher, { k1: string; k2: string; data: string; reply: string }> = {
  aes: {
    k1: 'fd4f56b714297b03adb9bb6a30b00fa11034ee2fbc22b9cb128ce3040d0ffddb',
    k2: '5f36be4d9a0fea19ed921e634bc7ad3a1a449cd5cd978ef7fa6fc36ee586d270',
    data: '11000000556677880000000000000003ed923dab71b7e7fef4a8d9a74f688383cdd77d58e82ec694de61e0cba58b6626a71a70b5d0fa48434add3ff8',
    reply: '140100001122334400000000000000034ddd4b23e31b63b5e2da0b686d747c3d',
  },
  chachapoly: {
    k1: 'f3f51a92d118e7b6b89f261ec5545887e3c865dee2fea0d0c4aea395cf2bec40',
    k2: '05f77a1f70e7663817ea9980639f467dc62389ba74fa1cbc5a428f00c1d4b662',
    data: '11000000556677880000000000000003fed067e55af3e8a1b8cf209db8cee9d86fc8e9f803bf966935c1e2b80c2ab672dbeef7b756995b8f5e329246',
    reply: '14010000112233440000000000000003ecdd3fc23406cf99e887426e80233456',
  },
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    expect(isAeadError(e)).toBe(true);
    return (e as { code: string }).code;
  }
}

interface Batch {
  buf: Uint8Array;
  meta: Uint32Array;
  count: number;
  plain: Uint8Array[];
}

/** Packets laid out back to back with a random gap, each header random (counter included). */
function makeBatch(sizes: number[], slots: number[]): Batch {
  let total = 7;
  for (const s of sizes) total += HEADER_LEN + s + TAG_LEN + 5;
  const buf = new Uint8Array(total);
  const meta = new Uint32Array(sizes.length * 3);
  const plain: Uint8Array[] = [];
  let off = 7;
  sizes.forEach((s, i) => {
    buf.set(randomBytes(HEADER_LEN + s), off);
    plain.push(buf.slice(off + HEADER_LEN, off + HEADER_LEN + s));
    meta[3 * i] = slots[i]!;
    meta[3 * i + 1] = off;
    meta[3 * i + 2] = s;
    off += HEADER_LEN + s + TAG_LEN + 5;
  });
  return { buf, meta, count: sizes.length, plain };
}

function toOpenMeta(meta: Uint32Array): Uint32Array {
  const m = meta.slice();
  for (let i = 2; i < m.length; i += 3) m[i]! += TAG_LEN;
  return m;
}

const keys = [randomBytes(32), randomBytes(32), randomBytes(32), randomBytes(32)];
const slotCiphers: Cipher[] = ['aes', 'chachapoly', 'aes', 'chachapoly'];
const SLOT_IDS = [0, 3, 17, 1000];

/** Random batches of 1..12 packets (sizes 0..1400 and 9000, random slots), each maybe marked to tamper with. */
const randomBatch = fc
  .array(
    fc.record({
      size: fc.oneof(fc.nat(64), fc.nat(1400), fc.constant(9000)),
      key: fc.nat(3),
      tamper: fc.boolean(),
    }),
    { minLength: 1, maxLength: 12 },
  )
  .map((spec) => ({
    batch: makeBatch(
      spec.map((p) => p.size),
      spec.map((p) => SLOT_IDS[p.key]!),
    ),
    tamper: spec.map((p) => p.tamper),
  }));

function keyed(kind: Impl): BatchAead {
  const a = IMPLS[kind]();
  for (const [i, s] of SLOT_IDS.entries()) a.setKey(s, slotCiphers[i]!, keys[i]!);
  return a;
}

describe('@nebula-ts/aead', () => {
  it("the native addon loads against Node's own OpenSSL", () => {
    expect(nativeAeadAvailable()).toBe(true);
    expect(nativeOpensslVersion()).toContain(process.versions.openssl.replace(/\+.*/, ''));
    expect(createBatchAead().kind).toBe('native');
  });

  it("native AES runs on OpenSSL's GCM mode with AES-NI directly, unless asked for EVP", () => {
    const cpuHasAes = /\baes\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
    expect(cpuHasAes).toBe(true); // CI's machines have AES-NI; without it the direct engine cannot be tested
    expect(IMPLS.native().aesEngine).toBe('aesni-gcm128');
    expect(IMPLS['native-evp']().aesEngine).toBe('evp');
  });

  describe.each(KINDS)('%s', (kind) => {
    it.each(['aes', 'chachapoly'] as const)(
      'matches the vectors.md data packet and test reply (%s), mixed slots in one batch',
      (cipher) => {
        const v = V[cipher];
        const a = IMPLS[kind]();
        a.setKey(2, cipher, hex(v.k1));
        a.setKey(9, cipher, hex(v.k2));
        const buf = new Uint8Array(200);
        buf.set(hex(v.data).subarray(0, 16), 0);
        buf.set(ICMP, 16);
        buf.set(hex(v.reply).subarray(0, 16), 100);
        a.sealBatch(buf, Uint32Array.of(2, 0, ICMP.length, 9, 100, 0), 2);
        expect(toHex(buf.subarray(0, 60))).toBe(v.data);
        expect(toHex(buf.subarray(100, 132))).toBe(v.reply);
        const results = new Uint8Array(2);
        expect(a.openBatch(buf, Uint32Array.of(2, 0, ICMP.length + 16, 9, 100, 16), 2, results)).toBe(2);
        expect([...results]).toEqual([1, 1]);
        expect(toHex(buf.subarray(16, 44))).toBe(toHex(ICMP));
        a.close();
      },
    );

    it('round-trips random batches of 0..1400 and 9000 bytes with mixed slots and ciphers', () => {
      const a = keyed(kind);
      const sizes = [
        0,
        1,
        15,
        16,
        17,
        28,
        64,
        255,
        1300,
        1400,
        9000,
        ...Array.from({ length: 20 }, () => Math.floor(Math.random() * 1401)),
      ];
      const slots = sizes.map((_, i) => SLOT_IDS[i % 4]!);
      const b = makeBatch(sizes, slots);
      const before = b.buf.slice();
      a.sealBatch(b.buf, b.meta, b.count);
      expect(toHex(b.buf)).not.toBe(toHex(before));
      const results = new Uint8Array(b.count + 3).fill(7);
      expect(a.openBatch(b.buf, toOpenMeta(b.meta), b.count, results)).toBe(b.count);
      expect([...results.subarray(0, b.count)].every((r) => r === 1)).toBe(true);
      expect(results[b.count]).toBe(7); // nothing past count is touched
      expect(toHex(b.buf)).toBe(toHex(before.map((x, i) => (isTag(b, i) ? b.buf[i]! : x))));
    });

    it('tampered packets fail with results[i] = 0 (payload zeroed), neighbours unaffected', () => {
      const a = keyed(kind);
      const sizes = [40, 40, 0, 40, 40, 1400];
      const b = makeBatch(sizes, [0, 3, 17, 1000, 0, 3]);
      a.sealBatch(b.buf, b.meta, b.count);
      const off = (i: number) => b.meta[3 * i + 1]!;
      b.buf[off(1) + 3]! ^= 1; // header (AD) of packet 1
      b.buf[off(2) + HEADER_LEN]! ^= 0x80; // tag of the empty packet 2
      b.buf[off(3) + HEADER_LEN + 5]! ^= 4; // ciphertext of packet 3
      b.buf[off(5) + 9]! ^= 1; // counter (nonce) of packet 5
      const results = new Uint8Array(b.count);
      expect(a.openBatch(b.buf, toOpenMeta(b.meta), b.count, results)).toBe(2);
      expect([...results]).toEqual([1, 0, 0, 0, 1, 0]);
      for (const i of [0, 4])
        expect(toHex(b.buf.subarray(off(i) + 16, off(i) + 56))).toBe(toHex(b.plain[i]!));
      for (const i of [1, 3])
        expect(b.buf.subarray(off(i) + 16, off(i) + 56).every((x) => x === 0)).toBe(true);
    });

    it('rejects bad meta: seal throws before writing, open fails just that packet', () => {
      const a = keyed(kind);
      const b = makeBatch([10, 10], [0, 3]);
      const before = toHex(b.buf);
      const len = b.buf.length;
      const bad = (slot: number, off: number, n: number) => Uint32Array.of(0, b.meta[1]!, 10, slot, off, n);
      expect(codeOf(() => a.sealBatch(b.buf, bad(3, len - 16 - 16 - 9, 10), 2))).toBe('ERR_AEAD_BAD_META');
      expect(codeOf(() => a.sealBatch(b.buf, bad(3, 0xffffffff, 10), 2))).toBe('ERR_AEAD_BAD_META');
      expect(codeOf(() => a.sealBatch(b.buf, bad(3, 0, 0xfffffff0), 2))).toBe('ERR_AEAD_BAD_META');
      expect(codeOf(() => a.sealBatch(b.buf, bad(4, 0, 1), 2))).toBe('ERR_AEAD_BAD_META');
      expect(codeOf(() => a.sealBatch(b.buf, bad(3, 0, 1), 3))).toBe('ERR_AEAD_BAD_META');
      expect(toHex(b.buf)).toBe(before);
      a.sealBatch(b.buf, b.meta, 2);
      const om = toOpenMeta(b.meta);
      const results = new Uint8Array(4);
      const cases: [number, number, number][] = [
        [3, len - 16 - 15, 16], // runs past the end by one byte
        [3, 0xfffffff0, 26], // offset overflow
        [3, b.meta[4]!, 15], // shorter than a tag
        [99, b.meta[4]!, 26], // unset slot
      ];
      for (const [slot, off, n] of cases) {
        const m = Uint32Array.of(om[0]!, om[1]!, om[2]!, slot, off, n);
        expect(a.openBatch(b.buf, m, 2, results)).toBe(1);
        expect([...results.subarray(0, 2)]).toEqual([1, 0]);
        a.sealBatch(b.buf, b.meta.subarray(0, 3), 1); // re-seal packet 0 for the next round
      }
      expect(codeOf(() => a.openBatch(b.buf, om, 2, new Uint8Array(1)))).toBe('ERR_AEAD_ARGUMENT');
      expect(codeOf(() => a.openBatch(b.buf, om, 3, results))).toBe('ERR_AEAD_BAD_META');
      expect(codeOf(() => a.openBatch(b.buf, om, 1.5, results))).toBe('ERR_AEAD_BAD_META');
      expect(codeOf(() => a.sealBatch(b.buf, om, Number.NaN))).toBe('ERR_AEAD_BAD_META');
      expect(codeOf(() => a.sealBatch(b.buf, new Uint32Array(6) as unknown as Uint32Array, -1))).toBe(
        'ERR_AEAD_BAD_META',
      );
      expect(codeOf(() => a.sealBatch([] as unknown as Uint8Array, om, 0))).toBe('ERR_AEAD_ARGUMENT');
      expect(codeOf(() => a.setKey(1, 'aes', new Uint8Array(16)))).toBe('ERR_AEAD_ARGUMENT');
      expect(codeOf(() => a.setKey(1, 'des' as Cipher, new Uint8Array(32)))).toBe('ERR_AEAD_ARGUMENT');
      expect(codeOf(() => a.setKey(-1, 'aes', new Uint8Array(32)))).toBe('ERR_AEAD_ARGUMENT');
    });

    it('clearKey: the slot is gone for open and seal; setKey replaces a key', () => {
      const a = keyed(kind);
      const b = makeBatch([30], [3]);
      a.sealBatch(b.buf, b.meta, 1);
      a.clearKey(3);
      const r = new Uint8Array(1);
      const sealed = b.buf.slice();
      expect(a.openBatch(b.buf, toOpenMeta(b.meta), 1, r)).toBe(0);
      expect(codeOf(() => a.sealBatch(b.buf, b.meta, 1))).toBe('ERR_AEAD_BAD_META');
      a.setKey(3, 'aes', keys[1]!); // same key bytes, other cipher: must not verify
      b.buf.set(sealed);
      expect(a.openBatch(b.buf, toOpenMeta(b.meta), 1, r)).toBe(0);
      a.setKey(3, 'chachapoly', keys[1]!);
      b.buf.set(sealed);
      expect(a.openBatch(b.buf, toOpenMeta(b.meta), 1, r)).toBe(1);
      a.clearKey(123456); // never set: no-op
      a.close();
      b.buf.set(sealed);
      expect(a.openBatch(b.buf, toOpenMeta(b.meta), 1, r)).toBe(0);
    });
  });

  it('native (direct and EVP), node and noble produce identical bytes on random batches', () => {
    const impls = KINDS.map(keyed);
    fc.assert(
      fc.property(randomBatch, ({ batch: b }) => {
        const outs = impls.map((a) => {
          const buf = b.buf.slice();
          a.sealBatch(buf, b.meta, b.count);
          return buf;
        });
        for (const out of outs.slice(1)) expect(toHex(out)).toBe(toHex(outs[0]!));
        // Each implementation opens what the native one sealed.
        for (const a of impls) {
          const buf = outs[0]!.slice();
          const r = new Uint8Array(b.count);
          expect(a.openBatch(buf, toOpenMeta(b.meta), b.count, r)).toBe(b.count);
        }
      }),
      { numRuns: Math.max(20, Math.floor(numRuns / 20)) },
    );
  });

  it('native bound seal/open (bindSeal/bindOpen) give the bytes and results of sealBatch/openBatch', () => {
    const a = keyed('native');
    expect(a.bindSeal).toBeTypeOf('function');
    fc.assert(
      fc.property(randomBatch, ({ batch: b, tamper }) => {
        const viaCall = b.buf.slice();
        a.sealBatch(viaCall, b.meta, b.count);
        // The bound function reads the arrays at call time: fill them after binding.
        const buf = new Uint8Array(b.buf.length);
        const meta = new Uint32Array(b.meta.length);
        const seal = a.bindSeal!(buf, meta);
        buf.set(b.buf);
        meta.set(b.meta);
        seal(b.count);
        expect(toHex(buf)).toBe(toHex(viaCall));
        // Tamper some packets; bound open must agree with openBatch packet by packet.
        tamper.forEach((bad, i) => {
          if (bad) buf[b.meta[3 * i + 1]! + HEADER_LEN]! ^= 1;
        });
        const copy = buf.slice();
        const ometa = toOpenMeta(b.meta);
        const r1 = new Uint8Array(b.count);
        const n1 = a.openBatch(copy, ometa, b.count, r1);
        const r2 = new Uint8Array(b.count);
        const open = a.bindOpen!(buf, ometa, r2);
        expect(open(b.count)).toBe(n1);
        expect([...r2]).toEqual([...r1]);
        expect(toHex(buf)).toBe(toHex(copy));
      }),
      { numRuns: Math.max(20, Math.floor(numRuns / 20)) },
    );
    const seal = a.bindSeal!(new Uint8Array(64), new Uint32Array(3));
    expect(codeOf(() => seal(2))).toBe('ERR_AEAD_BAD_META');
    expect(codeOf(() => seal(-1))).toBe('ERR_AEAD_BAD_META');
    expect(codeOf(() => (seal as unknown as (x: string) => void)('1'))).toBe('ERR_AEAD_ARGUMENT');
    const open = a.bindOpen!(new Uint8Array(64), new Uint32Array(6), new Uint8Array(1));
    expect(codeOf(() => open(2))).toBe('ERR_AEAD_BAD_META');
    expect(open(1)).toBe(0);
  });

  it.each(KINDS)(
    'fuzz (%s): arbitrary meta never corrupts memory outside the packets, results are 0/1',
    (kind) => {
      const a = keyed(kind);
      fc.assert(
        fc.property(
          fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 30 }),
          fc.nat(300),
          (words, bufLen) => {
            const meta = Uint32Array.from(
              words.map((w, i) => (i % 3 === 0 ? (SLOT_IDS[w % 5] ?? w) : w % 400)),
            );
            const count = Math.floor(meta.length / 3);
            const guard = new Uint8Array(bufLen + 64).fill(0xee);
            const buf = guard.subarray(32, 32 + bufLen);
            const results = new Uint8Array(count);
            a.openBatch(buf, meta, count, results);
            expect(results.every((r) => r === 0 || r === 1)).toBe(true);
            try {
              a.sealBatch(buf, meta, count);
            } catch (e) {
              expect(isAeadError(e)).toBe(true);
            }
            expect(guard.subarray(0, 32).every((x) => x === 0xee)).toBe(true);
            expect(guard.subarray(32 + bufLen).every((x) => x === 0xee)).toBe(true);
          },
        ),
        { numRuns: kind.startsWith('native') ? numRuns : Math.ceil(numRuns / 4) },
      );
    },
  );

  it('the addon is context-aware: two worker threads seal concurrently, same bytes as the main thread', async () => {
    const addonPath = fileURLToPath(new URL('../build/Release/aead.node', import.meta.url));
    const b = makeBatch(
      Array.from({ length: 64 }, (_, i) => i * 20),
      Array.from({ length: 64 }, (_, i) => (i % 2 ? 1 : 0)),
    );
    const main = createBatchAead('native');
    main.setKey(0, 'aes', keys[0]!);
    main.setKey(1, 'chachapoly', keys[1]!);
    const expected = b.buf.slice();
    main.sealBatch(expected, b.meta, b.count);
    const body = `
      const { workerData, parentPort } = require('node:worker_threads');
      const { NativeBatchAead } = require(workerData.addonPath);
      const a = new NativeBatchAead();
      a.setKey(0, 1, workerData.k0);
      a.setKey(1, 2, workerData.k1);
      let buf;
      for (let r = 0; r < 200; r++) { buf = workerData.buf.slice(); a.sealBatch(buf, workerData.meta, workerData.count); }
      parentPort.postMessage(buf);
    `;
    const run = () =>
      new Promise<Uint8Array>((resolve, reject) => {
        const w = new Worker(body, {
          eval: true,
          workerData: { addonPath, k0: keys[0], k1: keys[1], buf: b.buf, meta: b.meta, count: b.count },
        });
        w.once('message', (m: Uint8Array) => {
          resolve(m);
          void w.terminate();
        });
        w.once('error', reject);
      });
    const [r1, r2] = await Promise.all([run(), run()]);
    expect(toHex(r1)).toBe(toHex(expected));
    expect(toHex(r2)).toBe(toHex(expected));
  });
});

/** Whether byte i of the batch buffer is inside a tag or gap (changed by sealing). */
function isTag(b: Batch, i: number): boolean {
  for (let k = 0; k < b.count; k++) {
    const end = b.meta[3 * k + 1]! + HEADER_LEN + b.meta[3 * k + 2]!;
    if (i >= end && i < end + TAG_LEN) return true;
  }
  return false;
}
