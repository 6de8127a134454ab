/**
 * A Nebula test network built from Linux network namespaces, for e2e and interop tests.
 *
 *   ns <base>-br : bridge br0 (no address), one veth port `v-<host>` per host
 *   ns <base>-lh : eth0 198.51.100.1/24   overlay 203.0.113.1
 *   ns <base>-a  : eth0 198.51.100.11/24  overlay 203.0.113.11   (b: .12, c: .13 ...)
 *
 * `<base>` is prefix + PID + a per-process counter, so parallel test files and parallel engineers
 * never collide. Interfaces live inside our own namespaces, which keeps their names short and
 * fixed. Every wait is bounded by a deadline and an iteration cap; every long-running process runs
 * under `timeout -k 5 <maxLifetime>` so nothing outlives a crashed test run by more than that, and
 * is stopped only by the PID we recorded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { E2eError } from './errors.js';
import { alive, childrenOf, processTree, signalPid } from './internal/proc.js';
import { type RunResult, run, runSync, sleep, waitUntil } from './internal/run.js';
import { TCP_TRANSFER_SCRIPT } from './internal/tcp-transfer-script.js';
import { requireRoot } from './require.js';

export const UNDERLAY_PREFIX = '198.51.100';
export const OVERLAY_PREFIX = '203.0.113';
export const NEBULA_PORT = 4242;

/** The repository root (this file is `packages/e2e/{src,dist}/testnet.{ts,js}`). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** Our CLI entry points, as built by `pnpm turbo run build --filter=@nebula-ts/nebula-cli...`. */
export const TS_NEBULA_JS = join(REPO_ROOT, 'apps/nebula-cli/dist/bin/nebula.js');
export const TS_NEBULA_CERT_JS = join(REPO_ROOT, 'apps/nebula-cli/dist/bin/nebula-cert.js');

export type Impl = 'go' | 'ts' | { readonly cmd: readonly string[] };

export interface TestnetOptions {
  /** Short letters identifying the caller (`nt`, `fw`...); the PID and a counter are appended. */
  readonly prefix?: string;
  /** Host names: `lh` and/or single letters (`a`..`t`), or other short names (addresses .101+). */
  readonly hosts: readonly string[];
  /** Hard cap (seconds) on every process the harness starts. */
  readonly maxLifetimeSec?: number;
  /** Keep the temp dir on destroy (logs for debugging). Default: keep when E2E_KEEP=1. */
  readonly keepDir?: boolean;
}

export interface PkiOptions {
  readonly tool?: 'go' | 'ts';
  readonly caName?: string;
  /** Go duration for the CA, e.g. `8760h`. */
  readonly caDuration?: string;
  /** Groups per host (default: none). */
  readonly groups?: Readonly<Record<string, readonly string[]>>;
  /** Extra `sign` args per host, e.g. `['-subnets', '...']`. */
  readonly signArgs?: Readonly<Record<string, readonly string[]>>;
  /** Overlay prefix length in the certs; 24 by default. */
  readonly overlayBits?: number;
}

export interface Pki {
  readonly caCrt: string;
  readonly caKey: string;
  readonly hosts: Readonly<Record<string, { readonly crt: string; readonly key: string }>>;
}

export interface BaseConfigOptions {
  /** Host name of the lighthouse; default `lh` when the net has one. `null` = no lighthouse. */
  readonly lighthouse?: string | null;
  /** Default: host === lighthouse. */
  readonly amLighthouse?: boolean;
  readonly routines?: number;
  readonly cipher?: 'aes' | 'chachapoly';
  readonly logLevel?: string;
  readonly logFormat?: 'text' | 'json';
  readonly mtu?: number;
  /** `tun.tso`; absent: the node's default. */
  readonly tso?: boolean;
  readonly tunDev?: string;
  readonly punch?: boolean;
  readonly interval?: number;
  readonly port?: number;
}

