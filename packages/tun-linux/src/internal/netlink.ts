/**
 * rtnetlink request builders (RTM_NEWADDR, RTM_NEWROUTE). The addon only sends the bytes and waits
 * for the ack; the layout lives here so it can be unit-tested without privileges.
 * Layouts: <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_addr.h>. Integers are host order
 * (little-endian on every Linux target we build for); addresses are network order.
 */

export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
const AF_INET = 2;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_METRICS = 8;
const RTA_TABLE = 15;
const RTAX_MTU = 2;
const RTAX_ADVMSS = 8;
export const RT_TABLE_MAIN = 254;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RTPROT_STATIC = 4;
const RTN_UNICAST = 1;

let seq = (Date.now() & 0x7fffffff) >>> 0;

const align4 = (n: number): number => (n + 3) & ~3;

/** Little writer over a fixed scratch buffer: configuration is rare, clarity beats speed here. */
class Msg {
  readonly buf = new Uint8Array(512);
  readonly view = new DataView(this.buf.buffer);
  len = 16;

  constructor(type: number, flags: number) {
    this.view.setUint16(4, type, true);
    this.view.setUint16(6, flags | NLM_F_REQUEST | NLM_F_ACK, true);
    seq = (seq + 1) >>> 0;
    this.view.setUint32(8, seq, true);
  }
  u8(v: number): void {
    this.view.setUint8(this.len++, v);
  }
  u32(v: number): void {
    this.view.setUint32(this.len, v, true);
    this.len += 4;
  }
  attrU32(type: number, v: number): void {
    this.view.setUint16(this.len, 8, true);
    this.view.setUint16(this.len + 2, type, true);
    this.view.setUint32(this.len + 4, v, true);
    this.len += 8;
  }
  attrAddr(type: number, addr: number): void {
    this.view.setUint16(this.len, 8, true);
    this.view.setUint16(this.len + 2, type, true);
    this.view.setUint32(this.len + 4, addr, false);
    this.len += 8;
  }
  /** Opens a nested attribute; returns its start for `end()`. */
  nest(type: number): number {
    const at = this.len;
    this.view.setUint16(at + 2, type, true);
    this.len += 4;
    return at;
  }
  end(at: number): void {
    this.view.setUint16(at, this.len - at, true);
    this.len = align4(this.len);
  }
  done(): Uint8Array {
    this.view.setUint32(0, this.len, true);
    return this.buf.slice(0, this.len);
  }
}

export function buildAddress(ifIndex: number, addr: number, prefixLen: number, remove = false): Uint8Array {
  const m = new Msg(remove ? RTM_DELADDR : RTM_NEWADDR, remove ? 0 : NLM_F_CREATE | NLM_F_REPLACE);
  m.u8(AF_INET);
  m.u8(prefixLen);
  m.u8(0); // ifa_flags
  m.u8(RT_SCOPE_UNIVERSE);
  m.u32(ifIndex);
  m.attrAddr(IFA_LOCAL, addr);
  m.attrAddr(IFA_ADDRESS, addr);
  return m.done();
}

export interface RouteMessage {
  ifIndex: number;
  dst: number;
  prefixLen: number;
  scope: number;
  protocol: number;
  table?: number;
  src?: number | undefined;
  mtu?: number | undefined;
  advmss?: number | undefined;
  metric?: number | undefined;
  replace?: boolean | undefined;
  remove?: boolean | undefined;
}

export function buildRoute(r: RouteMessage): Uint8Array {
  const flags = r.remove ? 0 : r.replace ? NLM_F_CREATE | NLM_F_REPLACE : NLM_F_CREATE | NLM_F_EXCL;
  const m = new Msg(r.remove ? RTM_DELROUTE : RTM_NEWROUTE, flags);
  const table = r.table ?? RT_TABLE_MAIN;
  m.u8(AF_INET);
  m.u8(r.prefixLen);
  m.u8(0); // rtm_src_len
  m.u8(0); // rtm_tos
  m.u8(table < 256 ? table : 0); // RT_TABLE_UNSPEC when the id only fits RTA_TABLE
  m.u8(r.protocol);
  m.u8(r.scope);
  m.u8(RTN_UNICAST);
  m.u32(0); // rtm_flags
  m.attrAddr(RTA_DST, r.dst);
  m.attrU32(RTA_OIF, r.ifIndex);
  m.attrU32(RTA_TABLE, table);
  if (r.src !== undefined) m.attrAddr(RTA_PREFSRC, r.src);
  if (r.metric !== undefined && r.metric > 0) m.attrU32(RTA_PRIORITY, r.metric);
  if ((r.mtu !== undefined && r.mtu > 0) || (r.advmss !== undefined && r.advmss > 0)) {
    const at = m.nest(RTA_METRICS);
    if (r.mtu !== undefined && r.mtu > 0) m.attrU32(RTAX_MTU, r.mtu);
    if (r.advmss !== undefined && r.advmss > 0) m.attrU32(RTAX_ADVMSS, r.advmss);
    m.end(at);
  }
  return m.done();
}
