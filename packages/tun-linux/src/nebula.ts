/**
 * Nebula 1.6.1's tun programming policy (spec dataplane.md §7, overlay/tun_linux.go): device MTU,
 * txqueuelen, the network route and `tun.routes` / `tun.unsafe_routes` with MTU, advmss and metric.
 * `planNebulaTun` is pure (unit-testable); `configureNebulaTun` applies a plan to a device.
 */
import { checkInt, checkPrefix, type Ipv4, maskOf, parseCidr, parseIpv4 } from './internal/ip.js';
import type { RouteOptions, TunDevice } from './tun.js';

export interface NebulaTunRoute {
  /** CIDR "a.b.c.d/n". */
  route: string;
  /** Route MTU; 0/absent: `mtu` (tun.routes require it, ≥ 500; config validates that). */
  mtu?: number;
  /** Kernel route priority when > 0 (unsafe_routes only in Nebula). */
  metric?: number;
}

export interface NebulaTunOptions {
  /** Our certificate's IP (uint32 or dotted quad). */
  vpnIp: Ipv4;
  /** Our certificate's mask length. */
  prefixLen: number;
  /** `tun.mtu`, default 1300. */
  mtu?: number;
  /** `tun.tx_queue`, default 500. */
  txQueueLen?: number;
  /** `tun.routes` */
  routes?: readonly NebulaTunRoute[];
  /** `tun.unsafe_routes` (`via` is routing policy, not kernel state: not needed here). */
  unsafeRoutes?: readonly NebulaTunRoute[];
}

export interface NebulaTunPlan {
  vpnIp: number;
  prefixLen: number;
  /** max(tun.mtu, every route MTU) */
  deviceMtu: number;
  txQueueLen: number;
  /** The network route first (replace), then tun.routes, then unsafe_routes (add). */
  routes: RouteOptions[];
}

const DEFAULT_MTU = 1300;
const DEFAULT_TX_QUEUE = 500;
/** IPv4 + TCP headers: advmss = MTU − 40. */
const TCP_IP_HEADERS = 40;

export function planNebulaTun(o: NebulaTunOptions): NebulaTunPlan {
  const vpnIp = parseIpv4(o.vpnIp, 'vpnIp');
  const prefixLen = checkPrefix(o.prefixLen);
  const mtu = checkInt(o.mtu ?? DEFAULT_MTU, 68, 65535, 'mtu');
  const txQueueLen = checkInt(o.txQueueLen ?? DEFAULT_TX_QUEUE, 0, 0x7fffffff, 'txQueueLen');
  const extra = [...(o.routes ?? []), ...(o.unsafeRoutes ?? [])].map((r, i) => {
    const { dst, prefixLen: p } = parseCidr(r.route, `routes[${i}].route`);
    const rmtu = checkInt(r.mtu ?? 0, 0, 65535, `routes[${i}].mtu`);
    const metric = checkInt(r.metric ?? 0, 0, 0x7fffffff, `routes[${i}].metric`);
    return { dst, prefixLen: p, mtu: rmtu, metric };
  });
  let deviceMtu = mtu;
  for (const r of extra) deviceMtu = Math.max(deviceMtu, r.mtu);
  const advmss = (effective: number): number | undefined =>
    effective !== deviceMtu ? effective - TCP_IP_HEADERS : undefined;

  const routes: RouteOptions[] = [];
  const network: RouteOptions = {
    dst: (vpnIp & maskOf(prefixLen)) >>> 0,
    prefixLen,
    mtu,
    src: vpnIp,
    scope: 'link',
    protocol: 'kernel',
    replace: true,
  };
  const netAdvmss = advmss(mtu);
  if (netAdvmss !== undefined) network.advmss = netAdvmss;
  routes.push(network);
  for (const r of extra) {
    const route: RouteOptions = { dst: r.dst, prefixLen: r.prefixLen, scope: 'link', protocol: 'boot' };
    if (r.mtu > 0) route.mtu = r.mtu;
    if (r.metric > 0) route.metric = r.metric;
    const a = advmss(r.mtu > 0 ? r.mtu : mtu);
    if (a !== undefined) route.advmss = a;
    routes.push(route);
  }
  return { vpnIp, prefixLen, deviceMtu, txQueueLen, routes };
}

/**
 * Programs a device as Nebula 1.6.1 does: address, txqueuelen, device MTU, link up, then routes.
 * Returns the plan it applied.
 */
export function configureNebulaTun(dev: TunDevice, o: NebulaTunOptions): NebulaTunPlan {
  const plan = planNebulaTun(o);
  dev.setAddress(plan.vpnIp, plan.prefixLen);
  dev.setTxQueueLen(plan.txQueueLen);
  dev.setMtu(plan.deviceMtu);
  dev.setUp(true);
  for (const r of plan.routes) dev.addRoute(r);
  return plan;
}
