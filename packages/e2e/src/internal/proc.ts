import { readFileSync } from 'node:fs';

/** True when the PID exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((s) => s.length > 0);
  } catch {
    return [];
  }
}

export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    // Threads other than the main one rarely fork, but `children` is per task.
    const tasks = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
    for (const t of tasks.split(' ')) if (t.trim()) out.push(Number(t));
  } catch {
    /* gone */
  }
  return out;
}

/** The PID and all its descendants, depth-capped. */
export function processTree(pid: number, depth = 0): number[] {
  if (!alive(pid)) return [];
  const out = [pid];
  if (depth >= 8) return out;
  for (const c of childrenOf(pid)) out.push(...processTree(c, depth + 1));
  return out;
}

export function signalPid(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}
