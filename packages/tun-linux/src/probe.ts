import { fromNative } from './errors.js';
import {
  IFF_MULTI_QUEUE,
  IFF_NO_PI,
  IFF_TUN,
  IFF_VNET_HDR,
  native,
  TUN_F_CSUM,
  TUN_F_TSO4,
  TUN_F_TSO6,
  TUN_F_USO4,
  TUN_F_USO6,
  VNET_HDR_LEN,
} from './internal/native.js';

export interface TunCapabilities {
  /** IFF_MULTI_QUEUE in TUNGETFEATURES. */
  multiQueue: boolean;
  /** IFF_VNET_HDR in TUNGETFEATURES. */
  vnetHdr: boolean;
  /**
   * Which TUNSETOFFLOAD flags the kernel accepts (each tried with csum). USO needs Linux ≥ 6.2 and
   * is accepted only as uso4+uso6 together, so both are reported from that pair.
   */
  offloads: { csum: boolean; tso4: boolean; tso6: boolean; uso4: boolean; uso6: boolean };
}

/**
 * Probes the kernel once: TUNGETFEATURES on an unattached fd, then a throw-away kernel-named
 * IFF_VNET_HDR tun (in the caller's network namespace) to try each offload. Needs CAP_NET_ADMIN:
 * throws ERR_TUN_PERMISSION without it and ERR_TUN_NO_DEVICE without /dev/net/tun.
 */
export function probeCapabilities(): TunCapabilities {
  let features: number;
  try {
    features = native.getFeatures();
  } catch (e) {
    throw fromNative(e, 'probe tun features');
  }
  const vnetHdr = (features & IFF_VNET_HDR) !== 0;
  const offloads = { csum: false, tso4: false, tso6: false, uso4: false, uso6: false };
  let fd: number;
  try {
    [fd] = native.openQueue('', IFF_TUN | IFF_NO_PI | (vnetHdr ? IFF_VNET_HDR : 0));
  } catch (e) {
    throw fromNative(e, 'probe tun offloads (creating a temporary tun)');
  }
  try {
    if (vnetHdr) native.tunIoctlInt(fd, 1, VNET_HDR_LEN);
    const accepts = (flags: number): boolean => {
      try {
        native.tunIoctlInt(fd, 0, flags);
        return true;
      } catch {
        return false; // EINVAL: flag unknown to this kernel
      }
    };
    offloads.csum = accepts(TUN_F_CSUM);
    if (offloads.csum) {
      offloads.tso4 = accepts(TUN_F_CSUM | TUN_F_TSO4);
      offloads.tso6 = accepts(TUN_F_CSUM | TUN_F_TSO6);
      // Linux (6.2..6.18 at least) takes USO only as the pair USO4|USO6; alone each is EINVAL.
      offloads.uso4 = accepts(TUN_F_CSUM | TUN_F_USO4) || accepts(TUN_F_CSUM | TUN_F_USO4 | TUN_F_USO6);
      offloads.uso6 = accepts(TUN_F_CSUM | TUN_F_USO6) || accepts(TUN_F_CSUM | TUN_F_USO4 | TUN_F_USO6);
    }
  } finally {
    native.close(fd);
  }
  return { multiQueue: (features & IFF_MULTI_QUEUE) !== 0, vnetHdr, offloads };
}
