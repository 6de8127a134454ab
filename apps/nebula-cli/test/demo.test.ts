import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { requireRoot } from '@nebula-ts/e2e';
import { describe, expect, it } from 'vitest';

// `pnpm demo` end to end with our nodes: the readable output is also the proof that it worked.
describe('demo (root, built dist)', () => {
  it('runs lighthouse + two of our nodes, pings, transfers, cleans up', async () => {
    requireRoot();
    const bin = join(import.meta.dirname, '../dist/bin/demo.js');
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(
        process.execPath,
        [bin, '--impl', 'ts'],
        { timeout: 90_000, maxBuffer: 4 << 20 },
        (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      );
    });
    expect(r.out).not.toContain('demo failed');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Name: a');
    expect(r.out).toMatch(/tunnel up: b vpnIp=203\.0\.113\.12 via udpAddr=198\.51\.100\.12:4242/);
    expect(r.out).toMatch(/a -> b \(203\.0\.113\.12\): 3\/3 replies/);
    expect(r.out).toMatch(/b -> a \(203\.0\.113\.11\): 3\/3 replies/);
    expect(r.out).toMatch(/match [0-9a-f]{16}\.\.\./);
    expect(r.out).toContain("dropped by b's firewall");
    expect(r.out).toMatch(/handshake_manager_initiated [1-9]/);
    expect(r.out).toMatch(/b {3}exit 0\n {3}a {3}exit 0\n {3}lh {2}exit 0/);
    expect(r.out).toContain('namespaces removed');
  }, 120_000);
});
