/** A Nebula probe peer for hostile tests (independent of @nebula-ts/protocol; node:crypto only). */
export { AGENT_SCRIPT, type Datagram, ProbeAgent, type ProbeAgentOptions } from './agent.js';
export {
  FAULT_KINDS,
  type FaultKind,
  type FaultOptions,
  type FaultResult,
  runFault,
  timeToPing,
} from './faults.js';
export { aeadOpen, aeadSeal, IxInitiator, type ProbeCipher, x25519FromRaw, x25519Generate } from './noise.js';
export {
  CERT_PEM,
  certForHandshake,
  certVpnIp,
  detailsWithoutPublicKey,
  forgeSignature,
  icmpEcho,
  ipToU32,
  type PemBlock,
  parseEchoReply,
  pemBlocks,
  pemBytes,
  pemEncode,
  renameCert,
  splitCert,
  u32ToIp,
  X25519_KEY_PEM,
} from './packets.js';
export { concat, fieldBytes, fieldVarint, readFields } from './pb.js';
export {
  HandshakeRefused,
  Meta,
  NebulaProbe,
  type NebulaProbeOptions,
  type Opened,
  PROBE_TYPE,
  type ProbeHeader,
  probeHeader,
  readProbeHeader,
} from './probe.js';
