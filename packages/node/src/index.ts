/**
 * @packageDocumentation
 * A Nebula node: host map, handshake manager, encrypted data path, routines. Wire compatible
 * with Go Nebula 1.6.1.
 *
 * @example
 * ```ts
 * const node = new NebulaNode({ config, logger });
 * node.tunnels$.subscribe((e) => console.log(e));
 * await node.start();
 * // ...
 * await node.stop();
 * ```
 */

export { addrToString, ipv4ToString, parseIpv4, type UdpAddr } from './addr.js';
export type { NodeConfig } from './config-types.js';
export { DisabledTun } from './disabled-tun.js';
export { isNodeError, NodeError, type NodeErrorCode } from './errors.js';
export type {
  HandshakeEvent,
  LighthouseEvent,
  RecvErrorEvent,
  ReloadEvent,
  TunnelDownReason,
  TunnelEvent,
} from './events.js';
export { HostInfo } from './hostinfo.js';
export { HostMap } from './hostmap.js';
export { loadPki, NebulaNode, type NebulaNodeOptions } from './node.js';
export {
  type BlockingIo,
  type ControlSink,
  type PreRead,
  Routine,
  type RoutineSettings,
  SLOT_SIZE,
} from './routine.js';
export { allocateTunnelTable, COUNTER_LIMIT, TunnelTable } from './tunnel-table.js';
export { WARMUP_MS, type WarmupOptions, type WarmupReport, warmDataPath } from './warmup.js';
