import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PKG_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const RUN_JS = join(PKG_ROOT, 'dist/bin/run.js');

/** The TS node as a Testnet impl (built dist; `{config}` is replaced by the harness). */
export function tsImpl(env: Record<string, string> = {}): { cmd: string[] } {
  if (!existsSync(RUN_JS))
    throw new Error(`${RUN_JS} is missing: run pnpm turbo run build --filter=@nebula-ts/node...`);
  const pre = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return {
    cmd: pre.length
      ? ['env', ...pre, process.execPath, RUN_JS, '-config', '{config}']
      : [process.execPath, RUN_JS, '-config', '{config}'],
  };
}

/** Parses our JSON log lines (and tolerates Go's text/json lines). */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const l of text.split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      out.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      /* partial line */
    }
  }
  return out;
}
