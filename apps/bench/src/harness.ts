/**
 * Measurement helpers for `apps/bench`. Rates are normalised by the process's own CPU time
 * (`process.cpuUsage`), because the machine is shared and wall-clock rates swing with steal time.
 */
export interface OpResult {
  readonly name: string;
  readonly ops: number;
  readonly nsPerOp: number;
  /** Heap bytes allocated per op, from `process.memoryUsage().heapUsed` deltas with GC forced off-path. */
  readonly bytesPerOp: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Times `fn` over `ops` calls after a warm-up; best of `rounds` by CPU time. Run node with --expose-gc. */
export function measure(name: string, ops: number, fn: (i: number) => void, rounds = 5): OpResult {
  for (let i = 0; i < Math.min(ops, 100_000); i++) fn(i);
  let best = Number.POSITIVE_INFINITY;
  let bestBytes = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < ops; i++) fn(i);
    const cpu = process.cpuUsage(cpu0);
    const heap = process.memoryUsage().heapUsed - heap0;
    best = Math.min(best, ((cpu.user + cpu.system) * 1000) / ops);
    bestBytes = Math.min(bestBytes, Math.max(0, heap) / ops);
  }
  return { name, ops, nsPerOp: best, bytesPerOp: bestBytes };
}

export function printTable(rows: readonly OpResult[]): void {
  console.log('| case | ops | ns/op | heap B/op |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.ops} | ${r.nsPerOp.toFixed(1)} | ${r.bytesPerOp.toFixed(2)} |`);
  }
}

/** Packets per CPU-second over a loop that processes `perCall` packets per call. */
export function rate(
  name: string,
  seconds: number,
  perCall: number,
  fn: () => number,
): { name: string; pps: number } {
  const cpu0 = process.cpuUsage();
  const end = Date.now() + seconds * 1000;
  let packets = 0;
  while (Date.now() < end) packets += fn() ?? perCall;
  const cpu = process.cpuUsage(cpu0);
  return { name, pps: packets / ((cpu.user + cpu.system) / 1e6) };
}

/** `x` to `digits` decimals, or 'n/a' for a missing or non-finite value (a table cell). */
export function fixed(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits);
}

/** The element at rank floor(q · n) of the sorted values (no interpolation); NaN for none. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

/** The median (the mean of the middle two for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** A case's option parsing: a bad argument prints the parser's message and sets exit code 2. */
export function parseOrUsage<T>(parse: (args: string[]) => T, args: string[]): T | undefined {
  try {
    return parse(args);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exitCode = 2;
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A progress line on stderr, stamped with the time of day (stdout carries the report). */
export const progress = (line: string) =>
  console.error(`# ${new Date().toISOString().slice(11, 19)} ${line}`);

type NumericKey<O> = { [K in keyof O]: O[K] extends number ? K : never }[keyof O];

/**
 * `--flag value` arguments into `o`: each flag of `numeric` sets its option to a number of at
 * least its least value; `other` takes any other flag and returns false if it does not know it, or
 * 'no value' for a switch that takes no argument.
 * Errors name the flag and end with `usage`.
 */
export function parseFlags<O extends object>(
  args: readonly string[],
  usage: string,
  o: O,
  numeric: Readonly<Record<string, readonly [NumericKey<O>, number]>>,
  other: (flag: string, value: string | undefined) => boolean | 'no value' = () => false,
): O {
  for (let i = 0; i < args.length; i += 2) {
    const flag = args[i] as string;
    const v = args[i + 1];
    const num = numeric[flag];
    if (num !== undefined) {
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || n < num[1])
        throw new Error(`${flag}: expected a number >= ${num[1]}\n${usage}`);
      (o as Record<NumericKey<O>, number>)[num[0]] = n;
    } else {
      const taken = other(flag, v);
      if (taken === false) throw new Error(`unknown argument ${flag}\n${usage}`);
      if (taken === 'no value') i--; // a switch: the next argument is a flag of its own
    }
  }
  return o;
}
