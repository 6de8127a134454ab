/**
 * The native seal bound to a UDP send (`@nebula-ts/aead` bindSeal's `send`): one call seals a
 * batch in place and hands it to `@nebula-ts/udp`'s bound send, on a real loopback socket. What
 * arrives must open with the same key, byte for byte, and a send that cannot run must say so.
 */
import { createBatchAead, isAeadError } from '@nebula-ts/aead';
import { createSlots, formatAddr, openUdpSocket, parseAddr } from '@nebula-ts/udp';
import { describe, expect, it } from 'vitest';

const HEADER = 16;
const TAG = 16;
const KEY = new Uint8Array(32).fill(0x42);

describe('seal bound to a UDP send', () => {
  it('sends what it sealed in the same call; the receiver opens every packet', async () => {
    const tx = openUdpSocket({ host: '127.0.0.1' });
    const rx = openUdpSocket({ host: '127.0.0.1' });
    const aead = createBatchAead('native');
    const open = createBatchAead('native');
    try {
      aead.setKey(0, 'aes', KEY);
      open.setKey(0, 'aes', KEY);
      const n = 5;
      const out = createSlots(n);
      const meta = new Uint32Array(3 * n);
      const plain: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        const hdr = out.offsets[i]!;
        const body = Buffer.alloc(40 + i, 0x30 + i);
        plain.push(body);
        out.buf.fill(i + 1, hdr, hdr + HEADER); // a header the AEAD authenticates
        out.buf.set(body, hdr + HEADER);
        meta.set([0, hdr, body.length], 3 * i);
        out.lengths[i] = HEADER + body.length + TAG;
        parseAddr(`127.0.0.1:${rx.port}`, out.addrs, i);
      }
      const send = tx.bindSend(out.buf, out.offsets, out.lengths, out.addrs);
      const sealAndSend = aead.bindSeal!(out.buf, meta, send);
      expect(sealAndSend(n)).toBe(n);

      const inSlots = createSlots(16);
      const recv = rx.bindRecv(inSlots.buf, inSlots.offsets, inSlots.lengths, inSlots.addrs);
      const got: Buffer[] = [];
      const deadline = Date.now() + 5000;
      for (let i = 0; i < 500 && got.length < n && Date.now() < deadline; i++) {
        const m = recv(16, 9000);
        const openMeta = new Uint32Array(3 * m);
        for (let k = 0; k < m; k++) {
          expect(formatAddr(inSlots.addrs, k)).toBe(`127.0.0.1:${tx.port}`);
          openMeta.set([0, inSlots.offsets[k]!, inSlots.lengths[k]! - HEADER], 3 * k);
        }
        const results = new Uint8Array(m);
        expect(open.openBatch(inSlots.buf, openMeta, m, results)).toBe(m);
        for (let k = 0; k < m; k++) {
          const o = inSlots.offsets[k]! + HEADER;
          got.push(Buffer.from(inSlots.buf.subarray(o, o + inSlots.lengths[k]! - HEADER - TAG)));
        }
        if (m === 0) await new Promise((r) => setTimeout(r, 5));
      }
      expect(got).toEqual(plain);
    } finally {
      tx.close();
      rx.close();
      aead.close();
      open.close();
    }
  });

  it('refuses a send without a native twin, and says so when the socket is closed', () => {
    const tx = openUdpSocket({ host: '127.0.0.1' });
    const aead = createBatchAead('native');
    try {
      aead.setKey(0, 'aes', KEY);
      const out = createSlots(1);
      const meta = new Uint32Array([0, out.offsets[0]!, 10]);
      out.lengths[0] = HEADER + 10 + TAG;
      parseAddr('127.0.0.1:9', out.addrs, 0);
      const jsSend = Object.assign((count: number) => count, { nativeSend: {} });
      const refused = (() => {
        try {
          aead.bindSeal!(out.buf, meta, jsSend);
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(isAeadError(refused)).toBe(true);
      expect((refused as { code: string }).code).toBe('ERR_AEAD_ARGUMENT');

      const sealAndSend = aead.bindSeal!(
        out.buf,
        meta,
        tx.bindSend(out.buf, out.offsets, out.lengths, out.addrs),
      );
      tx.close();
      const closed = (() => {
        try {
          sealAndSend(1);
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(closed).toMatchObject({ code: 'ERR_AEAD_SEND', errno: 9, syscall: 'send' });
      expect(isAeadError(closed)).toBe(true);
    } finally {
      tx.close();
      aead.close();
    }
  });
});
