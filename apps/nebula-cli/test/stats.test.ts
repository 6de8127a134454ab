import { createServer } from 'node:net';
import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { promName, startStats } from '../src/index.js';

const silent = pino({ level: 'silent' });
const base = {
  interval: 60_000,
  prefix: 'nebula',
  protocol: 'tcp',
  host: '',
  listen: '',
  path: '',
  namespace: '',
  subsystem: '',
  message_metrics: false,
  lighthouse_metrics: false,
};

describe('stats', () => {
  it('names metrics <namespace>_<subsystem>_<name>, leaving out empty parts', () => {
    expect(promName({ namespace: 'nns', subsystem: 'nsub' }, 'messages_rx_recv_error')).toBe(
      'nns_nsub_messages_rx_recv_error',
    );
    expect(promName({ namespace: '', subsystem: 'nsub' }, 'info')).toBe('nsub_info');
    expect(promName({ namespace: '', subsystem: '' }, 'info')).toBe('info');
  });

  it('prometheus: serves the injected registry at stats.path, 404 elsewhere', async () => {
    const registry = new Registry();
    new Counter({ name: 'nns_handshake_manager_initiated', help: 'x', registers: [registry] }).inc(3);
    const exp = await startStats(
      { ...base, type: 'prometheus', listen: '127.0.0.1:0', path: '/metrics', namespace: 'nns' },
      registry,
      silent,
      '1.6.1+test',
    );
    try {
      const url = `http://127.0.0.1:${exp?.address?.port}`;
      const res = await fetch(`${url}/metrics`);
      expect(res.status).toBe(200);
      const body = await res.text();
      expect(body).toContain('nns_handshake_manager_initiated 3');
      expect(body).toMatch(/nns_info\{version="1\.6\.1\+test",goversion="node[\d.]+"\} 1/);
      expect(body).toContain('process_cpu_user_seconds_total');
      expect((await fetch(`${url}/other`)).status).toBe(404);
    } finally {
      await exp?.close();
    }
  });

  it('prometheus: a busy port is a clear error', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(
        startStats(
          { ...base, type: 'prometheus', listen: `127.0.0.1:${port}`, path: '/metrics' },
          new Registry(),
          silent,
          'v',
        ),
      ).rejects.toThrow(/stats.listen 127.0.0.1:\d+: .*EADDRINUSE/);
    } finally {
      blocker.close();
    }
  });

  it('graphite: sends "<prefix>.<name> <value> <unix time>" lines over TCP every interval', async () => {
    let received = '';
    const server = createServer((s) => s.on('data', (d) => (received += d.toString())));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const registry = new Registry();
    new Counter({ name: 'firewall_incoming_dropped_no_rule', help: 'x', registers: [registry] }).inc(7);
    const exp = await startStats(
      { ...base, type: 'graphite', interval: 100, host: `127.0.0.1:${port}` },
      registry,
      silent,
      'v',
    );
    try {
      for (let i = 0; i < 50 && !received.includes('\n'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(received).toMatch(/^nebula\.firewall_incoming_dropped_no_rule 7 \d{10}$/m);
    } finally {
      await exp?.close();
      server.close();
    }
  });

  it('type none or empty starts nothing', async () => {
    expect(await startStats({ ...base, type: 'none' }, new Registry(), silent, 'v')).toBeUndefined();
    expect(await startStats({ ...base, type: '' }, new Registry(), silent, 'v')).toBeUndefined();
  });
});
