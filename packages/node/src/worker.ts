/**
 * Entry point of a routine worker thread (routines ≥ 2): owns tun queue i and udp socket i and
 * runs `Routine` on them; tunnel state comes from shared memory, keys and index maps from the
 * main thread's announcements. Everything that is not an established data packet is posted to
 * the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createBatchAead } from '@nebula-ts/aead';
import { Conntrack, ConntrackCache, FirewallPeer } from '@nebula-ts/firewall';
import { bindWaitReadable, drainEventFd, hasNativeRead } from '@nebula-ts/native-common';
import { openTunQueue } from '@nebula-ts/tun-linux';
import { openUdpSocket } from '@nebula-ts/udp';
import { pino } from 'pino';
import { ADDR_WORDS } from './addr.js';
import { DisabledTun } from './disabled-tun.js';
import { buildFirewall } from './firewall-adapter.js';
import type { TunQueueLike, UdpSocketLike } from './internal/io-types.js';
import { type ControlSink, Routine } from './routine.js';
import { STAT_WORDS, Stat, TunnelTable } from './tunnel-table.js';
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

  const copyAddr = (addrs: Uint32Array, i: number): Uint32Array =>
    addrs.slice(i * ADDR_WORDS, i * ADDR_WORDS + ADDR_WORDS);
  const sink: ControlSink = {
    controlPacket(routine, buf, off, len, addrs, i) {
      const pkt = buf.slice(off, off + len);
      post({ op: 'control', routine, pkt, addr: copyAddr(addrs, i) }, [pkt.buffer as ArrayBuffer]);
    },
    needTunnel(vpnIp, buf, off, len) {
      const pkt = buf.slice(off, off + len);
      post({ op: 'need', vpnIp, pkt }, [pkt.buffer as ArrayBuffer]);
    },
    roamed(slot, addrs, i) {
      post({ op: 'roam', slot, addr: copyAddr(addrs, i) });
    },
    exhausted(slot) {
      post({ op: 'exhausted', slot });
    },
  };

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
  if (tunQueue !== null && init.wakeupFd >= 0) {
    const wakeupFd = init.wakeupFd;
    const fds = [udp.fd, tunQueue.fd, wakeupFd];
    routine.startBlocking({
      wait: bindWaitReadable(fds),
      waitWithReads: (tunRead, udpRecv) => {
        const reads = [
          { index: 1, ...tunRead },
          { index: 0, ...udpRecv },
        ].filter((r) => hasNativeRead(r.read));
        return reads.length > 0 ? bindWaitReadable(fds, reads) : undefined;
      },
      udpBit: 1,
      tunBit: 2,
      wakeupBit: 4,
      drainWakeup: () => drainEventFd(wakeupFd),
    });
  } else {
    routine.start();
  }
  post({ op: 'ready', port: udp.port });
} catch (e) {
  post({ op: 'error', message: e instanceof Error ? e.message : String(e) });
}
