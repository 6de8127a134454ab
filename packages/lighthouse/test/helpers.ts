import pino from 'pino';
import { decodeMeta, type LighthouseSender, metaToJSON, type Scheduler, UdpAddr } from '../src/index.js';

export const silent = pino({ level: 'silent' });

export interface Sent {
  kind: 'meta' | 'punch' | 'test' | 'trigger';
  vpnIp?: number;
  meta?: ReturnType<typeof metaToJSON>;
  addr?: string;
  byte?: number;
}

export class RecordingSender implements LighthouseSender {
  readonly sent: Sent[] = [];
  sendMeta(vpnIp: number, bytes: Uint8Array, len: number): void {
    this.sent.push({ kind: 'meta', vpnIp, meta: metaToJSON(decodeMeta(bytes, 0, len)) });
  }
  punch(addrs: Uint32Array, i: number, byte: number): void {
    this.sent.push({ kind: 'punch', addr: new UdpAddr().readFrom(addrs, i).toString(), byte });
  }
  sendTest(vpnIp: number): void {
    this.sent.push({ kind: 'test', vpnIp });
  }
  triggerHandshake(vpnIp: number): void {
    this.sent.push({ kind: 'trigger', vpnIp });
  }
  take(): Sent[] {
    return this.sent.splice(0);
  }
}

/** Manual clock: `advance(ms)` fires due timers in order. */
export class FakeScheduler implements Scheduler {
  private t = 0;
  private seq = 0;
  private readonly q = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): number {
    const id = ++this.seq;
    this.q.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.q.delete(h as number);
  }
  get pending(): number {
    return this.q.size;
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.q) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.q.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}
