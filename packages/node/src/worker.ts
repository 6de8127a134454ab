/**
 * Entry point of a routine worker thread (routines ≥ 2): owns tun queue i and udp socket i and
 * runs `Routine` on them; tunnel state comes from shared memory, keys and index maps from the
 * main thread's announcements. Everything that is not an established data packet is posted to
 * the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createBatchAead } from '@nebula-ts/aead';
import { Conntrack, ConntrackCache, FirewallPeer } from '@nebula-ts/firewall';
import { openTunQueue } from '@nebula-ts/tun-linux';
import { openUdpSocket } from '@nebula-ts/udp';
import { pino } from 'pino';
import { blockingIoFor } from './blocking-io.js';
import { DisabledTun } from './disabled-tun.js';
import { buildFirewall } from './firewall-adapter.js';
import type { TunQueueLike, UdpSocketLike } from './internal/io-types.js';
import { PostingSink } from './posting-sink.js';
import { Routine } from './routine.js';
import { STAT_WORDS, Stat, TunnelTable } from './tunnel-table.js';
import { warmDataPath } from './warmup.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const post = (m: FromWorker, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer ?? []);

const log = pino(
  {
    level: init.logLevel,
    base: { routine: init.index },
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
  },
  pino.destination({ fd: 1, sync: true }),
);

try {
  // First, before this thread builds any object of its own data path: those then have the maps
  // the warm-up's code was compiled for (see warmup.ts).
  const blocking = init.tunFd >= 0 && init.wakeupFd >= 0;
  if (blocking && init.warmup) warmUp();
  const table = new TunnelTable(init.table);
  const conntrack = Conntrack.fromShared(init.firewall.conntrack);
  let firewall = buildFirewall(init.firewall, conntrack);
  const caching = init.firewall.cacheTimeoutMs > 0;
  const udp = openUdpSocket({
    host: init.udp.host,
    port: init.udp.port,
    reusePort: init.udp.reusePort,
    batch: init.udp.batch,
    readBuffer: init.udp.readBuffer,
    writeBuffer: init.udp.writeBuffer,
  });
  const tunQueue = init.tunFd >= 0 ? openTunQueue(init.tunFd, { tso: init.tunTso }) : null;
  const tun: TunQueueLike = tunQueue ?? new DisabledTun(table.stats, init.index);
  const aead = createBatchAead(init.aead);

  const sink = new PostingSink(post);

  const routine = new Routine({
    settings: init.settings,
    table,
    aead,
    tun,
    udp: udp as unknown as UdpSocketLike,
    sink,
    logger: log,
    firewall,
    cacheIn: caching ? new ConntrackCache(conntrack) : null,
    cacheOut: caching ? new ConntrackCache(conntrack) : null,
  });

  port.on('message', (m: ToWorker) => {
    switch (m.op) {
      case 'install':
        routine.install(
          m.slot,
          m.vpnIp,
          m.localIndex,
          m.cipher,
          m.sendKey,
          m.recvKey,
          new FirewallPeer(m.peer),
        );
        break;
      case 'remove':
        routine.remove(m.slot, m.vpnIp, m.localIndex);
        break;
      case 'send':
        try {
          routine.sendRaw(m.bytes, m.addr, 0);
        } catch (e) {
          log.error({ err: e instanceof Error ? e.message : String(e) }, 'Failed to write outgoing packet');
        }
        break;
      case 'settings':
        routine.updateSettings(m.settings);
        break;
      case 'firewall':
        // New rules, same shared conntrack (1.6.1 keeps conntrack across reloads).
        firewall = buildFirewall(m.firewall, conntrack);
        routine.firewall = firewall;
        break;
      case 'buffers':
        try {
          if (m.readBuffer > 0 || m.writeBuffer > 0)
            udp.setBuffers({
              ...(m.readBuffer > 0 ? { readBuffer: m.readBuffer } : {}),
              ...(m.writeBuffer > 0 ? { writeBuffer: m.writeBuffer } : {}),
            });
        } catch (e) {
          log.error({ err: e instanceof Error ? e.message : String(e) }, 'Failed to set listen buffers');
        }
        break;
      case 'stop': {
        routine.stop();
        tun.close();
        udp.close();
        const b = init.index * STAT_WORDS;
        post({
          op: 'stopped',
          stats: { tx: table.stats[b + Stat.TxPackets]! >>> 0, rx: table.stats[b + Stat.RxPackets]! >>> 0 },
        });
        port.close();
        break;
      }
    }
  });
  // This thread has nothing to do but this routine: it blocks in poll() on its fds (see
  // Routine.startBlocking). The in-memory device of tun.disabled has no fd: pollers then.
  if (tunQueue !== null && blocking) {
    routine.startBlocking(blockingIoFor(udp.fd, tunQueue.fd, init.wakeupFd));
  } else {
    routine.start();
  }
  post({ op: 'ready', port: udp.port });
} catch (e) {
  post({ op: 'error', message: e instanceof Error ? e.message : String(e) });
}

/** The data path's warm-up (warmup.ts); a node that cannot have one runs without it. */
function warmUp(): void {
  try {
    const r = warmDataPath({
      settings: init.settings,
      firewall: init.firewall,
      tso: init.tunTso,
      udpHost: init.udp.host,
      aead: init.aead,
      cipher: init.cipher,
      logger: log,
    });
    log.debug({ passes: r.passes, delivered: r.delivered, ms: r.ms }, 'Data path warmed up');
  } catch (e) {
    log.info({ err: e instanceof Error ? e.message : String(e) }, 'Data path warm-up skipped');
  }
}
