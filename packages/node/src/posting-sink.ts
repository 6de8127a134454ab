/**
 * The routine worker's ControlSink: copies what the control path needs out of the routine's
 * arenas and posts it to the main thread. A class, not an object literal, so the data-path
 * warm-up's routines (which discard what they would post) hold a sink of the same V8 map as the
 * real routine: the sink's call sites then stay monomorphic.
 */
import { ADDR_WORDS } from './addr.js';
import type { ControlSink } from './routine.js';
import type { FromWorker } from './worker-protocol.js';

export type PostToMain = (m: FromWorker, transfer?: ArrayBuffer[]) => void;

function copyAddr(addrs: Uint32Array, i: number): Uint32Array {
  return addrs.slice(i * ADDR_WORDS, i * ADDR_WORDS + ADDR_WORDS);
}

export class PostingSink implements ControlSink {
  constructor(private readonly post: PostToMain) {}

  controlPacket(
    routine: number,
    buf: Uint8Array,
    off: number,
    len: number,
    addrs: Uint32Array,
    i: number,
  ): void {
    const pkt = buf.slice(off, off + len);
    this.post({ op: 'control', routine, pkt, addr: copyAddr(addrs, i) }, [pkt.buffer as ArrayBuffer]);
  }

  needTunnel(vpnIp: number, buf: Uint8Array, off: number, len: number): void {
    const pkt = buf.slice(off, off + len);
    this.post({ op: 'need', vpnIp, pkt }, [pkt.buffer as ArrayBuffer]);
  }

  roamed(slot: number, addrs: Uint32Array, i: number): void {
    this.post({ op: 'roam', slot, addr: copyAddr(addrs, i) });
  }

  exhausted(slot: number): void {
    this.post({ op: 'exhausted', slot });
  }
}
