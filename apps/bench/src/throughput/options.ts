/** Command-line options of `nebula-bench throughput` (see apps/bench/README.md). */

export type Pair = 'go-go' | 'ts-go' | 'ts-ts';
export type Buffers = 'default' | '10m';
export type Direction = 'fwd' | 'rev';

export const PAIRS: readonly Pair[] = ['go-go', 'ts-go', 'ts-ts'];
/** Go's best setting on this machine (BASELINE.md): SO_RCVBUF/SO_SNDBUF of 10 MiB. */
export const TEN_MIB = 10 * 1024 * 1024;

export interface ThroughputOptions {
  readonly reps: number;
  readonly seconds: number;
  readonly pairs: readonly Pair[];
  readonly routines: readonly number[];
  readonly streams: readonly number[];
  readonly buffers: readonly Buffers[];
  readonly directions: readonly Direction[];
  readonly underlay: boolean;
  readonly cipher: 'aes' | 'chachapoly';
  readonly mtu: number;
  /** Extra config keys for TS nodes only (dotted path → value), e.g. `listen.batch`. */
  readonly tsSet: Readonly<Record<string, unknown>>;
  /** `listen.batch` values for TS nodes, a matrix dimension of the pairs with a TS node; [] = node default. */
  readonly tsBatches: readonly number[];
  readonly pingCount: number;
  /** Extra set-up attempts per condition before it is recorded as failed. */
  readonly setupRetries: number;
  /** Before each iperf3 run, wait (at most `quietWaitSec`) until the machine is at most this % busy. */
  readonly quietMaxPct: number | undefined;
  readonly quietWaitSec: number;
  readonly pingIntervalSec: number;
  readonly json: string | undefined;
  /** Re-render the Markdown report of an earlier `--json` file; nothing is measured. */
  readonly render: string | undefined;
  readonly profile: boolean;
  readonly profileTop: number;
  readonly quick: boolean;
}

export const USAGE = `usage: nebula-bench throughput [options]
  --reps N            repetitions (default 3); each runs every condition once, order rotating
  --seconds S         iperf3 -t per run (default 10)
  --pairs LIST        go-go,ts-go,ts-ts (default all; ts-go = TS on a, Go on b; lighthouse is Go)
  --routines LIST     routines values (default 1,2)
  --streams LIST      iperf3 -P values (default 1,4)
  --buffers LIST      default,10m: listen.read_buffer/write_buffer of a and b (default both)
  --dirs LIST         fwd,rev (default both; rev = iperf3 -R, b sends)
  --no-underlay       skip the raw-underlay reference runs
  --cipher C          aes|chachapoly (default aes)
  --mtu N             tun MTU (default 1300, as the Go baseline)
  --ts-batch LIST     listen.batch values for TS nodes (a dimension of ts-go/ts-ts; default: node's)
  --ts-set K=V        any config key for TS nodes (dotted path; V parsed as JSON when it parses)
  --ping-count N      overlay pings per condition (default 100, at 10 ms)
  --quiet-max PCT     before each iperf3 run wait until the machine is <= PCT % busy (1 s samples,
                      at most --quiet-wait S, default 20); off by default; bg busy is recorded
  --setup-retries N   extra attempts to bring a condition's nodes up before it counts as failed (1)
  --json FILE         write raw results
  --render FILE       print the report of an earlier --json FILE (no measurement, no root)
  --profile           instead of the matrix: TS node on a under --cpu-prof during one iperf,
                      print top self-time functions (--profile-top N, default 25)
  --quick             smoke run: 1 rep, 3 s, 1 stream, routines 1`;

function list<T extends string | number>(v: string, parse: (s: string) => T, allowed?: readonly T[]): T[] {
  const out = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parse);
  for (const x of out)
    if (allowed && !allowed.includes(x))
      throw new Error(`bad value ${String(x)} (allowed: ${allowed.join(', ')})`);
  if (out.length === 0) throw new Error(`empty list: ${JSON.stringify(v)}`);
  return out;
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

