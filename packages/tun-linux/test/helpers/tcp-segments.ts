/**
 * TCP/IPv4 segment runs for the TSO tests: a builder, a fast-check generator of runs with
 * mutations (what a peer could send us, decrypted), and a model of the merge rules of
 * src/native/offload.cc written from the rules, not from the C.
 */
import fc from 'fast-check';
import { sum16 } from './packets.js';

export const FIN = 0x01;
export const SYN = 0x02;
export const PSH = 0x08;
export const ACK = 0x10;

export interface SegmentSpec {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** TCP options, a multiple of 4 bytes. */
  options: Uint8Array;
  payload: Uint8Array;
  id: number;
  ttl: number;
}

/** A well-formed IPv4 (no options, DF) + TCP segment with valid checksums. */
export function segment(s: SegmentSpec): Uint8Array {
  const hlen = 40 + s.options.length;
  const b = new Uint8Array(hlen + s.payload.length);
  const v = new DataView(b.buffer);
  b[0] = 0x45;
  v.setUint16(2, b.length);
  v.setUint16(4, s.id);
  v.setUint16(6, 0x4000);
  b[8] = s.ttl;
  b[9] = 6;
  v.setUint32(12, s.src);
  v.setUint32(16, s.dst);
  v.setUint16(20, s.sport);
  v.setUint16(22, s.dport);
  v.setUint32(24, s.seq >>> 0);
  v.setUint32(28, s.ack >>> 0);
  b[32] = ((hlen - 20) / 4) << 4;
  b[33] = s.flags;
  v.setUint16(34, s.window);
  b.set(s.options, 40);
  b.set(s.payload, hlen);
  fixChecksums(b);
  return b;
}

/** Recomputes the IPv4 header and TCP checksums of an IPv4 (IHL 5) TCP packet in place. */
export function fixChecksums(b: Uint8Array): void {
  if (b.length < 40) return;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  v.setUint16(10, 0);
  v.setUint16(10, ~sum16(b, 0, 20) & 0xffff);
  const l4 = b.length - 20;
  v.setUint16(36, 0);
  const pseudo = sum16(b, 12, 8) + 6 + l4;
  v.setUint16(36, ~sum16(b, 20, l4, pseudo) & 0xffff);
}

const be16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const be32 = (b: Uint8Array, o: number): number => (be16(b, o) * 65536 + be16(b, o + 2)) >>> 0;

function checksumsValid(b: Uint8Array): boolean {
  if (sum16(b, 0, 20) !== 0xffff) return false;
  const l4 = b.length - 20;
  return sum16(b, 20, l4, sum16(b, 12, 8) + 6 + l4) === 0xffff;
}

/** Header length if `b` may start or join a merged write, else -1. */
function mergeableHeader(b: Uint8Array): number {
  if (b.length < 40 || b[0] !== 0x45 || b[9] !== 6 || be16(b, 2) !== b.length) return -1;
  if ((be16(b, 6) & 0x3fff) !== 0) return -1;
  const hlen = 20 + (b[32]! >> 4) * 4;
  if (hlen < 40 || hlen >= b.length) return -1;
  const flags = b[33]!;
  if ((flags & ~PSH) !== ACK) return -1; // only ACK, plus PSH
  return checksumsValid(b) ? hlen : -1;
}

function sameFlowShape(a: Uint8Array, q: Uint8Array, hlen: number): boolean {
  const eq = (o: number, n: number): boolean => {
    for (let i = 0; i < n; i++) if (a[o + i] !== q[o + i]) return false;
    return true;
  };
  return (
    a[1] === q[1] && // TOS
    a[8] === q[8] && // TTL
    (a[6]! & 0x40) === (q[6]! & 0x40) && // DF
    eq(12, 8) && // addresses
    eq(20, 4) && // ports
    eq(28, 4) && // ack
    eq(34, 2) && // window
    eq(40, hlen - 40) // options
  );
}

/** The run lengths the merge rules give for a batch. */
export function modelRuns(batch: readonly Uint8Array[]): number[] {
  const runs: number[] = [];
  let i = 0;
  while (i < batch.length) {
    const p = batch[i]!;
    const hlen = mergeableHeader(p);
    let k = 1;
    if (hlen > 0) {
      const gso = p.length - hlen;
      let bytes = gso;
      while ((p[33]! & PSH) === 0 && i + k < batch.length && k < 64) {
        const q = batch[i + k]!;
        const qh = mergeableHeader(q);
        if (qh !== hlen || !sameFlowShape(p, q, hlen)) break;
        if (be32(q, 24) !== (be32(p, 24) + bytes) >>> 0) break;
        const qp = q.length - qh;
        if (qp > gso || hlen + bytes + qp > 65535) break;
        bytes += qp;
        k++;
        if (qp < gso || (q[33]! & PSH) !== 0) break;
      }
    }
    runs.push(k);
    i += k;
  }
  return runs;
}

