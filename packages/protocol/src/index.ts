/**
 * @packageDocumentation
 * Nebula 1.6.1 wire protocol in pure TypeScript: the 16-byte header, the handshake payload and
 * NebulaControl protobufs, Noise IX (`Noise_IX_25519_{AESGCM,ChaChaPoly}_SHA256`), the transport
 * nonce rule, the 1024-counter replay window, and the crypto providers behind them.
 */

export {
  controlSize,
  decodeControl,
  decodeControlInto,
  encodeControl,
  encodeControlInto,
  type NebulaControl,
  NebulaControlType,
  newNebulaControl,
} from './control.js';
export {
  AEAD_TAG_LEN,
  type CryptoProvider,
  nobleProvider,
  nodeCryptoProvider,
  X25519_KEY_LEN,
  type X25519KeyPair,
} from './crypto-provider.js';
export { isProtocolError, ProtocolError, type ProtocolErrorCode } from './errors.js';
export {
  decodeHandshake,
  encodeHandshake,
  type NebulaHandshake,
  type NebulaHandshakeDetails,
  type NebulaHandshakeInit,
  nowNanos,
} from './handshake-payload.js';
export {
  HandshakeSubType,
  HEADER_LEN,
  HEADER_VERSION,
  Header,
  MessageSubType,
  MessageType,
  messageSubTypeName,
  messageTypeName,
  parseHeader,
  readCounter,
  SUBTYPE_NONE,
  TestSubType,
  writeHeader,
  writeRecvError,
} from './header.js';
export {
  NoiseHandshake,
  type NoiseHandshakeOptions,
  type NoiseKeys,
  type NoiseRole,
  noiseProtocolName,
} from './noise.js';
export {
  type Cipher,
  NONCE_LEN,
  writeNoiseNonce,
  writeNonceFromHeader,
  writeTransportNonce,
} from './nonce.js';
export { type ReplayCounters, ReplayWindow } from './replay.js';
