/**
 * The syscall-tracepoint reader behind `nebula-bench hops`: perf script lines paired into calls,
 * and per-thread gaps, in-syscall times and user time, on a hand-written trace of one TS-style
 * thread (poll → read → read EAGAIN → sendmmsg) and one Go-style thread (read → sendto).
 */
import { describe, expect, it } from 'vitest';
import { parsePerfScript, threadHops } from '../src/hops/syscalls.js';

// Times are in seconds with µs precision, as perf script prints them.
const TRACE = `
            node   100 [000] 10.000100: raw_syscalls:sys_enter: NR 7 (7f00, 3, 3e8, 0, 0, 0)
          nebula   200 [001] 10.000050: raw_syscalls:sys_enter: NR 0 (9, c000, 2329, 0, 0, 0)
            node   100 [001] 10.010000:  raw_syscalls:sys_exit: NR 7 = 1
            node   100 [001] 10.010040: raw_syscalls:sys_enter: NR 0 (11, 7f00, 10009, 0, 0, 0)
            node   100 [001] 10.010052:  raw_syscalls:sys_exit: NR 0 = 94
            node   100 [001] 10.010055: raw_syscalls:sys_enter: NR 0 (11, 7f00, 10009, 0, 0, 0)
            node   100 [001] 10.010057:  raw_syscalls:sys_exit: NR 0 = -11
            node   100 [001] 10.010110: raw_syscalls:sys_enter: NR 307 (17, 7f00, 1, 0, 0, 0)
            node   100 [001] 10.010160:  raw_syscalls:sys_exit: NR 307 = 1
          nebula   200 [000] 10.010300:  raw_syscalls:sys_exit: NR 0 = 84
          nebula   200 [000] 10.010317: raw_syscalls:sys_enter: NR 44 (7, c000, 74, 0, c000, 10)
          nebula   200 [000] 10.010366:  raw_syscalls:sys_exit: NR 44 = 116
          nebula   200 [000] 10.010371: raw_syscalls:sys_enter: NR 0 (9, c000, 2329, 0, 0, 0)
          nebula   300 [000] 10.020000:  raw_syscalls:sys_exit: NR 202 = 0
some header line perf prints
`;

describe('parsePerfScript', () => {
  it('pairs each thread’s enter and exit into one call, with its return and CPUs', () => {
    const calls = parsePerfScript(TRACE);
    // tid 300's exit has no entry and tid 200's last read never returned: both left out.
    expect(calls.map((c) => `${c.tid} ${c.name} ${c.ret}`)).toEqual([
      '100 poll 1',
      '100 read 94',
      '100 read -11',
      '100 sendmmsg 1',
      '200 read 84',
      '200 sendto 116',
    ]);
    const poll = calls[0]!;
    expect(poll.exitUs - poll.enterUs).toBeCloseTo(9900, 3);
    expect([poll.cpuEnter, poll.cpuExit]).toEqual([0, 1]);
  });

  it('ignores lines that are not raw_syscalls events', () => {
    expect(parsePerfScript('garbage\n  node 1 [000] 1.0: sched:sched_switch: x\n')).toEqual([]);
  });
});

describe('threadHops', () => {
  const calls = parsePerfScript(TRACE);

  it('reports the user-space gap of each step and the time inside sends', () => {
    const [ts, go] = threadHops(calls, 1, 1);
    expect(ts!.tid).toBe(100);
    const gap = (t: typeof ts, step: string) => t!.gaps.find((g) => g.step === step)?.medianUs;
    expect(gap(ts, 'poll>0 → read')).toBeCloseTo(40, 3);
    expect(gap(ts, 'read>0 → read')).toBeCloseTo(3, 3);
    expect(gap(ts, 'read=-11 → sendmmsg')).toBeCloseTo(53, 3);
    expect(ts!.inside).toEqual([{ step: 'sendmmsg>0', count: 1, medianUs: expect.closeTo(50, 3) }]);
    expect(ts!.userUs).toBeCloseTo(96, 3);
    expect(go!.tid).toBe(200);
    expect(gap(go, 'read>0 → sendto')).toBeCloseTo(17, 3);
    expect(go!.inside[0]!.step).toBe('sendto>0');
    expect(go!.inside[0]!.medianUs).toBeCloseTo(49, 3);
  });

  it('keeps only threads with enough packet syscalls, and steps seen often enough', () => {
    expect(threadHops(calls, 3, 1).map((t) => t.tid)).toEqual([100]);
    const [ts] = threadHops(calls, 1, 2);
    expect(ts!.gaps).toEqual([]);
    expect(ts!.userUs).toBeCloseTo(96, 3); // still counted
  });

  it('leaves gaps longer than maxGapUs out (not a packet’s work)', () => {
    const [ts] = threadHops(calls, 1, 1, 45);
    expect(ts!.gaps.some((g) => g.step === 'read=-11 → sendmmsg')).toBe(false);
    expect(ts!.userUs).toBeCloseTo(43, 3);
  });
});
