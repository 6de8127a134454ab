/**
 * `pnpm bench aead [--seconds=0.5] [--filter=regex]`: seal/open packets per CPU-second for the
 * three @nebula-ts/aead implementations (the native one's AES both direct and through EVP), both
 * ciphers, 64 and 1400-byte payloads, batches of 64 and 1. Open needs fresh ciphertext each round (it decrypts in place), so each open call is
 * preceded by a memcpy of the sealed batch; the "open" column subtracts that measured memcpy
 * cost, "open+copy" is the raw figure.
 *
 * `pnpm bench aead --idle-ms=10 [--count=300]`: instead, the cost of one lone packet on cold
 * caches, as a ping at 100/s meets it: each bound call (an empty one, a seal, an open of 84 bytes)
 * follows its own `idle-ms` sleep, timed from JS with performance.now(). Native AES both direct
 * and through EVP, interleaved call by call so that the host's drift hits both alike.
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import {
  type BatchAeadKind,
  type Cipher,
  createBatchAead,
  createNativeBatchAead,
  nativeOpensslVersion,
} from '@nebula-ts/aead';
import { rate } from '../harness.js';

const HEADER = 16;
const TAG = 16;

interface Row {
  impl: string;
  cipher: Cipher;
  size: number;
  batch: number;
  seal: number;
  open: number;
  openRaw: number;
}

function best(seconds: number, perCall: number, fn: () => void): number {
  let top = 0;
  for (let r = 0; r < 2; r++) {
    const r = rate('', seconds, perCall, () => {
      fn();
      return perCall;
    });
    top = Math.max(top, r.pps);
  }
  return top;
}

function coldRun(idleMs: number, count: number): void {
  const key = randomBytes(32);
  const engines = (['auto', 'evp'] as const).map((aesEngine) => {
    const a = createNativeBatchAead({ aesEngine });
    a.setKey(0, 'aes', key);
    const buf = new Uint8Array(HEADER + 84 + TAG);
    const seal = a.bindSeal!(buf, Uint32Array.of(0, 0, 84));
    const open = a.bindOpen!(buf, Uint32Array.of(0, 0, 84 + TAG), new Uint8Array(1));
    return { name: a.aesEngine, a, buf, seal, open };
  });
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const times = new Map<string, number[]>();
  const timed = (name: string, fn: () => unknown) => {
    Atomics.wait(gate, 0, 0, idleMs);
    const t0 = performance.now();
    fn();
    const us = (performance.now() - t0) * 1000;
    const list = times.get(name) ?? [];
    list.push(us);
    times.set(name, list);
  };
  for (let i = 0; i < count; i++) {
    timed('nothing (two clock reads)', () => undefined);
    for (const e of engines) {
      e.buf[15] = i & 0xff; // a fresh counter in the header, so each seal is a new nonce
      timed(`${e.name}: bound call, count 0`, () => e.open(0));
      timed(`${e.name}: seal 84 B`, () => e.seal(1));
      timed(`${e.name}: open 84 B`, () => {
        if (e.open(1) !== 1) throw new Error('cold open failed');
      });
    }
  }
  for (const e of engines) e.a.close();
  console.log(
    `# aead cold: one call after each ${idleMs} ms idle, ${count} rounds (first 20 dropped), µs from JS\n`,
  );
  console.log('| call | median | p25 | p75 |');
  console.log('|---|---:|---:|---:|');
  for (const [name, list] of times) {
    const xs = list.slice(20).sort((x, y) => x - y);
    const q = (f: number) => xs[Math.min(xs.length - 1, Math.floor(f * xs.length))]!.toFixed(1);
    console.log(`| ${name} | ${q(0.5)} | ${q(0.25)} | ${q(0.75)} |`);
  }
}

export async function run(args: string[]): Promise<void> {
  const idle = args.find((a) => a.startsWith('--idle-ms='));
  if (idle !== undefined) {
    const count = Number(args.find((a) => a.startsWith('--count='))?.slice(8) ?? 300);
    coldRun(Math.max(0, Number(idle.slice(10))), Math.max(40, count));
    return;
  }
  const seconds = Number(args.find((a) => a.startsWith('--seconds='))?.slice(10) ?? 0.5);
  const filter = new RegExp(args.find((a) => a.startsWith('--filter='))?.slice(9) ?? '.');
  console.log(
    `# aead: Node ${process.version}, ${nativeOpensslVersion() ?? `OpenSSL ${process.versions.openssl}`}, ${cpus()[0]?.model ?? '?'}`,
  );
  console.log(`# packets per CPU-second (process.cpuUsage), best of 2 x ${seconds}s\n`);
  const rows: Row[] = [];
  const impls: Array<[BatchAeadKind, 'auto' | 'evp']> = [
    ['native', 'auto'],
    ['native', 'evp'],
    ['node', 'auto'],
    ['noble', 'auto'],
  ];
  for (const [kind, aesEngine] of impls) {
    for (const cipher of ['aes', 'chachapoly'] as const) {
      // ChaCha20-Poly1305 always goes through EVP: one native row for it.
      if (cipher !== 'aes' && aesEngine === 'evp') continue;
      for (const size of [64, 1400]) {
        for (const batch of [64, 1]) {
          const aead = createBatchAead(kind, { aesEngine });
          const impl = 'aesEngine' in aead && cipher === 'aes' ? `${kind} (${String(aead.aesEngine)})` : kind;
          const name = `${impl} ${cipher} ${size}B batch=${batch}`;
          if (!filter.test(name)) {
            aead.close();
            continue;
          }
          aead.setKey(0, cipher, randomBytes(32));
          const stride = HEADER + size + TAG;
          const buf = new Uint8Array(stride * batch);
          buf.set(randomBytes(buf.length));
          const sealMeta = new Uint32Array(batch * 3);
          const openMeta = new Uint32Array(batch * 3);
          for (let i = 0; i < batch; i++) {
            sealMeta[3 * i + 1] = openMeta[3 * i + 1] = i * stride;
            sealMeta[3 * i + 2] = size;
            openMeta[3 * i + 2] = size + TAG;
          }
          const results = new Uint8Array(batch);
          // Slow implementations get less time: the figure is a rate, not a total.
          const secs = kind === 'noble' ? Math.min(seconds, 0.3) : seconds;
          const seal = best(secs, batch, () => aead.sealBatch(buf, sealMeta, batch));
          const sealed = buf.slice();
          const openRaw = best(secs, batch, () => {
            buf.set(sealed);
            if (aead.openBatch(buf, openMeta, batch, results) !== batch) throw new Error('open failed');
          });
          const copy = best(Math.min(secs, 0.2), batch, () => buf.set(sealed));
          const open = 1 / (1 / openRaw - 1 / copy);
          rows.push({ impl, cipher, size, batch, seal, open, openRaw });
          aead.close();
        }
      }
    }
  }
  const k = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`);
  console.log(
    '| impl | cipher | payload B | batch | seal pkt/s | seal MB/s | open pkt/s | open MB/s | open+copy pkt/s |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.impl} | ${r.cipher} | ${r.size} | ${r.batch} | ${k(r.seal)} | ${((r.seal * r.size) / 1e6).toFixed(0)} | ${k(r.open)} | ${((r.open * r.size) / 1e6).toFixed(0)} | ${k(r.openRaw)} |`,
    );
  }
}
