/**
 * In-process test support: a throwaway PKI made with @nebula-ts/cert, typed configs from raw maps
 * via @nebula-ts/config, and a pino logger that records JSON lines.
 */
import dgram from 'node:dgram';
import { Writable } from 'node:stream';
import {
  ed25519PrivateKeyToPem,
  generateEd25519KeyPair,
  generateX25519KeyPair,
  NebulaCertificate,
  x25519PrivateKeyToPem,
} from '@nebula-ts/cert';
import { parseConfig } from '@nebula-ts/config';
import { encodeHandshake, NoiseHandshake, nowNanos, writeHeader } from '@nebula-ts/protocol';
import { type Logger, pino } from 'pino';
import type { NodeConfig } from '../src/index.js';

export interface TestCa {
  cert: NebulaCertificate;
  priv: Uint8Array;
  pem: string;
}

const now = () => Math.floor(Date.now() / 1000);

export function ip(s: string): number {
  return s.split('.').reduce((a, p) => ((a << 8) | Number(p)) >>> 0, 0);
}

export function makeCa(name = 'test-ca', opts: { notAfter?: number } = {}): TestCa {
  const kp = generateEd25519KeyPair();
  const cert = NebulaCertificate.create({
    name,
    ips: [],
    subnets: [],
    groups: [],
    notBefore: now() - 60,
    notAfter: opts.notAfter ?? now() + 86400,
    publicKey: kp.publicKey,
    isCA: true,
    issuer: '',
  }).sign(kp.privateKey);
  return { cert, priv: kp.privateKey, pem: cert.toPem() };
}

export function makeHost(
  ca: TestCa,
  name: string,
  vpnIp: string,
  bits = 24,
  opts: { notAfter?: number; groups?: string[] } = {},
) {
  const kp = generateX25519KeyPair();
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const cert = NebulaCertificate.create({
    name,
    ips: [{ addr: ip(vpnIp), mask }],
    subnets: [],
    groups: opts.groups ?? [],
    notBefore: now() - 30,
    notAfter: opts.notAfter ?? now() + 3600,
    publicKey: kp.publicKey,
    isCA: false,
    issuer: ca.cert.fingerprint(),
  }).sign(ca.priv);
  return {
    cert,
    certPem: cert.toPem(),
    keyPem: x25519PrivateKeyToPem(kp.privateKey),
    priv: kp.privateKey,
    pub: kp.publicKey,
    caKeyPem: ed25519PrivateKeyToPem(ca.priv),
  };
}

export type TestHost = ReturnType<typeof makeHost>;

/**
 * A stage-1 handshake packet from `host` (Nebula header + Noise IX message 1), and the initiator
 * state that reads the stage 2 it gets back.
 */
export function stage1Packet(
  host: TestHost,
  initiatorIndex: number,
  time = nowNanos(),
): { noise: NoiseHandshake; packet: Buffer } {
  const noise = new NoiseHandshake({
    role: 'initiator',
    cipher: 'aes',
    staticPrivateKey: host.priv,
    staticPublicKey: host.pub,
  });
  const msg = noise.writeMessage(
    encodeHandshake({ details: { cert: host.cert.bytesWithoutPublicKey(), initiatorIndex, time } }),
  );
  const packet = Buffer.alloc(16 + msg.length);
  writeHeader(packet, 0, 0, 0, 0, 1);
  Buffer.from(msg).copy(packet, 16);
  return { noise, packet };
}

export function config(raw: Record<string, unknown>): { config: NodeConfig; raw: Record<string, unknown> } {
  return {
    config: parseConfig(raw as Parameters<typeof parseConfig>[0]).config as unknown as NodeConfig,
    raw,
  };
}

export const ANY = [{ port: 'any', proto: 'any', host: 'any' }];

/** Raw config of an in-process node: loopback UDP, tun disabled, fast handshakes. */
export function rawNode(
  ca: TestCa,
  host: { certPem: string; keyPem: string },
  port: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    pki: { ca: ca.pem, cert: host.certPem, key: host.keyPem },
    listen: { host: '127.0.0.1', port },
    tun: { disabled: true },
    handshakes: { try_interval: '20ms', retries: 5 },
    firewall: { outbound: ANY, inbound: ANY },
    ...extra,
  };
}

export interface CapturedLog {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  find(msg: string | RegExp): Record<string, unknown> | undefined;
}

export function captureLogger(level = 'debug'): CapturedLog {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const logger = pino({ level, base: null }, stream);
  return {
    logger,
    lines,
    find: (m) => lines.find((l) => (typeof m === 'string' ? l.msg === m : m.test(String(l.msg)))),
  };
}

/** A free loopback UDP port (bound then released). */
export async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

export async function until<T>(
  fn: () => T | undefined | false,
  timeoutMs = 3000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
