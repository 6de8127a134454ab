/**
 * @packageDocumentation
 * Nebula 1.6.1's stateful firewall: `firewall` config parsing (with `firewallHash`), rule
 * matching, IPv4 tuple parsing, a conntrack table shared by worker threads through a
 * SharedArrayBuffer, and the routine-local conntrack cache (seed a).
 */
export {
  type ConntrackTimeouts,
  type FirewallRule,
  type FirewallRules,
  goFormat,
  PORT_ANY,
  PORT_FRAGMENT,
  PROTO_ANY,
  PROTO_ICMP,
  PROTO_TCP,
  PROTO_UDP,
  parseFirewallConfig,
  parsePort,
  ruleLine,
} from './config.js';
export {
  Conntrack,
  ConntrackCache,
  type ConntrackOptions,
  type ConntrackRevalidator,
  type ConntrackStats,
  ConntrackTicker,
  type ConntrackTickerOptions,
  RTT_SAMPLES,
  SLOTS_PER_BUCKET,
  type TcpRttSamples,
} from './conntrack.js';
export {
  ConntrackError,
  FirewallConfigError,
  type FirewallErrorCode,
  isConntrackError,
  isFirewallConfigError,
} from './errors.js';
export {
  DROP_LOCAL_IP,
  DROP_MESSAGES,
  DROP_NO_RULE,
  DROP_NONE,
  DROP_REMOTE_IP,
  DropReason,
  Firewall,
  type FirewallOptions,
  nextRulesVersion,
} from './firewall.js';
export { type IpNet, parseCidr, type RuleCidr } from './internal/net.js';
export {
  type FirewallPacket,
  newFirewallPacket,
  PACKET_BAD_IHL,
  PACKET_NOT_IPV4,
  PACKET_OK,
  PACKET_TOO_SHORT,
  PACKET_TRUNCATED,
  type PacketError,
  parsePacket,
  tcpAck,
  tcpFlags,
  tcpSeq,
} from './packet.js';
export { type CertLike, FirewallPeer, type FirewallPeerInit, localNetsOf } from './peer.js';
export { type CaNameForIssuer, RuleTable } from './rules.js';
