/**
 * `NebulaControl` (dataplane.md §12; Go: nebula.proto), the payload of type-6 packets used for
 * relay setup. Encoding matches Go's marshaller (field order, zeros omitted).
 */
import { expectWireType, int32Halves, PbReader, PbWriter, varintSize, WIRE_VARINT } from './internal/pb.js';

export const NebulaControlType = {
  None: 0,
  CreateRelayRequest: 1,
  CreateRelayResponse: 2,
} as const;
export type NebulaControlType = (typeof NebulaControlType)[keyof typeof NebulaControlType];

export interface NebulaControl {
  /** An int32 enum; unknown values are kept as decoded. */
  type: number;
  initiatorRelayIndex: number;
  responderRelayIndex: number;
  /** vpnIp as uint32. */
  relayToIp: number;
  /** vpnIp as uint32. */
  relayFromIp: number;
}

export function newNebulaControl(): NebulaControl {
  return { type: 0, initiatorRelayIndex: 0, responderRelayIndex: 0, relayToIp: 0, relayFromIp: 0 };
}

/** Encoded size of `c`. */
export function controlSize(c: NebulaControl): number {
  let n = 0;
  if (c.type !== 0) {
    const [lo, hi] = int32Halves(c.type);
    n += 1 + varintSize(lo, hi);
  }
  if (c.initiatorRelayIndex >>> 0 !== 0) n += 1 + varintSize(c.initiatorRelayIndex);
  if (c.responderRelayIndex >>> 0 !== 0) n += 1 + varintSize(c.responderRelayIndex);
  if (c.relayToIp >>> 0 !== 0) n += 1 + varintSize(c.relayToIp);
  if (c.relayFromIp >>> 0 !== 0) n += 1 + varintSize(c.relayFromIp);
  return n;
}

/** Writes `c` at `buf[off..]` (caller ensures `controlSize(c)` bytes of room); returns the end offset. */
export function encodeControlInto(c: NebulaControl, buf: Uint8Array, off: number): number {
  const w = new PbWriter(buf, off);
  if (c.type !== 0) {
    const [lo, hi] = int32Halves(c.type);
    w.tag(1, WIRE_VARINT);
    w.varint(lo, hi);
  }
  put(w, 2, c.initiatorRelayIndex);
  put(w, 3, c.responderRelayIndex);
  put(w, 4, c.relayToIp);
  put(w, 5, c.relayFromIp);
  return w.pos;
}

export function encodeControl(c: NebulaControl): Uint8Array {
  const out = new Uint8Array(controlSize(c));
  encodeControlInto(c, out, 0);
  return out;
}

/** Decodes into `out` (fields absent from the message are reset to 0). Throws `ProtocolError`. */
export function decodeControlInto(
  bytes: Uint8Array,
  out: NebulaControl,
  start = 0,
  end = bytes.length,
): NebulaControl {
  out.type = 0;
  out.initiatorRelayIndex = 0;
  out.responderRelayIndex = 0;
  out.relayToIp = 0;
  out.relayFromIp = 0;
  const r = new PbReader(bytes, start, end);
  while (!r.done) {
    const field = r.tag();
    const wt = r.wireType;
    switch (field) {
      case 1:
        expectWireType(field, wt, WIRE_VARINT);
        out.type = r.int32();
        break;
      case 2:
        expectWireType(field, wt, WIRE_VARINT);
        out.initiatorRelayIndex = r.uint32();
        break;
      case 3:
        expectWireType(field, wt, WIRE_VARINT);
        out.responderRelayIndex = r.uint32();
        break;
      case 4:
        expectWireType(field, wt, WIRE_VARINT);
        out.relayToIp = r.uint32();
        break;
      case 5:
        expectWireType(field, wt, WIRE_VARINT);
        out.relayFromIp = r.uint32();
        break;
      default:
        r.skip(field, wt);
    }
  }
  return out;
}

export function decodeControl(bytes: Uint8Array): NebulaControl {
  return decodeControlInto(bytes, newNebulaControl());
}

function put(w: PbWriter, field: number, v: number): void {
  if (v >>> 0 === 0) return;
  w.tag(field, WIRE_VARINT);
  w.varint(v >>> 0);
}
