/**
 * Per-hop latency from syscall tracepoints: `perf record -e raw_syscalls:sys_enter,sys_exit` of
 * the nodes during a ping series, read back with `perf script`. Between one syscall's exit and the
 * same thread's next entry the thread ran user code (or waited for a CPU): that gap is what a
 * node's own code adds to a packet's hop, and it is comparable across Go and TS nodes, whose
 * syscalls differ. Only x86-64 syscall numbers are named.
 */

/** x86-64 numbers of the syscalls a node's data path makes, and its waits. */
const SYSCALL_NAMES: Readonly<Record<number, string>> = {
  0: 'read',
  1: 'write',
  7: 'poll',
  19: 'readv',
  20: 'writev',
  24: 'sched_yield',
  35: 'nanosleep',
  44: 'sendto',
  45: 'recvfrom',
  46: 'sendmsg',
  47: 'recvmsg',
  202: 'futex',
  232: 'epoll_wait',
  271: 'ppoll',
  281: 'epoll_pwait',
  299: 'recvmmsg',
  307: 'sendmmsg',
};

/** Syscalls that move a packet (tun or UDP I/O): a thread making them carries the data path. */
const PACKET_IO = new Set([
  'read',
  'write',
  'readv',
  'writev',
  'sendto',
  'recvfrom',
  'sendmsg',
  'recvmsg',
  'recvmmsg',
  'sendmmsg',
]);

export interface Syscall {
  readonly tid: number;
  readonly name: string;
  /** µs, perf's clock. */
  readonly enterUs: number;
  readonly exitUs: number;
  readonly ret: number;
  readonly cpuEnter: number;
  readonly cpuExit: number;
}

// `node 21824 [000] 28780.984067:  raw_syscalls:sys_exit: NR 281 = 0` (perf script's default fields).
const LINE =
  /^\s*\S.*?\s(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+raw_syscalls:sys_(enter|exit):\s+NR\s+(-?\d+)(?:.*?=\s+(-?\d+))?/;

/**
 * Pairs enter/exit lines per thread into completed syscalls, in exit order per thread. An exit
 * without its entry (the recording started inside the call) is dropped.
 */
export function parsePerfScript(text: string): Syscall[] {
  const open = new Map<number, { nr: number; us: number; cpu: number }>();
  const out: Syscall[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const tid = Number(m[1]);
    const cpu = Number(m[2]);
    const us = Number(m[3]) * 1e6;
    const nr = Number(m[5]);
    if (m[4] === 'enter') {
      open.set(tid, { nr, us, cpu });
      continue;
    }
    const start = open.get(tid);
    if (start === undefined || start.nr !== nr) continue;
    open.delete(tid);
    out.push({
      tid,
      name: SYSCALL_NAMES[nr] ?? `nr${nr}`,
      enterUs: start.us,
      exitUs: us,
      ret: m[6] === undefined ? 0 : Number(m[6]),
      cpuEnter: start.cpu,
      cpuExit: cpu,
    });
  }
  return out;
}

export interface Step {
  /** `poll>0 → read`: the user-space gap after one syscall (with its outcome) until the next. */
  readonly step: string;
  readonly count: number;
  readonly medianUs: number;
}

export interface ThreadHops {
  readonly tid: number;
  readonly packetSyscalls: number;
  /** The user-space gaps, most frequent first. */
  readonly gaps: readonly Step[];
  /**
   * Time inside each tun write or UDP send that moved a packet. Reads are left out: Go's block
   * until a packet comes, so their time is mostly waiting.
   */
  readonly inside: readonly Step[];
  /** Sum of all user-space gaps, µs (each gap is code run between two syscalls). */
  readonly userUs: number;
}

const SENDS = new Set(['write', 'writev', 'sendto', 'sendmsg', 'sendmmsg']);

function push(map: Map<string, number[]>, key: string, value: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

const outcome = (s: Syscall): string => (s.ret > 0 ? '>0' : s.ret === 0 ? '=0' : `=${s.ret}`);

function medianOf(xs: number[]): number {
  const s = xs.sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function steps(map: Map<string, number[]>, minCount: number): Step[] {
  return [...map]
    .filter(([, v]) => v.length >= minCount)
    .map(([step, v]) => ({ step, count: v.length, medianUs: medianOf(v) }))
    .sort((a, b) => b.count - a.count || a.step.localeCompare(b.step));
}

/**
 * The threads that carried packets (at least `minPacketSyscalls` packet syscalls), with their
 * gaps and in-syscall times. Steps seen fewer than `minCount` times are left out of the lists
 * (not out of `userUs`). A gap longer than `maxGapUs` is not a packet's (a GC pause, a compile)
 * and is left out of both.
 */
export function threadHops(
  calls: readonly Syscall[],
  minPacketSyscalls: number,
  minCount: number,
  maxGapUs = 5000,
): ThreadHops[] {
  const byTid = new Map<number, Syscall[]>();
  for (const c of calls) {
    const list = byTid.get(c.tid);
    if (list === undefined) byTid.set(c.tid, [c]);
    else list.push(c);
  }
  const out: ThreadHops[] = [];
  for (const [tid, list] of byTid) {
    const packetSyscalls = list.filter((c) => PACKET_IO.has(c.name)).length;
    if (packetSyscalls < minPacketSyscalls) continue;
    list.sort((a, b) => a.enterUs - b.enterUs);
    const gaps = new Map<string, number[]>();
    const inside = new Map<string, number[]>();
    let userUs = 0;
    for (let i = 0; i < list.length; i++) {
      const c = list[i] as Syscall;
      if (SENDS.has(c.name) && c.ret > 0) push(inside, `${c.name}${outcome(c)}`, c.exitUs - c.enterUs);
      if (i === 0) continue;
      const prev = list[i - 1] as Syscall;
      const gap = c.enterUs - prev.exitUs;
      if (gap < 0 || gap > maxGapUs) continue;
      userUs += gap;
      push(gaps, `${prev.name}${outcome(prev)} → ${c.name}`, gap);
    }
    out.push({ tid, packetSyscalls, gaps: steps(gaps, minCount), inside: steps(inside, minCount), userUs });
  }
  return out.sort((a, b) => b.packetSyscalls - a.packetSyscalls);
}
