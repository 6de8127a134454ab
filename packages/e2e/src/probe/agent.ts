/**
 * The probe's UDP socket lives in a network namespace, which a Node process cannot enter by itself:
 * a tiny relay script runs there (`ip netns exec <ns> node agent.mjs`) and moves datagrams over
 * stdin/stdout as JSON lines; every Nebula byte is built and checked in the test process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const AGENT_SCRIPT = `import dgram from 'node:dgram';
import { createInterface } from 'node:readline';
const [host, port] = [process.argv[2], Number(process.argv[3])];
const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
s.on('message', (m, r) => out({ f: r.address + ':' + r.port, d: m.toString('base64') }));
s.on('error', (e) => out({ err: String(e) }));
s.bind(port, host, () => out({ ready: s.address().port }));
const rl = createInterface({ input: process.stdin });
rl.on('line', (l) => {
  const c = JSON.parse(l);
  if (c.op === 'exit') process.exit(0);
  if (c.op === 'send') {
    let left = c.d.length;
    if (left === 0) return out({ ack: c.id });
    for (const d of c.d) s.send(Buffer.from(d, 'base64'), c.port, c.host, (e) => {
      if (e) out({ err: String(e) });
      if (--left === 0) out({ ack: c.id });
    });
  }
});
rl.on('close', () => process.exit(0));
`;

export interface Datagram {
  /** "ip:port" of the sender. */
  readonly from: string;
  readonly data: Uint8Array;
  /** Arrival order, from 0. */
  readonly seq: number;
  readonly at: number;
}

export interface ProbeAgentOptions {
  /** Namespace to run in (`net.ns(host)`). */
  readonly ns: string;
  /** A directory to write the relay script to (`net.dir`). */
  readonly dir: string;
  readonly bindHost?: string;
  /** 0 = any free port. */
  readonly port?: number;
  /** Hard cap on the relay's life (s). */
  readonly maxLifetimeSec?: number;
  /** Datagrams kept (oldest dropped first). */
  readonly keep?: number;
}

type Waiter = { pred: (d: Datagram) => boolean; resolve: (d: Datagram | undefined) => void; from: number };

/** One UDP socket in a namespace. */
export class ProbeAgent {
  readonly received: Datagram[] = [];
  private total = 0;
  private readonly waiters = new Set<Waiter>();
  private readonly acks = new Map<number, () => void>();
  private nextId = 1;
  private exited = false;
  readonly errors: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly keep: number,
  ) {}

  static async start(opts: ProbeAgentOptions): Promise<ProbeAgent> {
    const script = join(opts.dir, 'probe-agent.mjs');
    writeFileSync(script, AGENT_SCRIPT);
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        opts.ns,
        'timeout',
        '-k',
        '2',
        String(opts.maxLifetimeSec ?? 900),
        process.execPath,
        script,
        opts.bindHost ?? '0.0.0.0',
        String(opts.port ?? 0),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let agent: ProbeAgent | undefined;
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const port = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`probe agent did not start: ${stderr}`)), 10_000);
      child.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`probe agent exited (${code}): ${stderr}`));
      });
      rl.on('line', (line) => {
        let m: { ready?: number; f?: string; d?: string; ack?: number; err?: string };
        try {
          m = JSON.parse(line);
        } catch {
          return;
        }
        if (m.ready !== undefined) {
          clearTimeout(t);
          resolve(m.ready);
        } else if (agent) agent.onMessage(m);
      });
    });
    agent = new ProbeAgent(child, port, opts.keep ?? 200_000);
    child.once('exit', () => {
      if (agent) {
        agent.exited = true;
        for (const w of agent.waiters) w.resolve(undefined);
        agent.waiters.clear();
        for (const a of agent.acks.values()) a();
      }
    });
    return agent;
  }

  private onMessage(m: { f?: string; d?: string; ack?: number; err?: string }): void {
    if (m.ack !== undefined) {
      this.acks.get(m.ack)?.();
      this.acks.delete(m.ack);
      return;
    }
    if (m.err) {
      if (this.errors.length < 100) this.errors.push(m.err);
      return;
    }
    if (m.f === undefined || m.d === undefined) return;
    const d: Datagram = {
      from: m.f,
      data: new Uint8Array(Buffer.from(m.d, 'base64')),
      seq: this.total++,
      at: Date.now(),
    };
    this.received.push(d);
    if (this.received.length > this.keep) this.received.splice(0, this.received.length - this.keep);
    for (const w of this.waiters)
      if (d.seq >= w.from && w.pred(d)) {
        this.waiters.delete(w);
        w.resolve(d);
      }
  }

  /** How many datagrams arrived so far (a cursor for `waitFor`). */
  get cursor(): number {
    return this.total;
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Sends datagrams to `to` ("ip:port"); resolves once the relay handed them all to the kernel. */
  async send(to: string, datagrams: readonly Uint8Array[]): Promise<void> {
    if (this.exited) throw new Error('probe agent has exited');
    const i = to.lastIndexOf(':');
    const id = this.nextId++;
    const done = new Promise<void>((res) => this.acks.set(id, res));
    const line = JSON.stringify({
      op: 'send',
      id,
      host: to.slice(0, i),
      port: Number(to.slice(i + 1)),
      d: datagrams.map((d) => Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64')),
    });
    this.child.stdin?.write(`${line}\n`);
    await Promise.race([done, new Promise((r) => setTimeout(r, 30_000))]);
  }

  /** The first datagram (arrived at or after `from`, default now) matching `pred`, or undefined. */
  waitFor(
    pred: (d: Datagram) => boolean,
    timeoutMs: number,
    from = this.total,
  ): Promise<Datagram | undefined> {
    for (const d of this.received) if (d.seq >= from && pred(d)) return Promise.resolve(d);
    if (this.exited) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const w: Waiter = {
        pred,
        from,
        resolve: (d) => {
          clearTimeout(t);
          resolve(d);
        },
      };
      const t = setTimeout(() => {
        this.waiters.delete(w);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.add(w);
    });
  }

  /** Datagrams received since `from`. */
  since(from: number): Datagram[] {
    return this.received.filter((d) => d.seq >= from);
  }

  async close(): Promise<void> {
    if (this.exited) return;
    this.child.stdin?.write(`${JSON.stringify({ op: 'exit' })}\n`);
    this.child.stdin?.end();
    await Promise.race([
      new Promise((r) => this.child.once('exit', r)),
      new Promise((r) => setTimeout(r, 3000)),
    ]);
    if (!this.exited && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}
