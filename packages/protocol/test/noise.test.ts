import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type Cipher,
  type CryptoProvider,
  decodeHandshake,
  encodeHandshake,
  HEADER_LEN,
  isProtocolError,
  MessageSubType,
  MessageType,
  NoiseHandshake,
  nobleProvider,
  nodeCryptoProvider,
  TestSubType,
  writeHeader,
  writeTransportNonce,
} from '../src/index.js';
import * as V from './vectors.js';

const { toHex } = V;

function packet(header: [number, number, number, number], body: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_LEN + body.length);
  writeHeader(out, 0, ...header);
  out.set(body, HEADER_LEN);
  return out;
}

/** Seals with node:crypto directly, using only this package's header and nonce functions. */
function sealTransport(cipher: Cipher, key: Uint8Array, hdr: Uint8Array, pt: Uint8Array): Uint8Array {
  const nonce = writeTransportNonce(new Uint8Array(12), cipher, 3);
  const c = createCipheriv(
    cipher === 'aes' ? 'aes-256-gcm' : ('chacha20-poly1305' as 'aes-256-gcm'),
    key,
    nonce,
    {
      authTagLength: 16,
    },
  );
  c.setAAD(hdr);
  return Uint8Array.from(Buffer.concat([hdr, c.update(pt), c.final(), c.getAuthTag()]));
}

function stage1Payload(): Uint8Array {
  return encodeHandshake({
    details: { cert: V.alphaNoKey, initiatorIndex: V.INITIATOR_INDEX, time: V.STAGE1_TIME },
  });
}

function runTranscript(cipher: Cipher, pi: CryptoProvider, pr: CryptoProvider) {
  const ini = new NoiseHandshake({
    role: 'initiator',
    cipher,
    staticPrivateKey: V.alphaPriv,
    staticPublicKey: V.alphaPub,
    ephemeralPrivateKey: V.initEphemeral,
    provider: pi,
  });
  const res = new NoiseHandshake({
    role: 'responder',
    cipher,
    staticPrivateKey: V.betaPriv,
    staticPublicKey: V.betaPub,
    ephemeralPrivateKey: V.respEphemeral,
    provider: pr,
  });
  const p1 = packet([MessageType.Handshake, 0, 0, 1], ini.writeMessage(stage1Payload()));

  const got1 = res.readMessage(p1.subarray(HEADER_LEN));
  const hs1 = decodeHandshake(got1);
  // Stage 2: the responder echoes the decoded details with its own index, cert and time.
  hs1.details.responderIndex = V.RESPONDER_INDEX;
  hs1.details.cert = V.betaNoKey;
  hs1.details.time = V.STAGE2_TIME;
  const p2 = packet(
    [MessageType.Handshake, 0, hs1.details.initiatorIndex, 2],
    res.writeMessage(encodeHandshake(hs1)),
  );
  const got2 = ini.readMessage(p2.subarray(HEADER_LEN));
  return { ini, res, p1, p2, hs1, got2 };
}

const providers: [string, CryptoProvider, CryptoProvider][] = [
  ['node/node', nodeCryptoProvider, nodeCryptoProvider],
  ['noble/noble', nobleProvider, nobleProvider],
  ['node initiator/noble responder', nodeCryptoProvider, nobleProvider],
];