export interface StartOptions {
  readonly impl?: Impl;
  /** What "up" means: the UDP port is bound (default), the process merely runs, or a log line. */
  readonly waitFor?: 'udp' | 'process' | RegExp;
  readonly port?: number;
  readonly timeoutMs?: number;
  /** Extra environment for the node process. */
  readonly env?: Readonly<Record<string, string>>;
  /** Override the config path (default `<dir>/<host>/config.yml`). */
  readonly configPath?: string;
}

export interface NodeExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface PingResult {
  readonly sent: number;
  readonly received: number;
  readonly rttMs: number[];
}

interface RunningNode {
  readonly wrapper: ChildProcess;
  readonly wrapperPid: number;
  readonly logOffsetAtStart: number;
  exit: NodeExit | undefined;
  readonly exited: Promise<NodeExit>;
}

const HOST_NAME = /^[a-z][a-z0-9]{0,11}$/;
let counter = 0;
const live = new Set<Testnet>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort for a test that forgot destroy() or a worker that is exiting: synchronous only.
  process.once('exit', () => {
    for (const net of live) net.destroySync();
  });
}

export class Testnet {
  readonly base: string;
  readonly dir: string;
  readonly hosts: readonly string[];
  private readonly maxLifetimeSec: number;
  private readonly keepDir: boolean;
  private readonly hostIndex = new Map<string, number>();
  private readonly nodes = new Map<string, RunningNode>();
  private destroyed = false;
  private pki: Pki | undefined;

  private constructor(opts: TestnetOptions) {
    const prefix = opts.prefix ?? 'nt';
    if (!/^[a-z]{1,6}$/.test(prefix))
      throw new E2eError(
        'ERR_E2E_BAD_ARGUMENT',
        `prefix must be 1-6 lowercase letters, got ${JSON.stringify(prefix)}`,
      );
    counter += 1;
    this.base = `${prefix}${process.pid}-${counter}`;
    this.hosts = [...opts.hosts];
    this.maxLifetimeSec = opts.maxLifetimeSec ?? 1800;
    this.keepDir = opts.keepDir ?? process.env.E2E_KEEP === '1';
    let extra = 100;
    for (const h of this.hosts) {
      if (!HOST_NAME.test(h) || h === 'br')
        throw new E2eError(
          'ERR_E2E_BAD_ARGUMENT',
          `bad host name ${JSON.stringify(h)} (lowercase, <= 12 chars, not "br")`,
        );
      if (this.hostIndex.has(h)) throw new E2eError('ERR_E2E_BAD_ARGUMENT', `duplicate host ${h}`);
      let idx: number;
      if (h === 'lh') idx = 1;
      else if (/^[a-t]$/.test(h)) idx = 10 + (h.charCodeAt(0) - 96);
      else idx = ++extra;
      if (idx > 254) throw new E2eError('ERR_E2E_BAD_ARGUMENT', 'too many hosts');
      this.hostIndex.set(h, idx);
    }
    this.dir = mkdtempSync(join(tmpdir(), `nebula-e2e-${this.base}-`));
  }

  /** Builds the namespaces, bridge and veths; checks every host reaches the others on the underlay. */
  static async create(opts: TestnetOptions): Promise<Testnet> {
    requireRoot();
    const net = new Testnet(opts);
    live.add(net);
    installExitHook();
    try {
      await sweepStale(opts.prefix ?? 'nt');
      await net.build();
    } catch (e) {
      await net.destroy();
      throw e;
    }
    return net;
  }

  ns(host: string): string {
    this.check(host);
    return `${this.base}-${host}`;
  }

  underlayIp(host: string): string {
    return `${UNDERLAY_PREFIX}.${this.index(host)}`;
  }

  overlayIp(host: string): string {
    return `${OVERLAY_PREFIX}.${this.index(host)}`;
  }

  hostDir(host: string): string {
    this.check(host);
    return join(this.dir, host);
  }

  configPath(host: string): string {
    return join(this.hostDir(host), 'config.yml');
  }

