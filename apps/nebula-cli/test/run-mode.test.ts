import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedConfig } from '@nebula-ts/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type NodeHandle } from '../src/index.js';
import { makeTestPki, type TestPki } from './helpers/pki.js';

// The CLI's run loop against a stand-in node: start, SIGHUP reload (good and bad), SIGTERM stop.
// The same flow against the real @nebula-ts/node runs in reload-netns.test.ts.
let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => pki?.cleanup());

class FakeNode implements NodeHandle {
  started = 0;
  stopped = 0;
  reloads: LoadedConfig[] = [];
  async start() {
    this.started++;
  }
  async stop() {
    this.stopped++;
  }
  async reload(loaded: LoadedConfig) {
    this.reloads.push(loaded);
  }
}

const cfg = (inbound: string, extra = '') => `pki: {ca: ${pki.ca}, cert: ${pki.cert}, key: ${pki.key}}
listen: {port: 4242}
firewall:
  outbound: [{port: any, proto: any, host: any}]
  inbound: [${inbound}]
${extra}`;

const until = async (cond: () => boolean, ms = 5000) => {
  for (let i = 0; i < ms / 20 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(cond()).toBe(true);
};

describe('nebula run mode (stand-in node)', () => {
  it('starts, reloads on SIGHUP, keeps the running config on a bad edit, stops on SIGTERM', async () => {
    const path = join(pki.dir, 'run.yml');
    writeFileSync(path, cfg('{port: any, proto: icmp, host: any}'));
    const signals = new EventEmitter();
    const node = new FakeNode();
    let out = '';
    const exit = main(['-config', path], {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: () => undefined },
      signals: signals as unknown as NodeJS.Process,
      createNode: async (loaded) => {
        expect(loaded.config.listen.port).toBe(4242);
        return node;
      },
    });
    await until(() => node.started === 1);

    writeFileSync(path, cfg('{port: 22, proto: tcp, host: any}', 'logging: {level: debug}'));
    signals.emit('SIGHUP', 'SIGHUP');
    await until(() => node.reloads.length === 1);
    expect(node.reloads[0]?.config.firewall.inbound).toEqual([{ port: 22, proto: 'tcp', host: 'any' }]);
    expect(out).toContain('msg="Caught HUP, reloading config"');

    writeFileSync(path, cfg('{port: 22, proto: bogus, host: any}'));
    signals.emit('SIGHUP', 'SIGHUP');
    await until(() => out.includes('Error occurred while reloading config'));
    expect(out).toMatch(
      /level=error msg="Error occurred while reloading config" config_path=\S+ error="firewall.inbound rule #0; proto was not understood; `bogus`"/,
    );
    writeFileSync(path, 'listen: {port: [\n');
    signals.emit('SIGHUP', 'SIGHUP');
    await until(() => out.split('Error occurred while reloading config').length === 3);
    expect(node.reloads.length).toBe(1);

    // A good reload also applies logging.*: from here on the lines are JSON.
    writeFileSync(path, cfg('{port: 22, proto: tcp, host: any}', 'logging: {format: json}'));
    signals.emit('SIGHUP', 'SIGHUP');
    await until(() => node.reloads.length === 2);
    const mark = out.length;
    signals.emit('SIGTERM', 'SIGTERM');
    expect(await exit).toBe(0);
    expect(node.stopped).toBe(1);
    const tail = out
      .slice(mark)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(tail).toContainEqual(
      expect.objectContaining({ level: 'info', msg: 'Caught signal, shutting down', signal: 'SIGTERM' }),
    );
    expect(tail.at(-1)).toMatchObject({ msg: 'Goodbye' });
    expect(signals.listenerCount('SIGHUP')).toBe(0);
  });

  it('a node that fails to start exits 1 with "Failed to start"', async () => {
    const path = join(pki.dir, 'fail.yml');
    writeFileSync(path, cfg('{port: any, proto: any, host: any}'));
    let out = '';
    const code = await main(['-config', path], {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: () => undefined },
      signals: new EventEmitter() as unknown as NodeJS.Process,
      createNode: async () => {
        throw new Error('tun: permission denied');
      },
    });
    expect(code).toBe(1);
    expect(out).toContain('level=error msg="Failed to start" error="tun: permission denied"');
  });
});
