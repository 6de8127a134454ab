/**
 * Handshake manager behaviour between in-process nodes (loopback UDP, tun disabled; no root):
 * tunnels in both roles, the simultaneous-initiation race (higher vpnIp wins), byte-identical
 * retransmits then "Handshake timed out", the cached stage 2 for a repeated stage 1, a wrong
 * host answering, CloseTunnel, and HostInfo.logger() fields.
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { NebulaNode } from '../src/index.js';
import {
  type CapturedLog,
  captureLogger,
  config,
  freePort,
  makeCa,
  makeHost,
  rawNode,
  stage1Packet,
  until,
} from './support.js';

const ca = makeCa();
const hostA = makeHost(ca, 'alpha', '203.0.113.1');
const hostB = makeHost(ca, 'beta', '203.0.113.2');
const hostC = makeHost(ca, 'gamma', '203.0.113.3');

const running: NebulaNode[] = [];
const sockets: dgram.Socket[] = [];
afterEach(async () => {
  for (const n of running.splice(0)) await n.stop();
  for (const s of sockets.splice(0)) s.close();
});

async function startNode(
  host: { certPem: string; keyPem: string },
  port: number,
  extra: Record<string, unknown> = {},
): Promise<{ node: NebulaNode; log: CapturedLog }> {
  const log = captureLogger();
  const { config: cfg, raw } = config(rawNode(ca, host, port, extra));
  const node = new NebulaNode({ config: cfg, raw, logger: log.logger, aead: 'node' });
  await node.start();
  running.push(node);
  return { node, log };
}

function listen(port = 0): Promise<{ sock: dgram.Socket; port: number; got: Buffer[] }> {
  const sock = dgram.createSocket('udp4');
  sockets.push(sock);
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  return new Promise((r) => sock.bind(port, '127.0.0.1', () => r({ sock, port: sock.address().port, got })));
}

describe('in-process handshakes (loopback, tun disabled)', () => {
  it('builds a tunnel in both roles with consistent indexes, events and certName logs', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const b = await startNode(hostB, pb);
    const a = await startNode(hostA, pa, { static_host_map: { '203.0.113.2': [`127.0.0.1:${pb}`] } });
    const events: string[] = [];
    a.node.tunnels$.subscribe((e) => events.push(`${e.type}:${e.vpnIp}`));
    a.node.handshakeTo('203.0.113.2');
    await until(() => a.node.hostInfo('203.0.113.2') && b.node.hostInfo('203.0.113.1'), 3000, 'tunnel');
    const ha = a.node.hostInfo('203.0.113.2')!;
    const hb = b.node.hostInfo('203.0.113.1')!;
    expect(ha.localIndex).toBe(hb.remoteIndex);
    expect(hb.localIndex).toBe(ha.remoteIndex);
    expect(ha.remoteString()).toBe(`127.0.0.1:${pb}`);
    expect(hb.remoteString()).toBe(`127.0.0.1:${pa}`);
    expect(events).toContain('up:203.0.113.2');
    // Seed (f): per-tunnel logger carries vpnIp and certName.
    const child = ha.logger(a.log.logger);
    child.info('probe');
    expect(a.log.find('probe')).toMatchObject({ vpnIp: '203.0.113.2', certName: 'beta' });
    // handshake.md §12: the four lines carry Go's fields (stage 1 sent: remoteIndex=0 as Go logs it).
    const sent = a.log.find('Handshake message sent')!;
    expect(sent).toMatchObject({
      vpnIp: '203.0.113.2',
      handshake: { stage: 1, style: 'ix_psk0' },
      udpAddrs: [`127.0.0.1:${pb}`],
      initiatorIndex: ha.localIndex,
      remoteIndex: 0,
    });
    const recv = b.log.find('Handshake message received')!;
    expect(recv).toMatchObject({
      vpnIp: '203.0.113.1',
      udpAddr: `127.0.0.1:${pa}`,
      certName: 'alpha',
      handshake: { stage: 1, style: 'ix_psk0' },
      initiatorIndex: ha.localIndex,
      responderIndex: 0,
      remoteIndex: 0,
    });
    expect(typeof recv.fingerprint).toBe('string');
    expect(typeof recv.issuer).toBe('string');
    expect(b.log.find('Handshake message sent')).toMatchObject({
      vpnIp: '203.0.113.1',
      udpAddr: `127.0.0.1:${pa}`,
      certName: 'alpha',
      handshake: { stage: 2, style: 'ix_psk0' },
      initiatorIndex: ha.localIndex,
      responderIndex: 0,
      remoteIndex: 0,
      sentCachedPackets: 0,
    });
    const done = a.log.find('Handshake message received')!;
    expect(done).toMatchObject({
      vpnIp: '203.0.113.2',
      udpAddr: `127.0.0.1:${pb}`,
      certName: 'beta',
      handshake: { stage: 2, style: 'ix_psk0' },
      initiatorIndex: ha.localIndex,
      responderIndex: hb.localIndex,
      remoteIndex: ha.localIndex,
    });
    expect(typeof done.durationNs).toBe('number');
    expect(typeof done.sentCachedPackets).toBe('number');
    expect(typeof done.fingerprint).toBe('string');
  });

  it('simultaneous initiation: the tunnel initiated by the higher vpnIp wins on both sides', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const a = await startNode(hostA, pa, { static_host_map: { '203.0.113.2': [`127.0.0.1:${pb}`] } });
    const b = await startNode(hostB, pb, { static_host_map: { '203.0.113.1': [`127.0.0.1:${pa}`] } });
    a.node.handshakeTo('203.0.113.2');
    b.node.handshakeTo('203.0.113.1');
    await until(() => a.node.hostInfo('203.0.113.2') && b.node.hostInfo('203.0.113.1'), 3000, 'tunnel');
    await new Promise((r) => setTimeout(r, 200));
    const ha = a.node.hostInfo('203.0.113.2')!;
    const hb = b.node.hostInfo('203.0.113.1')!;
    expect(ha.localIndex).toBe(hb.remoteIndex);
    expect(hb.localIndex).toBe(ha.remoteIndex);
    expect(hb.initiator, 'b (203.0.113.2) initiated the surviving tunnel').toBe(true);
    expect(ha.initiator).toBe(false);
    expect(a.node.pendingHosts()).toEqual([]);
    expect(b.node.pendingHosts()).toEqual([]);
  });

  it('retransmits the identical stage 1 `retries` times, then "Handshake timed out"', async () => {
    const sink = await listen();
    const pa = await freePort();
    const a = await startNode(hostA, pa, {
      static_host_map: { '203.0.113.3': [`127.0.0.1:${sink.port}`] },
      handshakes: { try_interval: '10ms', retries: 4 },
    });
    const failed: string[] = [];
    a.node.handshakes$.subscribe((e) => {
      if (e.type === 'failed') failed.push(e.reason);
    });
    a.node.handshakeTo('203.0.113.3');
    await until(() => failed.length > 0, 3000, 'timeout');
    expect(failed).toEqual(['timed out']);
    expect(sink.got.length).toBe(4);
    for (const p of sink.got) expect(p.equals(sink.got[0]!)).toBe(true);
    expect(sink.got[0]!.subarray(0, 16).toString('hex')).toBe('10000000000000000000000000000001');
    expect(a.log.find('Handshake timed out')).toMatchObject({
      vpnIp: '203.0.113.3',
      handshake: { stage: 1, style: 'ix_psk0' },
    });
    expect(a.node.pendingHosts()).toEqual([]);
  });

  it('answers a repeated stage 1 with the cached, byte-identical stage 2', async () => {
    const pb = await freePort();
    const b = await startNode(hostB, pb);
    const me = await listen();
    const { noise, packet: pkt } = stage1Packet(hostC, 0x01020304);
    me.sock.send(pkt, pb, '127.0.0.1');
    await until(() => me.got.length === 1, 2000, 'stage 2');
    me.sock.send(pkt, pb, '127.0.0.1');
    await until(() => me.got.length === 2, 2000, 'cached stage 2');
    expect(me.got[1]!.equals(me.got[0]!)).toBe(true);
    expect(me.got[0]!.readUInt32BE(4)).toBe(0x01020304);
    noise.readMessage(me.got[0]!.subarray(16)); // a real Noise IX stage 2
    expect(b.log.lines.some((l) => l.msg === 'Handshake message sent' && l.cached === true)).toBe(true);
    expect(b.node.hostInfo('203.0.113.3')).toBeDefined();
  });

  it('a wrong host answering is refused and its address blocked', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    await startNode(hostB, pb);
    // a believes 203.0.113.3 lives at b's address.
    const a = await startNode(hostA, pa, { static_host_map: { '203.0.113.3': [`127.0.0.1:${pb}`] } });
    a.node.handshakeTo('203.0.113.3');
    await until(() => a.log.find('Incorrect host responded to handshake'), 3000, 'wrong host');
    expect(a.log.find('Incorrect host responded to handshake')).toMatchObject({
      intendedVpnIp: '203.0.113.3',
      haveVpnIp: '203.0.113.2',
      certName: 'beta',
    });
    expect(a.node.hostInfo('203.0.113.3')).toBeUndefined();
    expect(a.node.hostInfo('203.0.113.2')).toBeUndefined();
  });

  it("CloseTunnel: the peer tears down with Nebula's log line", async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const b = await startNode(hostB, pb);
    const a = await startNode(hostA, pa, { static_host_map: { '203.0.113.2': [`127.0.0.1:${pb}`] } });
    a.node.handshakeTo('203.0.113.2');
    await until(() => b.node.hostInfo('203.0.113.1') && a.node.hostInfo('203.0.113.2'), 3000, 'tunnel');
    const down: string[] = [];
    b.node.tunnels$.subscribe((e) => {
      if (e.type === 'down') down.push(e.reason);
    });
    expect(a.node.closeTunnelTo('203.0.113.2')).toBe(true);
    await until(() => down.length > 0, 2000, 'close');
    expect(down).toEqual(['close-tunnel']);
    expect(b.log.find('Close tunnel received, tearing down.')).toMatchObject({
      vpnIp: '203.0.113.1',
      certName: 'alpha',
      udpAddr: `127.0.0.1:${pa}`,
    });
    expect(b.node.hostInfo('203.0.113.1')).toBeUndefined();
  });
});

describe('handshake edge cases', () => {
  it('sends the first stage 1 to a static host at once, without waiting for try_interval (seed d)', async () => {
    const sink = await listen();
    const a = await startNode(hostA, await freePort(), {
      static_host_map: { '203.0.113.3': [`127.0.0.1:${sink.port}`] },
      handshakes: { try_interval: '2s', retries: 2 },
    });
    const t0 = Date.now();
    a.node.handshakeTo('203.0.113.3');
    await until(() => sink.got.length > 0, 1500, 'first stage 1');
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('refuses to handshake with itself', async () => {
    const pa = await freePort();
    const a = await startNode(hostA, pa);
    const me = await listen();
    const { packet: pkt } = stage1Packet(hostA, 7);
    me.sock.send(pkt, pa, '127.0.0.1');
    await until(() => a.log.find('Refusing to handshake with myself'), 2000, 'refusal');
    expect(a.log.find('Refusing to handshake with myself')).toMatchObject({
      vpnIp: '203.0.113.1',
      certName: 'alpha',
    });
    expect(me.got).toEqual([]);
  });
});

describe('connection manager with pki.disconnect_invalid', () => {
  it('closes (with CloseTunnel) a tunnel whose peer certificate expired', async () => {
    const shortLived = makeHost(ca, 'brief', '203.0.113.4', 24, {
      notAfter: Math.floor(Date.now() / 1000) + 2,
    });
    const [pa, pd] = [await freePort(), await freePort()];
    const d = await startNode(shortLived, pd);
    const a = await startNode(hostA, pa, {
      static_host_map: { '203.0.113.4': [`127.0.0.1:${pd}`] },
      pki: { ca: ca.pem, cert: hostA.certPem, key: hostA.keyPem, disconnect_invalid: true },
      timers: { connection_alive_interval: 1, pending_deletion_interval: 1 },
    });
    const down: string[] = [];
    a.node.tunnels$.subscribe((e) => {
      if (e.type === 'down') down.push(e.reason);
    });
    a.node.sendTest('203.0.113.4');
    await until(() => d.node.hostInfo('203.0.113.1'), 3000, 'tunnel');
    // Keep outbound traffic flowing so the connection manager keeps checking.
    const timer = setInterval(() => a.node.sendTest('203.0.113.4'), 200);
    try {
      await until(() => down.length > 0, 8000, 'invalid-cert teardown');
    } finally {
      clearInterval(timer);
    }
    expect(down[0]).toBe('invalid-cert');
    await until(() => d.log.find('Close tunnel received, tearing down.'), 2000, 'peer got CloseTunnel');
  });
});

describe('roaming (dataplane.md §9) through a rebinding UDP proxy', () => {
  it('switches the remote after an authenticated packet from a new address, but not back within 2 s', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const a = await startNode(hostA, pa);
    // b reaches a through the proxy's front port; the proxy talks to a from e1, later from e2.
    const front = await listen();
    const e1 = await listen();
    const e2 = await listen();
    let egress = e1;
    let bAddr: { port: number } | null = null;
    front.sock.removeAllListeners('message');
    front.sock.on('message', (m, r) => {
      bAddr = { port: r.port };
      egress.sock.send(m, pa, '127.0.0.1');
    });
    for (const e of [e1, e2]) {
      e.sock.removeAllListeners('message');
      e.sock.on('message', (m) => {
        e.got.push(m);
        if (bAddr) front.sock.send(m, bAddr.port, '127.0.0.1');
      });
    }
    const b = await startNode(hostB, pb, { static_host_map: { '203.0.113.1': [`127.0.0.1:${front.port}`] } });
    b.node.handshakeTo('203.0.113.1');
    await until(() => a.node.hostInfo('203.0.113.2') && b.node.hostInfo('203.0.113.1'), 3000, 'tunnel');
    expect(a.node.hostInfo('203.0.113.2')!.remoteString()).toBe(`127.0.0.1:${e1.port}`);
    egress = e2;
    b.node.sendTest('203.0.113.1');
    await until(() => a.log.find('Host roamed to new udp ip/port.'), 2000, 'roam');
    expect(a.log.find('Host roamed to new udp ip/port.')).toMatchObject({
      vpnIp: '203.0.113.2',
      certName: 'beta',
      udpAddr: `127.0.0.1:${e1.port}`,
      newAddr: `127.0.0.1:${e2.port}`,
    });
    expect(a.node.hostInfo('203.0.113.2')!.remoteString()).toBe(`127.0.0.1:${e2.port}`);
    // The test reply went to the new address.
    await until(() => e2.got.length > 0, 2000, 'reply via e2');
    // Flapping back within 2 s is ignored.
    egress = e1;
    b.node.sendTest('203.0.113.1');
    await until(() => a.log.find(/Suppressing roam back/), 2000, 'anti-flap');
    expect(a.node.hostInfo('203.0.113.2')!.remoteString()).toBe(`127.0.0.1:${e2.port}`);
  });
});

describe('meta metrics (seed e)', () => {
  it('counts handshake, test and close packets by type, never data, under Nebula names', async () => {
    const { Registry } = await import('prom-client');
    const registry = new Registry();
    const [pa, pb] = [await freePort(), await freePort()];
    const b = await startNode(hostB, pb);
    const log = captureLogger();
    const { config: cfg, raw } = config(
      rawNode(ca, hostA, pa, {
        static_host_map: { '203.0.113.2': [`127.0.0.1:${pb}`] },
        stats: {
          type: 'prometheus',
          listen: '127.0.0.1:0',
          path: '/metrics',
          interval: '10s',
          namespace: 'nt',
          subsystem: 'n',
          message_metrics: true,
          lighthouse_metrics: true,
        },
      }),
    );
    const a = new NebulaNode({ config: cfg, raw, logger: log.logger, registry, aead: 'node' });
    await a.start();
    running.push(a);
    a.sendTest('203.0.113.2');
    await until(() => b.node.hostInfo('203.0.113.1'), 3000, 'tunnel');
    await new Promise((r) => setTimeout(r, 100));
    a.closeTunnelTo('203.0.113.2');
    const text = await registry.metrics();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    // A retransmitted stage 1 (try_interval 100 ms on a loaded machine) gets its own stage 2
    // from b, so rx can exceed 1, never the number of stage 1s sent.
    const txHandshake = value('nt_n_messages_tx_handshake_ixpsk0');
    expect(txHandshake).toBeGreaterThanOrEqual(1);
    expect(value('nt_n_messages_rx_handshake_ixpsk0')).toBeGreaterThanOrEqual(1);
    expect(value('nt_n_messages_rx_handshake_ixpsk0')).toBeLessThanOrEqual(txHandshake);
    expect(value('nt_n_messages_tx_test_request')).toBe(1);
    expect(value('nt_n_messages_rx_test_response')).toBe(1);
    expect(value('nt_n_messages_tx_close_tunnel')).toBe(1);
    expect(value('nt_n_handshake_manager_initiated')).toBe(1);
    // tun disabled: the device's own message counters exist; no data packet went through it.
    expect(value('nt_n_messages_rx_message')).toBe(0);
    expect(value('nt_n_messages_tx_message')).toBe(0);
    expect(text).toMatch(/^nt_n_handshakes\{type="count"\} 1$/m);
    expect(text).toMatch(/^nt_n_firewall_rules_version 0$/m);
  });
});
