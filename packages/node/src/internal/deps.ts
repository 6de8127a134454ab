/**
 * The one place where the node binds to the shared packages (certificates, Noise, header,
 * handshake payload, replay window, firewall tuple parser), plus the small control-path
 * single-shot AEAD helpers.
 */
export {
  CAPool,
  CertError,
  ipNetToString,
  loadX25519PrivateKey,
  NebulaCertificate,
  x25519PublicKey,
} from '@nebula-ts/cert';
export {
  DROP_LOCAL_IP,
  DROP_NO_RULE,
  DROP_NONE,
  DROP_REMOTE_IP,
  type FirewallPacket,
  newFirewallPacket,
  parsePacket,
  type TcpRttSamples,
} from '@nebula-ts/firewall';
export {
  decodeHandshake,
  encodeHandshake,
  HEADER_LEN,
  MessageType,
  type NebulaHandshakeDetails,
  NoiseHandshake,
  ReplayWindow,
  readCounter,
  TestSubType,
  writeHeader,
} from '@nebula-ts/protocol';
export { aeadOpen, aeadSeal } from './control-crypto.js';

export const TestRequest = 0;
export const TestReply = 1;

export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}