  logPath(host: string): string {
    return join(this.hostDir(host), 'node.log');
  }

  /** Everything the host's node(s) wrote so far. */
  log(host: string): string {
    try {
      return readFileSync(this.logPath(host), 'utf8');
    } catch {
      return '';
    }
  }

  // ------------------------------------------------------------------ PKI --

  /** A CA and one cert/key per host, made with Go's `nebula-cert` or ours. */
  async makePki(opts: PkiOptions = {}): Promise<Pki> {
    const tool = opts.tool ?? 'go';
    const certCmd = tool === 'go' ? ['nebula-cert'] : [process.execPath, TS_NEBULA_CERT_JS];
    if (tool === 'ts' && !existsSync(TS_NEBULA_CERT_JS)) {
      throw new E2eError(
        'ERR_E2E_SETUP',
        `${TS_NEBULA_CERT_JS} is missing: run pnpm turbo run build --filter=@nebula-ts/nebula-cli...`,
      );
    }
    const caCrt = join(this.dir, 'ca.crt');
    const caKey = join(this.dir, 'ca.key');
    await this.must(certCmd[0] as string, [
      ...certCmd.slice(1),
      'ca',
      '-name',
      opts.caName ?? `e2e-ca-${this.base}`,
      '-duration',
      opts.caDuration ?? '8760h',
      '-out-crt',
      caCrt,
      '-out-key',
      caKey,
    ]);
    const hosts: Record<string, { crt: string; key: string }> = {};
    for (const h of this.hosts) {
      const crt = join(this.hostDir(h), 'host.crt');
      const key = join(this.hostDir(h), 'host.key');
      const args = [
        ...certCmd.slice(1),
        'sign',
        '-ca-crt',
        caCrt,
        '-ca-key',
        caKey,
        '-name',
        h,
        '-ip',
        `${this.overlayIp(h)}/${opts.overlayBits ?? 24}`,
        '-out-crt',
        crt,
        '-out-key',
        key,
      ];
      const groups = opts.groups?.[h];
      if (groups && groups.length > 0) args.push('-groups', groups.join(','));
      if (opts.signArgs?.[h]) args.push(...opts.signArgs[h]);
      await this.must(certCmd[0] as string, args);
      hosts[h] = { crt, key };
    }
    this.pki = { caCrt, caKey, hosts };
    return this.pki;
  }

  // --------------------------------------------------------------- config --

  /** The usual config for a host: PKI paths, lighthouse wiring, listen 4242, tun nebula1, any/any. */
  baseConfig(host: string, opts: BaseConfigOptions = {}): Record<string, unknown> {
    this.check(host);
    const lh = opts.lighthouse === undefined ? (this.hostIndex.has('lh') ? 'lh' : null) : opts.lighthouse;
    const amLighthouse = opts.amLighthouse ?? host === lh;
    const port = opts.port ?? NEBULA_PORT;
    const staticHostMap: Record<string, string[]> = {};
    if (lh) staticHostMap[this.overlayIp(lh)] = [`${this.underlayIp(lh)}:${NEBULA_PORT}`];
    const anyRule = [{ port: 'any', proto: 'any', host: 'any' }];
    return {
      pki: {
        ca: this.pki?.caCrt ?? join(this.dir, 'ca.crt'),
        cert: join(this.hostDir(host), 'host.crt'),
        key: join(this.hostDir(host), 'host.key'),
      },
      static_host_map: staticHostMap,
      lighthouse: {
        am_lighthouse: amLighthouse,
        interval: opts.interval ?? 60,
        hosts: amLighthouse || !lh ? [] : [this.overlayIp(lh)],
      },
      listen: { host: '0.0.0.0', port },
      punchy: { punch: opts.punch ?? true },
      cipher: opts.cipher ?? 'aes',
      routines: opts.routines ?? 1,
      tun: {
        disabled: false,
        dev: opts.tunDev ?? 'nebula1',
        drop_local_broadcast: false,
        drop_multicast: false,
        tx_queue: 500,
        mtu: opts.mtu ?? 1300,
        ...(opts.tso === undefined ? {} : { tso: opts.tso }),
      },
      logging: { level: opts.logLevel ?? 'info', format: opts.logFormat ?? 'text' },
      firewall: {
        conntrack: { tcp_timeout: '12m', udp_timeout: '3m', default_timeout: '10m' },
        outbound: anyRule,
        inbound: anyRule,
      },
    };
  }

