/**
 * Starts and drives the routine workers (routines ≥ 2, design.md): the main thread opens the tun
 * device with one queue per routine and hands each worker its queue fd (fds are process-wide);
 * worker 0 binds the UDP port first (port 0: the kernel's choice) and the others join it with
 * SO_REUSEPORT. Control-path sends go out through worker 0's socket, as Go sends them on socket 0.
 */
import { Worker } from 'node:worker_threads';
import { Wakeup } from '@nebula-ts/native-common';
import type { Logger } from 'pino';
import { addrFromWords, addrToWords, type UdpAddr } from './addr.js';
import type { NodeConfig } from './config-types.js';
import { NodeError } from './errors.js';
import type { FirewallShared } from './firewall-adapter.js';
import type { HostInfo } from './hostinfo.js';
import type { NebulaCertificate } from './internal/deps.js';
import type { NebulaNode, RoutineLinks } from './node.js';
import { openNodeTun } from './node.js';
import type { RoutineSettings } from './routine.js';
import type { TunnelTable } from './tunnel-table.js';
import type { FromWorker, PeerInit, ToWorker, WorkerInit } from './worker-protocol.js';

export interface WorkerRoutinesOptions {
  readonly node: NebulaNode;
  readonly config: NodeConfig;
  readonly cert: NebulaCertificate;
  readonly routines: number;
  readonly table: TunnelTable;
  readonly settingsFor: (i: number) => RoutineSettings;
  readonly aead: 'native' | 'node';
  /** Warm each worker's data path before it starts (warmup.ts). */
  readonly warmup: boolean;
  readonly logger: Logger;
  readonly firewallShared: () => FirewallShared;
  readonly onPort: (port: number) => void;
  readonly onTun: (dev: { close(): void; name: string }) => void;
}

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 3000;

function peerInit(c: NebulaCertificate): PeerInit {
  const d = c.details;
  return {
    name: d.name,
    groups: [...d.groups],
    issuer: d.issuer,
    ips: d.ips.map((n) => ({ addr: n.addr, mask: n.mask })),
    subnets: d.subnets.map((n) => ({ addr: n.addr, mask: n.mask })),
  };
}