describe.each(['aes', 'chachapoly'] as const)('Noise IX transcript, cipher %s (vectors.md §2)', (cipher) => {
  const v = V.vectors[cipher];

  it('stage-1 payload encodes to the 164-byte vector', () => {
    const p = stage1Payload();
    expect(p.length).toBe(164);
    expect(toHex(p)).toBe(toHex(V.stage1Packet.subarray(HEADER_LEN + 64)));
  });

  it.each(providers)('byte-for-byte with %s', (_n, pi, pr) => {
    const { ini, res, p1, p2, got2 } = runTranscript(cipher, pi, pr);
    expect(toHex(p1)).toBe(toHex(V.stage1Packet));
    expect(p2.length).toBe(276);
    expect(toHex(p2)).toBe(toHex(v.stage2));
    expect(toHex(ini.handshakeHash)).toBe(toHex(v.hash));
    expect(toHex(res.handshakeHash)).toBe(toHex(v.hash));
    expect(toHex(res.remoteStaticKey!)).toBe(toHex(V.alphaPub));
    expect(toHex(ini.remoteStaticKey!)).toBe(toHex(V.betaPub));
    const ki = ini.split();
    const kr = res.split();
    expect(toHex(ki.k1)).toBe(toHex(v.k1));
    expect(toHex(ki.k2)).toBe(toHex(v.k2));
    expect(toHex(kr.k1)).toBe(toHex(v.k1));
    expect(toHex(kr.k2)).toBe(toHex(v.k2));
    const d = decodeHandshake(got2).details;
    expect(d.initiatorIndex).toBe(V.INITIATOR_INDEX);
    expect(d.responderIndex).toBe(V.RESPONDER_INDEX);
    expect(d.time).toBe(V.STAGE2_TIME);
    expect(toHex(d.cert)).toBe(toHex(V.betaNoKey));
  });

  it('first data packet and test reply match the vectors (node:crypto + writeTransportNonce)', () => {
    const hdr = new Uint8Array(HEADER_LEN);
    writeHeader(hdr, 0, MessageType.Message, MessageSubType.None, V.RESPONDER_INDEX, 3);
    expect(toHex(sealTransport(cipher, v.k1, hdr, V.icmpPlaintext))).toBe(toHex(v.data));
    writeHeader(hdr, 0, MessageType.Test, TestSubType.Reply, V.INITIATOR_INDEX, 3);
    expect(toHex(sealTransport(cipher, v.k2, hdr, new Uint8Array(0)))).toBe(toHex(v.testReply));
  });

  it('the providers open the vector data packet', () => {
    const nonce = writeTransportNonce(new Uint8Array(12), cipher, 3);
    for (const p of [nodeCryptoProvider, nobleProvider]) {
      const pt = p.aeadOpen(cipher, v.k1, nonce, v.data.subarray(0, 16), v.data.subarray(16));
      expect(toHex(pt!)).toBe(toHex(V.icmpPlaintext));
      const bad = v.data.slice(16);
      bad[0]! ^= 1;
      expect(p.aeadOpen(cipher, v.k1, nonce, v.data.subarray(0, 16), bad)).toBeNull();
    }
  });

  it('a forged stage 2 fails with ERR_NOISE_DECRYPT and leaves the initiator able to finish', () => {
    const ini = new NoiseHandshake({
      role: 'initiator',
      cipher,
      staticPrivateKey: V.alphaPriv,
      staticPublicKey: V.alphaPub,
      ephemeralPrivateKey: V.initEphemeral,
    });
    ini.writeMessage(stage1Payload());
    const h0 = toHex(ini.handshakeHash);
    const forged = v.stage2.slice(HEADER_LEN);
    forged[forged.length - 1]! ^= 0x80;
    expect(() => ini.readMessage(forged)).toThrowError(
      expect.objectContaining({ code: 'ERR_NOISE_DECRYPT' }),
    );
    expect(toHex(ini.handshakeHash)).toBe(h0);
    expect(() => ini.readMessage(v.stage2.subarray(HEADER_LEN, 100))).toThrowError(
      expect.objectContaining({ code: 'ERR_NOISE_SHORT_MESSAGE' }),
    );
    ini.readMessage(v.stage2.subarray(HEADER_LEN));
    expect(toHex(ini.split().k1)).toBe(toHex(v.k1));
  });
});

