/**
 * `nebula`: Go Nebula 1.6.1's command line (cmd/nebula/main.go) on top of our packages.
 *   nebula -config <file|dir>         run the node; SIGHUP reloads, SIGINT/SIGTERM stop it
 *   nebula -config <file|dir> -test   load and validate everything, print the merged config
 *   nebula -version | -help
 */
import { readFileSync } from 'node:fs';
import { isConfigError, type LoadedConfig, loadConfig, renderConfigYaml } from '@nebula-ts/config';
import { type FirewallRules, isFirewallConfigError, parseFirewallConfig } from '@nebula-ts/firewall';
import { idleHelperThreads } from '@nebula-ts/native-common';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { CliError, isCliError } from '../errors.js';
import { createNode, type NodeHandle } from '../run-node.js';
import { parseNebulaArgs, USAGE } from './args.js';
import { createNebulaLogger, type LogSink, type NebulaLogger } from './logger.js';
import { checkOverlayAddresses, type LoadedPki, loadPki } from './pki.js';
import { type StatsExporter, startStats } from './stats.js';

/** The Go release we are wire-compatible with. */
export const NEBULA_COMPAT_VERSION = '1.6.1';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * `1.6.1+nebula-ts.<our version>`: semver build metadata, so tools that compare versions see the
 * 1.6.1 we interoperate with, and a person sees which implementation answered.
 */
export const VERSION = `${NEBULA_COMPAT_VERSION}+nebula-ts.${packageVersion()}`;

export interface MainIo {
  readonly stdout: LogSink;
  readonly stderr: LogSink;
  /** Signal source; `process` in the binary. Tests pass an EventEmitter. */
  readonly signals?: Pick<NodeJS.Process, 'on' | 'off'>;
  /** Replaces `createNode` (tests, demos). */
  readonly createNode?: typeof createNode;
  /**
   * `'idle'` (the binary): V8's and libuv's helper threads go to SCHED_IDLE before the node starts
   * its routine threads, so JIT and GC work never delays a packet. Unset: left alone (tests run
   * `main` inside the test runner's process).
   */
  readonly helperThreads?: 'idle';
}

/** Everything `-test` checks; startup runs the same before the node is built. */
export interface Validated {
  readonly pki: LoadedPki;
  readonly firewall: FirewallRules;
}

/**
 * Checks config, PKI and firewall. `report` logs what -test shows (blocklist, firewall hash); in run
 * mode the node logs those itself as it applies them, so the CLI stays quiet to avoid doubles.
 */
export async function validate(loaded: LoadedConfig, logger: Logger, report = true): Promise<Validated> {
  for (const w of loaded.warnings) logger.warn(w.path ? { key: w.path } : {}, w.message);
  const pki = await loadPki(loaded.config.pki);
  if (report) {
    for (const ca of pki.expiredCas) logger.warn({ cert: ca.name }, 'expired certificate present in CA pool');
    for (const fp of loaded.config.pki.blocklist) logger.info({ fingerprint: fp }, 'Blocklisting cert');
  }
  checkOverlayAddresses(loaded.config, pki.cert);
  let firewall: FirewallRules;
  try {
    firewall = parseFirewallConfig(loaded.raw.firewall ?? {}, 'firewall');
  } catch (e) {
    if (isFirewallConfigError(e)) throw new CliError('ERR_CLI_FIREWALL', (e as Error).message, { cause: e });
    throw e;
  }
  if (report) {
    for (const w of firewall.warnings) logger.warn(w);
    logger.info({ firewallHash: firewall.hash }, 'Firewall started');
  }
  if (loaded.config.sshd.enabled)
    logger.warn('sshd is not implemented by nebula-ts; sshd.enabled is ignored');
  return { pki, firewall };
}

