import { execFile, execFileSync } from 'node:child_process';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command to completion with a hard time cap. Never throws for a non-zero exit: callers
 * decide what failure means. A timed-out command reports code 124 like coreutils `timeout`.
 */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { timeoutMs?: number; input?: string; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      {
        timeout: opts.timeoutMs ?? 30_000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 << 20,
        encoding: 'utf8',
        cwd: opts.cwd,
      },
      (err, stdout, stderr) => {
        let code = 0;
        if (err) {
          const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
          if (e.killed) code = 124;
          else if (typeof e.code === 'number') code = e.code;
          else code = 127; // spawn failure (ENOENT...)
          if (code === 127 && !stderr) stderr = String(err.message);
        }
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Synchronous variant for exit-time cleanup, where async work can no longer run. */
export function runSync(cmd: string, args: readonly string[], timeoutMs = 5000): number {
  try {
    execFileSync(cmd, args, { timeout: timeoutMs, stdio: 'ignore' });
    return 0;
  } catch {
    return 1;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` until it returns a value other than undefined, bounded both by a deadline and an
 * iteration cap so a stuck clock or a too-short interval cannot spin forever.
 */
export async function waitUntil<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs: number; intervalMs?: number; maxIterations?: number },
): Promise<T | undefined> {
  const interval = opts.intervalMs ?? 100;
  const maxIterations = opts.maxIterations ?? Math.ceil(opts.timeoutMs / interval) + 10;
  const deadline = Date.now() + opts.timeoutMs;
  for (let i = 0; i < maxIterations; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) return undefined;
    await sleep(interval);
  }
  return undefined;
}