type Mutation =
  | { kind: 'byte'; at: number; xor: number; fix: boolean }
  | { kind: 'truncate'; by: number }
  | { kind: 'flags'; flags: number }
  | { kind: 'seq'; delta: number }
  | { kind: 'swap' }
  | { kind: 'drop' };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('byte' as const),
    at: fc.nat({ max: 100 }),
    xor: fc.integer({ min: 1, max: 255 }),
    fix: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('truncate' as const), by: fc.integer({ min: 1, max: 64 }) }),
  fc.record({
    kind: fc.constant('flags' as const),
    flags: fc.constantFrom(ACK | PSH, ACK | FIN, SYN, 0, ACK | 0x80, ACK | 0x40, ACK | 0x20),
  }),
  fc.record({ kind: fc.constant('seq' as const), delta: fc.integer({ min: -3000, max: 3000 }) }),
  fc.record({ kind: fc.constant('swap' as const) }),
  fc.record({ kind: fc.constant('drop' as const) }),
);

/**
 * A batch as a routine would hand it to `write`: one or two in-order TCP flows of equal-size
 * segments (the last maybe shorter), then a few mutations at random positions.
 */
export function segmentBatch(maxSegment = 1400, maxPackets = 80): fc.Arbitrary<Uint8Array[]> {
  const flow = fc.record({
    sport: fc.constantFrom(5201, 40000),
    gso: fc.integer({ min: 1, max: maxSegment }),
    count: fc.integer({ min: 1, max: maxPackets }),
    last: fc.integer({ min: 1, max: maxSegment }),
    seq: fc.nat(),
    withTimestamps: fc.boolean(),
    pshLast: fc.boolean(),
  });
  return fc
    .record({
      flows: fc.array(flow, { minLength: 1, maxLength: 2 }),
      interleave: fc.boolean(),
      mutations: fc.array(fc.tuple(fc.nat(), mutation), { maxLength: 6 }),
    })
    .map(({ flows, interleave, mutations }) => {
      const perFlow = flows.map((f) => {
        const out: Uint8Array[] = [];
        const options = f.withTimestamps
          ? Uint8Array.of(1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78)
          : new Uint8Array(0);
        let seq = f.seq;
        for (let i = 0; i < f.count; i++) {
          const len = i === f.count - 1 ? Math.min(f.last, f.gso) : f.gso;
          const payload = new Uint8Array(len);
          for (let j = 0; j < len; j++) payload[j] = (seq + j) & 0xff;
          const last = i === f.count - 1;
          out.push(
            segment({
              src: 0xcb007101,
              dst: 0xcb007102,
              sport: f.sport,
              dport: 5201,
              seq,
              ack: 0x01020304,
              flags: ACK | (last && f.pshLast ? PSH : 0),
              window: 502,
              options,
              payload,
              id: i,
              ttl: 64,
            }),
          );
          seq = (seq + len) >>> 0;
        }
        return out;
      });
      let batch: Uint8Array[];
      if (interleave && perFlow.length === 2) {
        batch = [];
        for (let i = 0; i < Math.max(perFlow[0]!.length, perFlow[1]!.length); i++) {
          if (perFlow[0]![i]) batch.push(perFlow[0]![i]!);
          if (perFlow[1]![i]) batch.push(perFlow[1]![i]!);
        }
      } else batch = perFlow.flat();
      for (const [where, m] of mutations) {
        if (batch.length === 0) break;
        const i = where % batch.length;
        const p = batch[i]!;
        switch (m.kind) {
          case 'byte':
            if (m.at < p.length) {
              p[m.at]! ^= m.xor;
              if (m.fix) fixChecksums(p);
            }
            break;
          case 'truncate':
            batch[i] = p.subarray(0, Math.max(0, p.length - m.by));
            break;
          case 'flags':
            p[33] = m.flags;
            fixChecksums(p);
            break;
          case 'seq': {
            if (p.length < 40) break; // truncated below the TCP header
            const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
            v.setUint32(24, (v.getUint32(24) + m.delta) >>> 0);
            fixChecksums(p);
            break;
          }
          case 'swap':
            if (i + 1 < batch.length) [batch[i], batch[i + 1]] = [batch[i + 1]!, p];
            break;
          case 'drop':
            batch.splice(i, 1);
            break;
        }
      }
      return batch;
    });
}

/** Lays a batch out in an arena as the routines do (slots with headroom). */
export function toArena(batch: readonly Uint8Array[]): {
  buf: Uint8Array;
  offsets: Uint32Array;
  lengths: Uint32Array;
} {
  const slot = batch.reduce((m, p) => Math.max(m, p.length), 0) + 32;
  const n = Math.max(1, batch.length);
  const buf = new Uint8Array(n * slot);
  const offsets = new Uint32Array(n);
  const lengths = new Uint32Array(n);
  batch.forEach((p, i) => {
    offsets[i] = i * slot + 16;
    lengths[i] = p.length;
    buf.set(p, offsets[i]);
  });
  return { buf, offsets, lengths };
}