export const WorkerRoutines = {
  async start(o: WorkerRoutinesOptions): Promise<RoutineLinks> {
    const cfg = o.config;
    const node = o.node;
    const log = o.logger;
    let fds: number[] = [];
    let dev: Awaited<ReturnType<typeof openNodeTun>> | null = null;
    if (!cfg.tun.disabled) {
      dev = await openNodeTun(cfg, o.cert, o.routines, true, log);
      fds = dev.queues.map((q) => q.fd);
      o.onTun(dev);
    }
    const workers: Worker[] = [];
    // One eventfd per worker that owns a tun queue: its routine blocks in poll() and is woken by
    // this after every message (Routine.startBlocking).
    const wakeups: Array<Wakeup | null> = [];
    const stopped: Array<Promise<void>> = [];
    const url = new URL('./worker.js', import.meta.url);

    const spawn = (index: number, port: number): Promise<number> =>
      new Promise((resolve, reject) => {
        const wakeup = fds[index] === undefined ? null : new Wakeup();
        wakeups[index] = wakeup;
        const init: WorkerInit = {
          index,
          settings: o.settingsFor(index),
          table: o.table.buffers,
          firewall: o.firewallShared(),
          tunFd: fds[index] ?? -1,
          tunTso: dev?.tso === true,
          udp: {
            host: cfg.listen.host,
            port,
            batch: Math.max(1, cfg.listen.batch),
            readBuffer: cfg.listen.read_buffer,
            writeBuffer: cfg.listen.write_buffer,
            reusePort: true,
          },
          aead: o.aead,
          cipher: cfg.cipher,
          warmup: o.warmup,
          logLevel: log.level,
          wakeupFd: wakeup?.fd ?? -1,
        };
        const w = new Worker(url, { workerData: init });
        workers[index] = w;
        const timer = setTimeout(
          () =>
            reject(
              new NodeError(
                'ERR_NODE_WORKER',
                `routine ${index} did not start within ${START_TIMEOUT_MS} ms`,
              ),
            ),
          START_TIMEOUT_MS,
        );
        let resolveStopped: () => void = () => undefined;
        stopped[index] = new Promise<void>((r) => {
          resolveStopped = r;
        });
        w.on('message', (m: FromWorker) => {
          // One bad packet from a worker must not escape into the event loop.
          try {
            handle(m);
          } catch (e) {
            log.debug(
              { routine: index, err: e instanceof Error ? e.message : String(e) },
              'Error while handling routine message',
            );
          }
        });
        const handle = (m: FromWorker): void => {
          switch (m.op) {
            case 'ready':
              clearTimeout(timer);
              resolve(m.port);
              break;
            case 'control':
              node.onControlPacket(index, m.pkt, addrFromWords(m.addr, 0));
              break;
            case 'need':
              node.onNeedTunnel(m.vpnIp, m.pkt);
              break;
            case 'roam':
              node.onRoamed(m.slot, addrFromWords(m.addr, 0));
              break;
            case 'exhausted':
              node.onExhausted(m.slot);
              break;
            case 'stopped':
              log.info({ routine: index, txPackets: m.stats.tx, rxPackets: m.stats.rx }, 'Routine stopped');
              resolveStopped();
              break;
            case 'error':
              clearTimeout(timer);
              log.error({ routine: index, err: m.message }, 'Routine failed');
              reject(new NodeError('ERR_NODE_WORKER', `routine ${index}: ${m.message}`));
              break;
          }
        };
        w.on('error', (e) => {
          clearTimeout(timer);
          log.error({ routine: index, err: e.message }, 'Routine worker crashed');
          reject(e);
        });
        w.on('exit', () => resolveStopped());
      });

    const terminateAll = async (): Promise<void> => {
      // A worker blocked in poll() only sees the termination once the wait returns: wake it.
      for (const w of wakeups) if (w && !w.closed) w.signal();
      await Promise.all(workers.map((w) => w?.terminate()));
      for (const w of wakeups) w?.close();
    };
    let port: number;
    try {
      port = await spawn(0, cfg.listen.port);
      await Promise.all(Array.from({ length: o.routines - 1 }, (_, i) => spawn(i + 1, port)));
    } catch (e) {
      await terminateAll();
      dev?.close();
      throw e;
    }
    o.onPort(port);
    const post = (i: number, m: ToWorker): void => {
      workers[i]!.postMessage(m);
      // After stop() the wakeups are closed and a late message has no loop to wake.
      const wakeup = wakeups[i];
      if (wakeup && !wakeup.closed) wakeup.signal();
    };
    const all = (m: ToWorker): void => {
      for (let i = 0; i < workers.length; i++) post(i, m);
    };
    return {
      count: o.routines,
      // Only a worker with a tun queue runs Routine.startBlocking (see worker.ts).
      loop: dev === null ? 'libuv' : 'poll',
      sendRaw(bytes: Uint8Array, a: UdpAddr) {
        const addr = new Uint32Array(6);
        addrToWords(a, addr, 0);
        post(0, { op: 'send', bytes, addr });
      },
      install(slot: number, h: HostInfo) {
        all({
          op: 'install',
          slot,
          vpnIp: h.vpnIp,
          localIndex: h.localIndex,
          cipher: h.cipher,
          sendKey: h.sendKey!,
          recvKey: h.recvKey!,
          peer: peerInit(h.peerCert!),
        });
      },
      remove(slot: number, vpnIp: number, localIndex: number) {
        all({ op: 'remove', slot, vpnIp, localIndex });
      },
      updateSettings(s: RoutineSettings) {
        if (workers[s.index]) post(s.index, { op: 'settings', settings: s });
      },
      setFirewall() {
        all({ op: 'firewall', firewall: o.firewallShared() });
      },
      setBuffers(readBuffer: number, writeBuffer: number) {
        all({ op: 'buffers', readBuffer, writeBuffer });
      },
      async stop() {
        all({ op: 'stop' });
        await Promise.race([Promise.all(stopped), new Promise((r) => setTimeout(r, STOP_TIMEOUT_MS))]);
        await terminateAll();
      },
    };
  },
};
