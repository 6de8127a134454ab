#!/usr/bin/env node
/**
 * Standalone runner for tests and the testbed until the CLI exists: `run.js -config <file>`.
 * Loads the config with @nebula-ts/config, logs JSON (pino) to stdout, runs a NebulaNode until
 * SIGTERM/SIGINT (then closes tunnels, removes the tun and exits 0), reloads on SIGHUP.
 *
 * Environment: NEBULA_TS_AEAD=native|node picks the data-path AEAD.
 */
import { loadConfig, PINO_LEVEL } from '@nebula-ts/config';
import { pino } from 'pino';
import { NebulaNode } from '../node.js';

function argValue(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === `-${name}` || a === `--${name}`) return args[i + 1];
    if (a.startsWith(`-${name}=`) || a.startsWith(`--${name}=`)) return a.slice(a.indexOf('=') + 1);
  }
  return undefined;
}

async function main(): Promise<void> {
  const configPath = argValue(process.argv.slice(2), 'config');
  if (!configPath) {
    process.stderr.write('usage: run.js -config <file>\n');
    process.exit(1);
  }
  const loaded = await loadConfig(configPath);
  const level = PINO_LEVEL[loaded.config.logging.level] ?? 'info';
  const logger = pino(
    { level, base: null, messageKey: 'msg', timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ fd: 1, sync: true }),
  );
  for (const w of loaded.warnings) logger.warn({ path: w.path }, w.message);
  const aead = process.env.NEBULA_TS_AEAD === 'node' ? 'node' : 'native';
  const node = new NebulaNode({ config: loaded.config, raw: loaded.raw, logger, aead });
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'Caught signal, shutting down');
    const hard = setTimeout(() => process.exit(1), 5000);
    hard.unref();
    try {
      await node.stop();
      logger.info('Goodbye');
      process.exit(0);
    } catch (e) {
      logger.error({ err: e }, 'Error while stopping');
      process.exit(1);
    }
  };
  process.on('uncaughtException', (e) => {
    logger.fatal({ err: e.stack ?? String(e) }, 'Uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (e) => {
    logger.fatal({ err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, 'Unhandled rejection');
    process.exit(1);
  });
  process.on('SIGTERM', () => void stop('terminated'));
  process.on('SIGINT', () => void stop('interrupt'));
  process.on('SIGHUP', () => {
    logger.info('Caught HUP, reloading config');
    loadConfig(configPath)
      .then((next) => node.reload({ config: next.config, raw: next.raw }))
      .catch((e: unknown) =>
        logger.error({ err: e instanceof Error ? e.message : String(e) }, 'Failed to reload config'),
      );
  });
  try {
    await node.start();
  } catch (e) {
    logger.fatal({ err: e instanceof Error ? e.message : String(e) }, 'Failed to start');
    process.exit(1);
  }
}

void main();
