import { resolve } from 'node:path';

/** What a mode needs from the outside world; the bin wires it to the process, tests to buffers. */
export interface CertCliContext {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Wall clock in milliseconds (defaults to `Date.now`). */
  readonly now?: () => number;
  /** Directory relative paths are resolved against (defaults to the process's). */
  readonly cwd?: string;
}

/** Resolves for file access only: messages keep the path as the user typed it, like Go. */
export function fsPath(ctx: CertCliContext, p: string): string {
  return ctx.cwd === undefined ? p : resolve(ctx.cwd, p);
}

/** An error nebula-cert prints as `Error: <message>`; `showHelp` adds the mode's usage after it. */
export class CertCliError extends Error {
  constructor(
    message: string,
    readonly showHelp = false,
  ) {
    super(message);
  }
}

export const helpError = (message: string): CertCliError => new CertCliError(message, true);

/** `-x is required` (Go's mustFlagString). */
export function requireFlag(name: string, value: string): void {
  if (value === '') throw helpError(`-${name} is required`);
}

/** Comma list, trimmed, empties dropped (Go's group parsing). */
export function splitList(s: string, trim: (x: string) => string = (x) => x.trim()): string[] {
  if (s === '') return [];
  return s
    .split(',')
    .map(trim)
    .filter((x) => x !== '');
}

/** Go trims CIDR lists with `strings.Trim(s, " ")`: spaces only. */
export const trimSpaces = (s: string): string => s.replace(/^ +| +$/g, '');
