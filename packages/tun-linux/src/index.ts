/**
 * @packageDocumentation
 * Linux tun devices for Node: multi-queue, batched I/O with headroom, configuration over ioctl and
 * rtnetlink (no `ip`), usable from worker threads. Mirrors slackhq/nebula v1.6.1 overlay/tun_linux.go.
 *
 * @example
 * ```ts
 * const dev = openTun({ name: 'nebula1', queues: 2 });
 * configureNebulaTun(dev, { vpnIp: '203.0.113.1', prefixLen: 24, mtu: 1300 });
 * const q = dev.queues[0];
 * q.onReadable(() => { const n = q.read(arena, offsets, lengths, 64, 9001); ... });
 * ```
 */
export { isTunError, TunError, type TunErrorCode } from './errors.js';
export { formatIpv4, parseCidr, parseIpv4 } from './internal/ip.js';
export { VNET_HDR_LEN } from './internal/native.js';
export {
  configureNebulaTun,
  type NebulaTunOptions,
  type NebulaTunPlan,
  type NebulaTunRoute,
  planNebulaTun,
} from './nebula.js';
export { probeCapabilities, type TunCapabilities } from './probe.js';
export {
  type OpenTunOptions,
  type OpenTunQueueOptions,
  openPacketQueue,
  openTun,
  openTunQueue,
  type ReadableCallback,
  type RouteOptions,
  TunDevice,
  type TunOffloadStats,
  type TunOffloads,
  TunQueue,
} from './tun.js';
