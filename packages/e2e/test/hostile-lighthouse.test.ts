/**
 * A query flood at our lighthouse (issue #10): the probe opens a tunnel to a TS lighthouse and sends
 * thousands of HostQuery, HostUpdateNotification (random addresses, forged owners) and garbage
 * NebulaMeta messages. The lighthouse's RSS stays bounded, it still answers the probe, and two
 * legit Go nodes that never talked before still find each other through it.
 * HOSTILE_LH_IMPL=go runs the same against a Go lighthouse.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ipToU32,
  Meta,
  NebulaProbe,
  PROBE_TYPE,
  ProbeAgent,
  requireGoNebula,
  requireRoot,
  Testnet,
} from '../src/index.js';

const IMPL = (process.env.HOSTILE_LH_IMPL ?? 'ts') as 'ts' | 'go';

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

describe(`a query flood at a ${IMPL} lighthouse`, () => {
  let net: Testnet;
  let agent: ProbeAgent;
  let probe: NebulaProbe;

  async function queryA(timeoutMs = 3000): Promise<{ ip: number; port: number }[] | null> {
    const a = ipToU32(net.overlayIp('a'));
    const from = agent.cursor;
    await probe.send(probe.lighthousePacket(Meta.hostQuery(a)));
    const o = await probe.recv(
      (x) => {
        if (x.header.type !== PROBE_TYPE.LightHouse || !x.payload) return false;
        const m = Meta.decode(x.payload);
        return m.type === Meta.HostQueryReply && m.vpnIp === a;
      },
      timeoutMs,
      from,
    );
    return o?.payload ? Meta.decode(o.payload).addrs : null;
  }

  beforeAll(async () => {
    requireRoot();
    requireGoNebula();
    net = await Testnet.create({ prefix: 'hl', hosts: ['lh', 'a', 'b', 'p'] });
    await net.makePki({ tool: 'go' });
    for (const h of ['lh', 'a', 'b']) net.writeConfig(h, net.baseConfig(h));
    await net.start('lh', { impl: IMPL });
    await net.start('a', { impl: 'go' });
    await net.start('b', { impl: 'go' });
    agent = await ProbeAgent.start({ ns: net.ns('p'), dir: net.dir });
    probe = new NebulaProbe(agent, {
      target: `${net.underlayIp('lh')}:4242`,
      certPem: readFileSync(join(net.hostDir('p'), 'host.crt'), 'utf8'),
      keyPem: readFileSync(join(net.hostDir('p'), 'host.key'), 'utf8'),
    });
    await probe.handshake({ timeoutMs: 10_000 });
  }, 90_000);

  afterAll(async () => {
    await agent?.close();
    await net?.destroy();
  });

  it('answers a HostQuery for a registered node with its underlay address', async () => {
    let addrs: { ip: number; port: number }[] | null = null;
    for (let i = 0; i < 10 && !addrs?.length; i++) {
      addrs = await queryA();
      if (!addrs?.length) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(addrs).toContainEqual({ ip: ipToU32(net.underlayIp('a')), port: 4242 });
  }, 30_000);

  it('survives thousands of queries, updates and garbage with bounded RSS and keeps answering', async () => {
    const pid = net.nodePid('lh') as number;
    expect(pid).toBeDefined();
    const rss0 = rssKb(pid);
    const me = probe.vpnIp;
    const from = agent.cursor;
    const t0 = Date.now();
    let sent = 0;
    for (let round = 0; round < 20; round++) {
      const batch: Uint8Array[] = [];
      for (let i = 0; i < 500; i++) {
        const k = (round * 500 + i) % 10;
        let meta: Uint8Array;
        if (k < 6) {
          // queries: inside the overlay (mostly unknown hosts) and anywhere
          const ip =
            k < 3
              ? (ipToU32('203.0.113.0') | (1 + ((round * 500 + i) % 254))) >>> 0
              : (Math.random() * 2 ** 32) >>> 0;
          meta = Meta.hostQuery(ip);
        } else if (k < 8) {
          // updates for ourselves with many random addresses
          const addrs = Array.from({ length: 1 + (i % 12) }, () => ({
            ip: (Math.random() * 2 ** 32) >>> 0,
            port: 1 + ((Math.random() * 65534) | 0),
          }));
          meta = Meta.hostUpdate(k === 6 ? me : ipToU32(net.overlayIp('a')), addrs); // k 7: forged owner a
        } else if (k === 8)
          meta = NebulaProbe.random(1 + (i % 200)); // garbage protobuf
        else meta = Meta.hostQuery(0);
        batch.push(probe.lighthousePacket(meta));
      }
      await probe.send(batch);
      sent += batch.length;
      await new Promise((r) => setTimeout(r, 100));
    }
    const floodMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 2000));
    const back = agent.since(from);
    const replies = back.length;
    const kinds = new Map<string, number>();
    for (const d of back) {
      const o = probe.open(d);
      let k = `type${o?.header.type}`;
      if (
        o?.header.type === PROBE_TYPE.LightHouse &&
        o.payload &&
        o.header.remoteIndex === probe.localIndex
      ) {
        try {
          k += `/meta${Meta.decode(o.payload).type}`;
        } catch {
          k += '/undecodable';
        }
      }
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    const rss1 = rssKb(pid);
    console.log(
      `[hostile] ${IMPL} lighthouse flood: ${sent} lighthouse messages in ${floodMs} ms, ${replies} datagrams back ${JSON.stringify(Object.fromEntries(kinds))}; RSS ${rss0} -> ${rss1} kB`,
    );
    expect(net.isRunning('lh')).toBe(true);
    expect(rss1).toBeLessThan(Math.max(rss0 * 3, rss0 + 300_000));
    // a forged update for a must not have replaced a's real address
    const addrs = await queryA(5000);
    expect(addrs, 'the lighthouse still answers the probe').not.toBeNull();
    expect(addrs).toContainEqual({ ip: ipToU32(net.underlayIp('a')), port: 4242 });
    // legit nodes that never talked find each other through the lighthouse
    const r = await net.ping('a', 'b', { count: 2, timeoutMs: 20_000 });
    expect(r.received).toBe(2);
  }, 120_000);
});
