/**
 * The one place that knows how to construct the data plane: `@nebula-ts/node`'s `NebulaNode`
 * (contract in docs/contracts.md). Imported lazily so `-test`, `-version` and `-help` never load
 * the native tun/udp/aead addons; a failed load is a clear startup error.
 */
import type { LoadedConfig } from '@nebula-ts/config';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { CliError } from './errors.js';

export interface NodeHandle {
  start(): Promise<void>;
  stop(): Promise<void>;
  reload(loaded: LoadedConfig): Promise<void>;
}

type NodeCtor = new (opts: {
  config: LoadedConfig['config'];
  raw: LoadedConfig['raw'];
  logger: Logger;
  registry?: Registry;
}) => NodeHandle;

const NODE_PACKAGE = '@nebula-ts/node';

export async function createNode(
  loaded: LoadedConfig,
  logger: Logger,
  registry: Registry,
): Promise<NodeHandle> {
  let mod: { NebulaNode?: unknown };
  try {
    mod = (await import(NODE_PACKAGE)) as { NebulaNode?: unknown };
  } catch (e) {
    throw new CliError('ERR_NODE_UNAVAILABLE', `cannot load ${NODE_PACKAGE}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (typeof mod.NebulaNode !== 'function') {
    throw new CliError('ERR_NODE_UNAVAILABLE', `${NODE_PACKAGE} does not export NebulaNode (is it built?)`);
  }
  const NebulaNode = mod.NebulaNode as NodeCtor;
  return new NebulaNode({ config: loaded.config, raw: loaded.raw, logger, registry });
}
