import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openUdpGroup, openUdpSocket, parseAddr, type UdpGroup, type UdpSocket } from '../src/index.js';
import { collect, requireBuiltDist, waitFor } from './helpers.js';

// The worker opens its own socket on the group's port and drains it on its own libuv loop.
const workerSource = (entry: string) => `
  const { parentPort, workerData } = await import('node:worker_threads');
  const { openUdpSocket, createSlots } = await import(${JSON.stringify(pathToFileURL(entry).href)});
  const s = openUdpSocket({ host: '127.0.0.1', port: workerData.port, reusePort: true });
  const slots = createSlots(64);
  let packets = 0, batches = 0;
  s.onBatch(slots, (n) => { packets += n; batches++; });
  parentPort.on('message', (m) => {
    if (m === 'report') parentPort.postMessage({ packets, batches });
    if (m === 'stop') { s.close(); s.close(); parentPort.close(); }
  });
  parentPort.postMessage({ ready: s.port, fd: s.fd });
`;

describe('worker threads', () => {
  let group: UdpGroup | undefined;
  let worker: Worker;
  const senders: UdpSocket[] = [];
  let entry = '';
  beforeAll(() => {
    entry = requireBuiltDist();
    group = openUdpGroup({ host: '127.0.0.1', port: 0, count: 1, reusePort: true });
  });
  afterAll(async () => {
    for (const s of senders) s.close();
    group?.close();
    if (worker !== undefined) await worker.terminate();
  });

  it('a socket opened in a worker joins the group port and receives its share of flows', async () => {
    worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(workerSource(entry))}`), {
      workerData: { port: group!.port },
    });
    const ready = await new Promise<{ ready: number }>((res, rej) => {
      worker.once('message', res);
      worker.once('error', rej);
    });
    const g = group!;
    expect(ready.ready).toBe(g.port);
    const main = collect(g.sockets[0]!);
    const a = new Uint32Array(6);
    parseAddr(`127.0.0.1:${g.port}`, a, 0);
    const buf = new Uint8Array(100);
    for (let k = 0; k < 32; k++) {
      const s = openUdpSocket({ host: '127.0.0.1' });
      senders.push(s);
      for (let j = 0; j < 10; j++) s.sendTo(buf, 0, 100, a, 0);
    }
    let inWorker = { packets: 0, batches: 0 };
    const report = async () => {
      worker.postMessage('report');
      inWorker = await new Promise((res) => worker.once('message', res));
    };
    const end = Date.now() + 5000;
    while (Date.now() < end) {
      await report();
      if (main.payloads.length + inWorker.packets === 320) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(main.payloads.length + inWorker.packets).toBe(320);
    expect(inWorker.packets).toBeGreaterThan(0);
    expect(main.payloads.length).toBeGreaterThan(0);
    expect(inWorker.packets % 10).toBe(0); // whole flows, never split
    worker.postMessage('stop');
    await waitFor(() => true);
  });
});
