/**
 * @packageDocumentation
 * UDP routines for Node: SO_REUSEPORT socket groups, recvmmsg/sendmmsg, UDP GSO/GRO, with
 * addresses packed in a `Uint32Array` (6 words per packet) so nothing is allocated per packet.
 * Binding follows Go Nebula 1.6.1 (`udp/udp_linux.go`): AF_INET6, `listen.host` as 16 bytes.
 *
 * @example
 * ```ts
 * import { openUdpGroup, createSlots, formatAddr } from '@nebula-ts/udp';
 * const group = openUdpGroup({ host: '0.0.0.0', port: 4242, count: 2 });
 * const slots = createSlots(64);
 * group.sockets[0].onBatch(slots, (n) => {
 *   for (let i = 0; i < n; i++) console.log(formatAddr(slots.addrs, i), slots.lengths[i]);
 * });
 * ```
 */
export {
  ADDR_WORDS,
  copyAddr,
  createAddrs,
  formatAddr,
  formatIp,
  hostToBytes16,
  parseAddr,
  sameAddr,
  setAddr,
} from './addr.js';
export {
  isUdpError,
  type SyscallDetails,
  UdpAddressError,
  UdpError,
  type UdpErrorCode,
  UdpRangeError,
} from './errors.js';
export {
  createSlots,
  openUdpGroup,
  openUdpSocket,
  type RecvSlots,
  SLOT_HEADROOM,
  SLOT_SIZE,
  type UdpBufferSizes,
  type UdpCapabilities,
  type UdpGroup,
  type UdpGroupOptions,
  type UdpMeminfo,
  UdpSocket,
  type UdpSocketOptions,
  type UdpSocketStats,
} from './socket.js';