/** Runs the command; resolves with the exit code (after the node stopped, in run mode). */
export async function main(
  argv: readonly string[],
  io: MainIo = { stdout: process.stdout, stderr: process.stderr, helperThreads: 'idle' },
): Promise<number> {
  const parsed = parseNebulaArgs(argv);
  if (!parsed.ok) {
    if (parsed.error) io.stderr.write(`${parsed.error}\n`);
    io.stderr.write(USAGE);
    return parsed.exitCode;
  }
  const args = parsed.args;
  if (args.version) {
    io.stdout.write(`Version: ${VERSION}\n`);
    return 0;
  }
  if (args.help) {
    io.stderr.write(USAGE);
    return 0;
  }
  if (args.config === '') {
    io.stdout.write('-config flag must be set\n');
    io.stderr.write(USAGE);
    return 1;
  }

  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig(args.config);
  } catch (e) {
    if (!isConfigError(e)) throw e;
    const code = (e as { code: string }).code;
    if (code === 'ERR_CONFIG_NOT_FOUND' || code === 'ERR_CONFIG_READ' || code === 'ERR_CONFIG_YAML') {
      io.stdout.write(`failed to load config: ${(e as Error).message}\n`);
    } else {
      // A value failed validation: 1.6.1 reports those through the logger as it starts.
      createNebulaLogger(io.stdout).logger.error({ error: (e as Error).message }, 'Failed to start');
    }
    return 1;
  }

  const log = createNebulaLogger(io.stdout);
  const { logger } = log;
  // As 1.6.1: the merged config is printed before logging.* is applied.
  if (args.test) logger.info(renderConfigYaml(loaded.raw));
  log.apply(loaded.config.logging);

  try {
    await validate(loaded, logger, args.test);
  } catch (e) {
    if (!isCliError(e)) throw e;
    const msg =
      (e as CliError).code === 'ERR_CLI_FIREWALL' ? 'Error while loading firewall rules' : 'Failed to start';
    logger.error({ error: (e as Error).message }, msg);
    return 1;
  }
  if (args.test) return 0;
  return run(args.config, loaded, log, io);
}

/**
 * Before any routine worker exists: those must keep the normal policy. Never fatal: without
 * /proc or the syscall, the node runs as before, only with a warning.
 */
function idleHelpers(logger: Logger): void {
  let r: ReturnType<typeof idleHelperThreads>;
  try {
    r = idleHelperThreads();
  } catch (e) {
    logger.warn({ err: (e as Error).message }, 'Could not list the helper threads to set them to SCHED_IDLE');
    return;
  }
  const refused = r.failed[0];
  if (refused !== undefined)
    logger.warn(
      { err: refused.error.sysCode ?? refused.error.message, threads: r.failed.length },
      'Could not set V8 and libuv helper threads to SCHED_IDLE; compiler and GC work may delay packets',
    );
  else logger.debug({ threads: r.idled.length }, 'V8 and libuv helper threads set to SCHED_IDLE');
}

async function run(
  configPath: string,
  initial: LoadedConfig,
  log: NebulaLogger,
  io: MainIo,
): Promise<number> {
  const { logger } = log;
  const signals = io.signals ?? process;
  const registry = new Registry();
  let stats: StatsExporter | undefined;
  let node: NodeHandle;
  try {
    stats = await startStats(initial.config.stats, registry, logger, VERSION);
    if (io.helperThreads === 'idle') idleHelpers(logger);
    node = await (io.createNode ?? createNode)(initial, logger, registry);
    await node.start();
  } catch (e) {
    logger.error({ error: (e as Error).message }, 'Failed to start');
    await stats?.close();
    return 1;
  }

  let reloading: Promise<void> = Promise.resolve();
  const reload = async (): Promise<void> => {
    logger.info('Caught HUP, reloading config');
    let next: LoadedConfig;
    try {
      next = await loadConfig(configPath);
      await validate(next, logger, false);
    } catch (e) {
      // The running config stays in force, as in 1.6.1 when the new one fails to load.
      logger.error(
        { config_path: configPath, error: (e as Error).message },
        'Error occurred while reloading config',
      );
      return;
    }
    log.apply(next.config.logging);
    try {
      await node.reload(next);
    } catch (e) {
      logger.error(
        { config_path: configPath, error: (e as Error).message },
        'Error occurred while reloading config',
      );
    }
  };
  // Reloads run one after another: a second HUP during a reload waits for the first.
  const onHup = (): void => {
    reloading = reloading.then(reload, reload);
  };

  return new Promise<number>((resolve) => {
    let stopping = false;
    const onStop = (sig: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal: sig }, 'Caught second signal while shutting down, exiting now');
        resolve(1);
        return;
      }
      stopping = true;
      logger.info({ signal: sig }, 'Caught signal, shutting down');
      void (async () => {
        let code = 0;
        try {
          await reloading;
          await node.stop();
        } catch (e) {
          logger.error({ error: (e as Error).message }, 'Error while stopping');
          code = 1;
        }
        await stats?.close();
        signals.off('SIGHUP', onHup);
        signals.off('SIGINT', onStop);
        signals.off('SIGTERM', onStop);
        logger.info('Goodbye');
        resolve(code);
      })();
    };
    signals.on('SIGHUP', onHup);
    signals.on('SIGINT', onStop);
    signals.on('SIGTERM', onStop);
  });
}