  /**
   * Writes `<dir>/<host>/config.yml`. An object is written as JSON, which is valid YAML for both
   * Go's yaml.v2 and our loader, so the harness needs no YAML dependency; a string is written as is.
   */
  writeConfig(host: string, config: Record<string, unknown> | string, path = this.configPath(host)): string {
    this.check(host);
    writeFileSync(path, typeof config === 'string' ? config : `${JSON.stringify(config, null, 2)}\n`);
    return path;
  }

  // ------------------------------------------------------------ processes --

  /** Runs a node inside the host's namespace and waits until it is up. */
  async start(host: string, opts: StartOptions = {}): Promise<{ pid: number }> {
    this.assertUsable();
    if (this.nodes.get(host)?.exit === undefined && this.nodes.has(host)) {
      throw new E2eError('ERR_E2E_BAD_ARGUMENT', `${host} is already running`);
    }
    const config = opts.configPath ?? this.configPath(host);
    const impl = opts.impl ?? 'go';
    let cmd: string[];
    if (impl === 'go') cmd = ['nebula', '-config', config];
    else if (impl === 'ts') {
      if (!existsSync(TS_NEBULA_JS))
        throw new E2eError(
          'ERR_E2E_SETUP',
          `${TS_NEBULA_JS} is missing: run pnpm turbo run build --filter=@nebula-ts/nebula-cli...`,
        );
      cmd = [process.execPath, TS_NEBULA_JS, '-config', config];
    } else
      cmd = impl.cmd.map((a) =>
        a.replaceAll('{config}', config).replaceAll('{dir}', this.hostDir(host)).replaceAll('{name}', host),
      );

    const logPath = this.logPath(host);
    appendFileSync(logPath, `=== ${new Date().toISOString()} start: ${cmd.join(' ')}\n`);
    const logOffsetAtStart = statSync(logPath).size;
    const fd = openSync(logPath, 'a');
    let wrapper: ChildProcess;
    try {
      wrapper = spawn(
        'ip',
        ['netns', 'exec', this.ns(host), 'timeout', '-k', '5', String(this.maxLifetimeSec), ...cmd],
        {
          stdio: ['ignore', fd, fd],
          env: { ...process.env, ...opts.env },
        },
      );
    } finally {
      closeSync(fd);
    }
    if (wrapper.pid === undefined) throw new E2eError('ERR_E2E_SETUP', `could not spawn ${cmd.join(' ')}`);
    const node: RunningNode = {
      wrapper,
      wrapperPid: wrapper.pid,
      logOffsetAtStart,
      exit: undefined,
      exited: new Promise<NodeExit>((res) => {
        wrapper.once('exit', (code, signal) => {
          node.exit = { code, signal };
          res(node.exit);
        });
      }),
    };
    wrapper.once('error', () => {
      /* reported through 'exit' */
    });
    this.nodes.set(host, node);

    const timeoutMs = opts.timeoutMs ?? 15_000;
    const port = opts.port ?? NEBULA_PORT;
    const waitFor = opts.waitFor ?? 'udp';
    const ready = await waitUntil(
      async () => {
        if (node.exit) return false;
        if (waitFor === 'process') return this.nodePid(host) !== undefined ? true : undefined;
        if (waitFor === 'udp') {
          const r = await this.exec(host, ['ss', '-Hlun', `sport = :${port}`], { timeoutMs: 5000 });
          return r.code === 0 && r.stdout.trim() !== '' ? true : undefined;
        }
        return waitFor.test(this.log(host).slice(logOffsetAtStart)) ? true : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
    if (ready !== true) {
      const why = node.exit
        ? `exited (code ${node.exit.code}, signal ${node.exit.signal})`
        : `not up after ${timeoutMs} ms (waiting for ${String(waitFor)})`;
      await this.stop(host).catch(() => undefined);
      throw new E2eError(
        node.exit ? 'ERR_E2E_PROCESS_EXITED' : 'ERR_E2E_TIMEOUT',
        `${host}: node ${why}\n--- ${logPath} (tail) ---\n${tail(this.log(host), 30)}`,
      );
    }
    return { pid: this.nodePid(host) ?? node.wrapperPid };
  }

  /** PID of the node process itself (the `timeout` wrapper's child), if it runs. */
  nodePid(host: string): number | undefined {
    const node = this.nodes.get(host);
    if (!node || node.exit || !alive(node.wrapperPid)) return undefined;
    const child = childrenOf(node.wrapperPid)[0];
    return child !== undefined && alive(child) ? child : undefined;
  }

  isRunning(host: string): boolean {
    const node = this.nodes.get(host);
    return node !== undefined && node.exit === undefined;
  }

  /** How the host's last node exited (undefined while running or never started). */
  exitStatus(host: string): NodeExit | undefined {
    return this.nodes.get(host)?.exit;
  }

  /**
   * Signals the node process directly. Not the wrapper: `timeout -k` would forward the signal and
   * then arm its SIGKILL timer, turning a SIGHUP reload into a kill 5 s later.
   */
  async signal(host: string, sig: NodeJS.Signals): Promise<void> {
    const pid = this.nodePid(host);
    if (pid === undefined) throw new E2eError('ERR_E2E_BAD_ARGUMENT', `${host}: no running node to signal`);
    signalPid(pid, sig);
  }

  /** SIGTERM, wait up to `graceMs` (6 s), then SIGKILL the whole tree. Idempotent. */
  async stop(host: string, graceMs = 6000): Promise<NodeExit | undefined> {
    const node = this.nodes.get(host);
    if (!node) return undefined;
    if (node.exit) return node.exit;
    signalPid(this.nodePid(host) ?? node.wrapperPid, 'SIGTERM');
    const exit = await Promise.race([node.exited, sleep(graceMs).then(() => undefined)]);
    if (exit) return exit;
    for (const pid of processTree(node.wrapperPid)) signalPid(pid, 'SIGKILL');
    return Promise.race([node.exited, sleep(3000).then(() => undefined)]);
  }

  /** Waits for a log line matching `re` written since the host's last start (or `fromOffset`). */
  async waitForLog(host: string, re: RegExp, timeoutMs = 10_000, fromOffset?: number): Promise<string> {
    const from = fromOffset ?? this.nodes.get(host)?.logOffsetAtStart ?? 0;
    const line = await waitUntil(
      () => {
        const text = this.log(host).slice(from);
        for (const l of text.split('\n')) if (re.test(l)) return l;
        return undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
    if (line === undefined) {
      throw new E2eError(
        'ERR_E2E_TIMEOUT',
        `${host}: no log line matching ${re} within ${timeoutMs} ms\n--- tail ---\n${tail(this.log(host).slice(from), 30)}`,
      );
    }
    return line;
  }

  /** The current size of the host's log, to wait for lines written after an action. */
  logOffset(host: string): number {
    try {
      return statSync(this.logPath(host)).size;
    } catch {
      return 0;
    }
  }

  // -------------------------------------------------------------- probes --

  /** Runs a command in the host's namespace, time-capped; never throws for a non-zero exit. */
  exec(
    host: string,
    argv: readonly string[],
    opts: { timeoutMs?: number; input?: string } = {},
  ): Promise<RunResult> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const capSec = Math.ceil(timeoutMs / 1000) + 1;
    return run('ip', ['netns', 'exec', this.ns(host), 'timeout', '-k', '2', String(capSec), ...argv], {
      timeoutMs: timeoutMs + 5000,
      ...(opts.input !== undefined ? { input: opts.input } : {}),
    });
  }

  /**
   * Pings `to` from `from` over the overlay (or the underlay), retrying until `count` replies came
   * back or the deadline passed. Never throws for loss: the caller asserts on `received`.
   */
  async ping(
    from: string,
    to: string,
    opts: { count?: number; timeoutMs?: number; underlay?: boolean; size?: number } = {},
  ): Promise<PingResult> {
    const count = opts.count ?? 3;
    const dst = opts.underlay ? this.underlayIp(to) : this.overlayIp(to);
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    const rttMs: number[] = [];
    let sent = 0;
    for (let attempt = 0; attempt < 100 && rttMs.length < count; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const want = count - rttMs.length;
      const args = [
        'ping',
        '-n',
        '-c',
        String(want),
        '-i',
        '0.2',
        '-W',
        '1',
        '-w',
        String(Math.max(1, Math.ceil(left / 1000))),
      ];
      if (opts.size !== undefined) args.push('-s', String(opts.size));
      const r = await this.exec(from, [...args, dst], { timeoutMs: left + 2000 });
      const tx = /(\d+) packets transmitted/.exec(r.stdout);
      sent += tx ? Number(tx[1]) : want;
      // One reply per probe: ping can print a few more replies than -c (a burst of replies that
      // were queued behind a handshake is read in one go) and DUP! lines; neither is a new answer.
      const seen = new Set<string>();
      for (const m of r.stdout.matchAll(/icmp_seq=(\d+) .*?time=([\d.]+) ms(?! \(DUP!\))/g)) {
        if (seen.has(m[1]!) || rttMs.length >= count) continue;
        seen.add(m[1]!);
        rttMs.push(Number(m[2]));
      }
      if (rttMs.length < count) await sleep(100);
    }
    return { sent, received: rttMs.length, rttMs };
  }

  /** Sends `bytes` random bytes over TCP on the overlay and compares sha256 at both ends. */
  async tcpTransfer(
    from: string,
    to: string,
    opts: { bytes?: number; port?: number; timeoutMs?: number } = {},
  ): Promise<{ sentSha: string; receivedSha: string; bytes: number; ms: number }> {
    const bytes = opts.bytes ?? 4 << 20;
    const port = opts.port ?? 5300;
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const script = join(this.dir, 'tcp-transfer.mjs');
    if (!existsSync(script)) writeFileSync(script, TCP_TRANSFER_SCRIPT);
    const receiver = this.exec(to, [process.execPath, script, 'recv', this.overlayIp(to), String(port)], {
      timeoutMs,
    });
    const listening = await waitUntil(
      async () => {
        const r = await this.exec(to, ['ss', '-Htln', `sport = :${port}`], { timeoutMs: 5000 });
        return r.stdout.trim() !== '' ? true : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    if (!listening)
      throw new E2eError(
        'ERR_E2E_TIMEOUT',
        `${to}: tcp receiver did not listen on ${port}: ${(await receiver).stderr}`,
      );
    const sender = await this.exec(
      from,
      [process.execPath, script, 'send', this.overlayIp(to), String(port), String(bytes), String(timeoutMs)],
      { timeoutMs },
    );
    const recv = await receiver;
    if (sender.code !== 0 || recv.code !== 0) {
      throw new E2eError(
        'ERR_E2E_COMMAND_FAILED',
        `tcp transfer ${from}->${to} failed: sender ${sender.code} ${sender.stderr.trim()}; receiver ${recv.code} ${recv.stderr.trim()}`,
      );
    }
    const s = JSON.parse(sender.stdout.trim()) as { sha: string; ms: number };
    const r = JSON.parse(recv.stdout.trim()) as { sha: string; bytes: number };
    return { sentSha: s.sha, receivedSha: r.sha, bytes: r.bytes, ms: s.ms };
  }

  /** iperf3 over the overlay; Mbit/s measured at the receiver. */
  async iperf(
    from: string,
    to: string,
    opts: { seconds?: number; parallel?: number; reverse?: boolean; port?: number } = {},
  ): Promise<{ mbps: number; retransmits: number; json: unknown }> {
    const seconds = opts.seconds ?? 5;
    const port = opts.port ?? 5201;
    const server = this.exec(to, ['iperf3', '-s', '-1', '-B', this.overlayIp(to), '-p', String(port)], {
      timeoutMs: (seconds + 30) * 1000,
    });
    const listening = await waitUntil(
      async () => {
        const r = await this.exec(to, ['ss', '-Htln', `sport = :${port}`], { timeoutMs: 5000 });
        return r.stdout.trim() !== '' ? true : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    if (!listening)
      throw new E2eError('ERR_E2E_TIMEOUT', `${to}: iperf3 server did not listen: ${(await server).stderr}`);
    const args = [
      'iperf3',
      '-c',
      this.overlayIp(to),
      '-p',
      String(port),
      '-t',
      String(seconds),
      '-P',
      String(opts.parallel ?? 1),
      '-J',
    ];
    if (opts.reverse) args.push('-R');
    const client = await this.exec(from, args, { timeoutMs: (seconds + 20) * 1000 });
    await server;
    let json: {
      end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } };
      error?: string;
    };
    try {
      json = JSON.parse(client.stdout);
    } catch {
      throw new E2eError(
        'ERR_E2E_COMMAND_FAILED',
        `iperf3 ${from}->${to}: ${client.stderr || client.stdout}`,
      );
    }
    if (json.error || !json.end?.sum_received)
      throw new E2eError('ERR_E2E_COMMAND_FAILED', `iperf3 ${from}->${to}: ${json.error ?? 'no result'}`);
    return {
      mbps: (json.end.sum_received.bits_per_second ?? 0) / 1e6,
      retransmits: json.end.sum_sent?.retransmits ?? 0,
      json,
    };
  }

  /** Drops `percent`% of packets arriving on the host's underlay interface (nftables). 0 removes it. */
  async dropPercent(host: string, percent: number): Promise<void> {
    if (!Number.isInteger(percent) || percent < 0 || percent > 100)
      throw new E2eError('ERR_E2E_BAD_ARGUMENT', `percent must be an integer 0..100, got ${percent}`);
    await this.exec(host, ['nft', 'delete', 'table', 'inet', 'nebula_e2e_loss'], { timeoutMs: 5000 });
    if (percent === 0) return;
    const ruleset = `table inet nebula_e2e_loss {
  chain input {
    type filter hook input priority -10; policy accept;
    iifname "eth0" ${percent === 100 ? '' : `numgen random mod 100 < ${percent} `}drop
  }
}
`;
    const r = await this.exec(host, ['nft', '-f', '-'], { timeoutMs: 5000, input: ruleset });
    if (r.code !== 0) throw new E2eError('ERR_E2E_COMMAND_FAILED', `nft on ${host}: ${r.stderr.trim()}`);
  }

  // -------------------------------------------------------------- teardown --

  /** Stops every process we started (by PID), deletes our namespaces and temp dir. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.nodes.keys()].map((h) => this.stop(h).catch(() => undefined)));
    for (const ns of this.namespaces()) await run('ip', ['netns', 'del', ns], { timeoutMs: 10_000 });
    if (!this.keepDir) rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  /** The exit-hook variant: synchronous, SIGKILL only. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const node of this.nodes.values())
      if (!node.exit) for (const pid of processTree(node.wrapperPid)) signalPid(pid, 'SIGKILL');
    for (const ns of this.namespaces()) runSync('ip', ['netns', 'del', ns]);
    if (!this.keepDir) rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }

  // ------------------------------------------------------------- internals --

  private namespaces(): string[] {
    return [...this.hosts.map((h) => `${this.base}-${h}`), `${this.base}-br`];
  }

  private index(host: string): number {
    const i = this.hostIndex.get(host);
    if (i === undefined)
      throw new E2eError(
        'ERR_E2E_BAD_ARGUMENT',
        `unknown host ${JSON.stringify(host)} (have ${this.hosts.join(', ')})`,
      );
    return i;
  }

  private check(host: string): void {
    this.index(host);
  }

  private assertUsable(): void {
    if (this.destroyed) throw new E2eError('ERR_E2E_DESTROYED', 'testnet already destroyed');
  }

  private async must(cmd: string, args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
    const r = await run(cmd, args, { timeoutMs });
    if (r.code !== 0)
      throw new E2eError(
        'ERR_E2E_COMMAND_FAILED',
        `${cmd} ${args.join(' ')} -> ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`,
      );
    return r;
  }

  private async build(): Promise<void> {
    const br = `${this.base}-br`;
    await this.must('ip', ['netns', 'add', br]);
    await this.must('ip', ['-n', br, 'link', 'set', 'lo', 'up']);
    await this.must('ip', [
      '-n',
      br,
      'link',
      'add',
      'br0',
      'type',
      'bridge',
      'stp_state',
      '0',
      'forward_delay',
      '0',
    ]);
    await this.must('ip', ['-n', br, 'link', 'set', 'br0', 'up']);
    for (const h of this.hosts) {
      const ns = this.ns(h);
      mkdirSync(this.hostDir(h), { recursive: true });
      await this.must('ip', ['netns', 'add', ns]);
      // IPv6 off: no DAD/RS noise on the underlay, and Nebula here is IPv4 only.
      await this.must('ip', [
        'netns',
        'exec',
        ns,
        'sysctl',
        '-qw',
        'net.ipv6.conf.all.disable_ipv6=1',
        'net.ipv6.conf.default.disable_ipv6=1',
      ]);
      await this.must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      await this.must('ip', [
        '-n',
        ns,
        'link',
        'add',
        'eth0',
        'type',
        'veth',
        'peer',
        'name',
        `v-${h}`,
        'netns',
        br,
      ]);
      await this.must('ip', ['-n', br, 'link', 'set', `v-${h}`, 'master', 'br0', 'up']);
      await this.must('ip', ['-n', ns, 'addr', 'add', `${this.underlayIp(h)}/24`, 'dev', 'eth0']);
      await this.must('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    }
    // Underlay sanity: the first host reaches every other one (bridge ports take a moment).
    const [first, ...rest] = this.hosts;
    for (const h of rest) {
      const r = await this.ping(first as string, h, { underlay: true, count: 1, timeoutMs: 10_000 });
      if (r.received < 1) throw new E2eError('ERR_E2E_SETUP', `underlay: ${first} cannot reach ${h}`);
    }
  }
}

/** Removes namespaces left by dead processes with our prefix (a crashed run that skipped cleanup). */
async function sweepStale(prefix: string): Promise<void> {
  const r = await run('ip', ['netns', 'list'], { timeoutMs: 5000 });
  const re = new RegExp(`^(${prefix}(\\d+)-\\d+-[a-z][a-z0-9]*)(\\s|$)`);
  for (const line of r.stdout.split('\n')) {
    const m = re.exec(line.trim());
    if (!m) continue;
    const pid = Number(m[2]);
    if (alive(pid)) continue;
    const pids = await run('ip', ['netns', 'pids', m[1] as string], { timeoutMs: 5000 });
    if (pids.stdout.trim() !== '') continue;
    await run('ip', ['netns', 'del', m[1] as string], { timeoutMs: 5000 });
  }
}

function tail(text: string, lines: number): string {
  return text
    .split('\n')
    .slice(-lines - 1)
    .join('\n');
}