describe('NoiseHandshake misuse and random keys', () => {
  it('rejects calls out of turn and short stage 1', () => {
    const kp = nodeCryptoProvider.x25519KeyPair();
    const ini = new NoiseHandshake({
      role: 'initiator',
      cipher: 'aes',
      staticPrivateKey: kp.privateKey,
      staticPublicKey: kp.publicKey,
    });
    expect(() => ini.readMessage(new Uint8Array(200))).toThrowError(
      expect.objectContaining({ code: 'ERR_NOISE_STATE' }),
    );
    expect(() => ini.split()).toThrowError(expect.objectContaining({ code: 'ERR_NOISE_STATE' }));
    const res = new NoiseHandshake({
      role: 'responder',
      cipher: 'aes',
      staticPrivateKey: kp.privateKey,
      staticPublicKey: kp.publicKey,
    });
    try {
      res.readMessage(new Uint8Array(63));
      expect.unreachable();
    } catch (e) {
      expect(isProtocolError(e)).toBe(true);
      expect((e as { code: string }).code).toBe('ERR_NOISE_SHORT_MESSAGE');
    }
    expect(
      () =>
        new NoiseHandshake({
          role: 'initiator',
          cipher: 'aes-128' as Cipher,
          staticPrivateKey: kp.privateKey,
          staticPublicKey: kp.publicKey,
        }),
    ).toThrowError(/unknown cipher/);
  });

  it('never wipes or aliases caller-owned Buffers', () => {
    const eph = Buffer.from(V.initEphemeral);
    const priv = Buffer.from(V.alphaPriv);
    const ini = new NoiseHandshake({
      role: 'initiator',
      cipher: 'aes',
      staticPrivateKey: priv,
      staticPublicKey: V.alphaPub,
      ephemeralPrivateKey: eph,
    });
    const res = new NoiseHandshake({
      role: 'responder',
      cipher: 'aes',
      staticPrivateKey: V.betaPriv,
      staticPublicKey: V.betaPub,
    });
    const m1 = Buffer.from(ini.writeMessage(Uint8Array.of(7)));
    const payload = res.readMessage(m1);
    ini.readMessage(Buffer.from(res.writeMessage(new Uint8Array(0))));
    m1.fill(0);
    expect(toHex(payload)).toBe('07');
    expect(toHex(res.remoteStaticKey!)).toBe(toHex(V.alphaPub));
    expect(toHex(eph)).toBe(toHex(V.initEphemeral));
    expect(toHex(priv)).toBe(toHex(V.alphaPriv));
  });

  it('a low-order ephemeral from the peer is ERR_NOISE_DH', () => {
    const a = nodeCryptoProvider.x25519KeyPair();
    const res = new NoiseHandshake({
      role: 'responder',
      cipher: 'aes',
      staticPrivateKey: a.privateKey,
      staticPublicKey: a.publicKey,
    });
    res.readMessage(new Uint8Array(64)); // e = s = the zero point
    for (const p of [nodeCryptoProvider, nobleProvider]) {
      expect(() => p.x25519(a.privateKey, new Uint8Array(32))).toThrowError(
        expect.objectContaining({ code: 'ERR_NOISE_DH' }),
      );
    }
    expect(() => res.writeMessage(new Uint8Array(0))).toThrowError(
      expect.objectContaining({ code: 'ERR_NOISE_DH' }),
    );
  });

  it.each(['aes', 'chachapoly'] as const)(
    'random keys complete a handshake, both directions agree (%s)',
    (cipher) => {
      const a = nodeCryptoProvider.x25519KeyPair();
      const b = nobleProvider.x25519KeyPair();
      const ini = new NoiseHandshake({
        role: 'initiator',
        cipher,
        staticPrivateKey: a.privateKey,
        staticPublicKey: a.publicKey,
      });
      const res = new NoiseHandshake({
        role: 'responder',
        cipher,
        staticPrivateKey: b.privateKey,
        staticPublicKey: b.publicKey,
        provider: nobleProvider,
      });
      expect(toHex(res.readMessage(ini.writeMessage(Uint8Array.of(1, 2, 3))))).toBe('010203');
      expect(toHex(ini.readMessage(res.writeMessage(Uint8Array.of(4))))).toBe('04');
      expect(ini.complete && res.complete).toBe(true);
      expect(toHex(ini.split().k1)).toBe(toHex(res.split().k1));
      expect(toHex(ini.remoteStaticKey!)).toBe(toHex(b.publicKey));
    },
  );
});

describe('crypto providers agree', () => {
  it('x25519, sha256, hmac, hkdf2, AEAD', () => {
    for (let i = 0; i < 5; i++) {
      const priv = nodeCryptoProvider.randomBytes(32);
      const peer = nobleProvider.x25519KeyPair();
      expect(toHex(nodeCryptoProvider.x25519PublicKey(priv))).toBe(
        toHex(nobleProvider.x25519PublicKey(priv)),
      );
      expect(toHex(nodeCryptoProvider.x25519(priv, peer.publicKey))).toBe(
        toHex(nobleProvider.x25519(priv, peer.publicKey)),
      );
      const m = nodeCryptoProvider.randomBytes(i * 37);
      expect(toHex(nodeCryptoProvider.sha256(m, priv))).toBe(toHex(nobleProvider.sha256(m, priv)));
      expect(toHex(nodeCryptoProvider.hmacSha256(priv, m))).toBe(toHex(nobleProvider.hmacSha256(priv, m)));
      expect(nodeCryptoProvider.hkdf2(priv, m).map(toHex)).toEqual(nobleProvider.hkdf2(priv, m).map(toHex));
      for (const c of ['aes', 'chachapoly'] as const) {
        const nonce = nodeCryptoProvider.randomBytes(12);
        const sealed = nodeCryptoProvider.aeadSeal(c, priv, nonce, m, m);
        expect(toHex(nobleProvider.aeadSeal(c, priv, nonce, m, m))).toBe(toHex(sealed));
        expect(toHex(nobleProvider.aeadOpen(c, priv, nonce, m, sealed)!)).toBe(toHex(m));
        expect(nodeCryptoProvider.aeadOpen(c, priv, nonce, m, sealed.subarray(0, 15))).toBeNull();
      }
    }
    for (const p of [nodeCryptoProvider, nobleProvider]) {
      const kp = p.x25519KeyPair();
      expect(kp.privateKey.length).toBe(32);
      expect(toHex(nobleProvider.x25519PublicKey(kp.privateKey))).toBe(toHex(kp.publicKey));
      expect(toHex(p.x25519KeyPair(V.betaPriv).publicKey)).toBe(toHex(V.betaPub));
    }
    expect(toHex(nodeCryptoProvider.x25519PublicKey(V.alphaPriv))).toBe(toHex(V.alphaPub));
    expect(toHex(nobleProvider.x25519PublicKey(V.betaPriv))).toBe(toHex(V.betaPub));
  });
});