export function parseOptions(argv: readonly string[]): ThroughputOptions {
  // Accept both `--k v` and `--k=v`.
  const args: string[] = [];
  for (const a of argv) {
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    if (eq > 0) args.push(a.slice(0, eq), a.slice(eq + 1));
    else args.push(a);
  }
  const quick = args.includes('--quick');
  let reps = quick ? 1 : 3;
  let seconds = quick ? 3 : 10;
  let pairs: Pair[] = [...PAIRS];
  let routines = quick ? [1] : [1, 2];
  let streams = quick ? [1] : [1, 4];
  let buffers: Buffers[] = ['default', '10m'];
  let directions: Direction[] = ['fwd', 'rev'];
  let underlay = true;
  let cipher: 'aes' | 'chachapoly' = 'aes';
  let mtu = 1300;
  const tsSet: Record<string, unknown> = {};
  let tsBatches: number[] = [];
  let pingCount = 100;
  let setupRetries = 1;
  let json: string | undefined;
  let render: string | undefined;
  let quietMaxPct: number | undefined;
  let quietWaitSec = 20;
  let profile = false;
  let profileTop = 25;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--quick':
        break;
      case '--reps':
        reps = positiveInt(a, value());
        break;
      case '--seconds':
        seconds = positiveInt(a, value());
        break;
      case '--pairs':
        pairs = list(value(), (s) => s as Pair, PAIRS);
        break;
      case '--routines':
        routines = list(value(), (s) => positiveInt(a, s));
        break;
      case '--streams':
        streams = list(value(), (s) => positiveInt(a, s));
        break;
      case '--buffers':
        buffers = list(value(), (s) => s as Buffers, ['default', '10m']);
        break;
      case '--dirs':
        directions = list(value(), (s) => s as Direction, ['fwd', 'rev']);
        break;
      case '--no-underlay':
        underlay = false;
        break;
      case '--cipher': {
        const c = value();
        if (c !== 'aes' && c !== 'chachapoly') throw new Error(`--cipher: aes or chachapoly, got ${c}`);
        cipher = c;
        break;
      }
      case '--mtu':
        mtu = positiveInt(a, value());
        break;
      case '--ts-batch':
        tsBatches = list(value(), (x) => positiveInt(a, x));
        break;
      case '--ts-set': {
        const kv = value();
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new Error(`--ts-set needs key=value, got ${kv}`);
        const raw = kv.slice(eq + 1);
        let v: unknown = raw;
        try {
          v = JSON.parse(raw);
        } catch {
          /* a plain string */
        }
        tsSet[kv.slice(0, eq)] = v;
        break;
      }
      case '--setup-retries': {
        const v = Number(value());
        if (!Number.isInteger(v) || v < 0) throw new Error('--setup-retries: an integer >= 0');
        setupRetries = v;
        break;
      }
      case '--ping-count':
        pingCount = positiveInt(a, value());
        break;
      case '--quiet-max': {
        const v = Number(value());
        if (!(v >= 0 && v <= 100)) throw new Error('--quiet-max: a percentage 0..100');
        quietMaxPct = v;
        break;
      }
      case '--quiet-wait':
        quietWaitSec = positiveInt(a, value());
        break;
      case '--render':
        render = value();
        break;
      case '--json':
        json = value();
        break;
      case '--profile':
        profile = true;
        break;
      case '--profile-top':
        profileTop = positiveInt(a, value());
        break;
      case '--help':
      case '-h':
        throw new Error(USAGE);
      default:
        throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  return {
    reps,
    seconds,
    pairs,
    routines,
    streams,
    buffers,
    directions,
    underlay,
    cipher,
    mtu,
    tsSet,
    tsBatches,
    pingCount,
    setupRetries,
    pingIntervalSec: 0.01,
    quietMaxPct,
    quietWaitSec,
    json,
    render,
    profile,
    profileTop,
    quick,
  };
}

/** Sets `a.b.c` in a nested config object, creating maps on the way. */
export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1] as string] = value;
}
