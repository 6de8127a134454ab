/** Network namespaces and the fixture driver for the privileged tests (names carry our PID). */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const DRIVER = fileURLToPath(new URL('../fixtures/driver.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const ADDON = fileURLToPath(new URL('../../build/Release/tun_linux.node', import.meta.url));

export function requireBuilt(): void {
  if (!existsSync(DIST)) throw new Error('fixtures import dist/: run `pnpm exec tsc -b` first');
  if (!existsSync(ADDON)) throw new Error('addon missing: run `pnpm run build:native` in packages/tun-linux');
}

let counter = 0;
export function createNs(): string {
  const name = `ntun-${process.pid}-${counter++}`;
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

export function deleteNs(name: string): void {
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

export function ipJson<T = unknown>(ns: string, ...args: string[]): T {
  return JSON.parse(execFileSync('ip', ['-n', ns, '-j', ...args], { encoding: 'utf8' }) || '[]') as T;
}

export function ipText(ns: string, ...args: string[]): string {
  return execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
}

export interface DriverReply<T> {
  ok?: T;
  error?: {
    name: string;
    code?: string;
    message: string;
    errno?: number;
    sysCode?: string;
    syscall?: string;
    ctor: string;
  };
}

/** One `node driver.mjs` inside `ns`, optionally behind a wrapper (setpriv, unshare...). */
export class Driver {
  readonly child: ChildProcessWithoutNullStreams;
  readonly #lines: Interface;
  readonly #waiting: ((line: string) => void)[] = [];
  stderr = '';

  constructor(ns: string, wrapper: string[] = []) {
    this.child = spawn('ip', ['netns', 'exec', ns, ...wrapper, process.execPath, DRIVER], { stdio: 'pipe' });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.#lines = createInterface({ input: this.child.stdout });
    this.#lines.on('line', (l) => this.#waiting.shift()?.(l));
  }

  request<T = Record<string, unknown>>(
    cmd: Record<string, unknown>,
    timeoutMs = 15_000,
  ): Promise<DriverReply<T>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`driver: no reply to ${cmd.op} in ${timeoutMs} ms; stderr: ${this.stderr}`)),
        timeoutMs,
      );
      this.#waiting.push((line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line) as DriverReply<T>);
      });
      this.child.stdin.write(`${JSON.stringify(cmd)}\n`);
    });
  }

  async ok<T = Record<string, unknown>>(cmd: Record<string, unknown>, timeoutMs?: number): Promise<T> {
    const r = await this.request<T>(cmd, timeoutMs);
    if (r.error) throw new Error(`driver ${cmd.op} failed: ${r.error.message}`);
    return r.ok as T;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.pid !== undefined) this.child.kill('SIGKILL');
  }
}
