import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createNebulaMetrics, MetaType, promMetricName } from '../src/index.js';

async function values(reg: Registry): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await reg.metrics()).split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const [name, v] = line.split(' ');
    out.set(name!, Number(v));
  }
  return out;
}

async function types(reg: Registry): Promise<string[]> {
  return (await reg.metrics()).split('\n').filter((l) => l.startsWith('# TYPE'));
}

describe('metric names', () => {
  it('flattens . - = and space and omits empty prefix parts', () => {
    expect(promMetricName('nns', 'nsub', 'messages.rx.recv_error')).toBe('nns_nsub_messages_rx_recv_error');
    expect(promMetricName('', '', 'a.b-c=d e')).toBe('a_b_c_d_e');
    expect(promMetricName('', 'sub', 'x')).toBe('sub_x');
    expect(promMetricName('ns', '', 'x')).toBe('ns_x');
  });

  it('exports counters as gauges, get-or-register per registry, info gauge', async () => {
    const registry = new Registry();
    const nm = createNebulaMetrics({ registry, namespace: 'nns', subsystem: 'nsub' });
    const c = nm.counter('handshake_manager.initiated');
    c.inc();
    c.inc(4);
    expect(
      createNebulaMetrics({ registry, namespace: 'nns', subsystem: 'nsub' }).counter(
        'handshake_manager.initiated',
      ),
    ).toBe(c);
    nm.registerInfo();
    const v = await values(registry);
    expect(v.get('nns_nsub_handshake_manager_initiated')).toBe(5);
    expect(v.get('nns_nsub_info{version="1.6.1"}')).toBe(1);
    expect((await types(registry)).every((l) => l.endsWith(' gauge'))).toBe(true);
  });
});

describe('MessageMetrics (seed e)', () => {
  it('message_metrics on: every name, [type][subtype] mapping, other', async () => {
    const registry = new Registry();
    const mm = createNebulaMetrics({ registry, namespace: 'nns', subsystem: 'nsub' }).messageMetrics(true);
    mm.rx(0, 0); // handshake
    mm.rx(0, 1); // not in the table → other
    mm.rx(2, 0, 3);
    mm.rx(3, 0);
    mm.rx(4, 0);
    mm.rx(4, 1);
    mm.rx(5, 0);
    mm.rx(6, 0); // control → other
    mm.tx(4, 1, 2);
    mm.punchyTx.inc();
    const v = await values(registry);
    const p = 'nns_nsub_messages_';
    expect(v.get(`${p}rx_handshake_ixpsk0`)).toBe(1);
    expect(v.get(`${p}rx_recv_error`)).toBe(3);
    expect(v.get(`${p}rx_lighthouse`)).toBe(1);
    expect(v.get(`${p}rx_test_request`)).toBe(1);
    expect(v.get(`${p}rx_test_response`)).toBe(1);
    expect(v.get(`${p}rx_close_tunnel`)).toBe(1);
    expect(v.get(`${p}rx_other`)).toBe(2);
    expect(v.get(`${p}tx_test_response`)).toBe(2);
    expect(v.get(`${p}tx_punchy`)).toBe(1);
    for (const n of [
      'handshake_ixpsk0',
      'recv_error',
      'lighthouse',
      'test_request',
      'test_response',
      'close_tunnel',
      'other',
    ]) {
      expect(v.has(`${p}tx_${n}`)).toBe(true);
    }
  });

  it('message_metrics off: only recv_error exists and still counts', async () => {
    const registry = new Registry();
    const mm = createNebulaMetrics({ registry }).messageMetrics(false);
    mm.rx(2, 0);
    mm.tx(2, 0, 2);
    mm.rx(0, 0);
    mm.rx(6, 0);
    mm.punchyTx.inc();
    const v = await values(registry);
    expect([...v.keys()].sort()).toEqual(['messages_rx_recv_error', 'messages_tx_recv_error']);
    expect(v.get('messages_rx_recv_error')).toBe(1);
    expect(v.get('messages_tx_recv_error')).toBe(2);
  });
});

describe('LighthouseMetrics (seed e)', () => {
  it('on: the five rx/tx names per direction plus holepunch', async () => {
    const registry = new Registry();
    const lm = createNebulaMetrics({ registry, namespace: 'nns', subsystem: 'nsub' }).lighthouseMetrics(true);
    lm.rx(MetaType.HostQuery);
    lm.rx(MetaType.HostUpdateNotification);
    lm.rx(MetaType.HostMovedNotification);
    lm.rx(-5);
    lm.rx(77);
    lm.tx(MetaType.HostQueryReply);
    lm.tx(MetaType.HostPunchNotification);
    lm.tx(MetaType.HostQuery, 3);
    lm.holepunchTx.inc(2);
    const v = await values(registry);
    const p = 'nns_nsub_lighthouse_';
    expect(v.get(`${p}rx_HostQuery`)).toBe(1);
    expect(v.get(`${p}rx_HostUpdateNotification`)).toBe(1);
    expect(v.get(`${p}rx_HostQueryReply`)).toBe(0);
    expect(v.get(`${p}rx_HostPunchNotification`)).toBe(0);
    expect(v.get(`${p}rx_other`)).toBe(3);
    expect(v.get(`${p}tx_HostQueryReply`)).toBe(1);
    expect(v.get(`${p}tx_HostPunchNotification`)).toBe(1);
    expect(v.get(`${p}tx_HostQuery`)).toBe(3);
    expect(v.get(`${p}tx_other`)).toBe(0);
    expect(v.get('nns_nsub_messages_tx_holepunch')).toBe(2);
    expect(v.size).toBe(11);
  });

  it('off: a no-op object registering nothing', async () => {
    const registry = new Registry();
    const lm = createNebulaMetrics({ registry }).lighthouseMetrics(false);
    lm.rx(1);
    lm.tx(2);
    lm.holepunchTx.inc();
    expect((await registry.metrics()).trim()).toBe('');
  });
});
