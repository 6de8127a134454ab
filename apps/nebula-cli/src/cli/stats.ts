/**
 * The `stats` exporters. Prometheus: an HTTP server on `stats.listen` serving the registry at
 * `stats.path` (the registry is the app's; the node's metrics live in it). Graphite: the
 * plaintext protocol to `stats.host` every `stats.interval`. Neither is reloadable (as in 1.6.1).
 */

import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { StatsConfig } from '@nebula-ts/config';
import { parseHostPort } from '@nebula-ts/config';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';
import { CliError } from '../errors.js';

export interface StatsExporter {
  /** Where the prometheus server listens (port resolved), for logs and tests. */
  readonly address?: { host: string; port: number };
  close(): Promise<void>;
}

/** `<namespace>_<subsystem>_<name>` with empty parts left out, as the Go exporter does. */
export function promName(stats: Pick<StatsConfig, 'namespace' | 'subsystem'>, name: string): string {
  return [stats.namespace, stats.subsystem, name].filter((p) => p !== '').join('_');
}

export async function startStats(
  stats: StatsConfig,
  registry: Registry,
  logger: Logger,
  version: string,
): Promise<StatsExporter | undefined> {
  if (stats.type === '' || stats.type === 'none') return undefined;
  collectDefaultMetrics({ register: registry });
  const info = new Gauge({
    name: promName(stats, 'info'),
    help: 'version information',
    labelNames: ['version', 'goversion'],
    registers: [registry],
  });
  // goversion kept for dashboards written against Go Nebula; it carries the Node.js version here.
  info.set({ version, goversion: `node${process.versions.node}` }, 1);
  return stats.type === 'prometheus'
    ? startPrometheus(stats, registry, logger)
    : startGraphite(stats, registry, logger);
}

async function startPrometheus(
  stats: StatsConfig,
  registry: Registry,
  logger: Logger,
): Promise<StatsExporter> {
  const hp = parseHostPort(stats.listen);
  if (typeof hp === 'string') throw new CliError('ERR_CLI_STATS', `stats.listen: ${hp}`);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== stats.path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(new CliError('ERR_CLI_STATS', `stats.listen ${stats.listen}: ${e.message}`, { cause: e })),
    );
    server.listen(hp.port, hp.host === '' ? undefined : hp.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : hp.port;
  logger.info({ bind: `${hp.host}:${port}`, path: stats.path }, 'Prometheus stats listener started');
  return {
    address: { host: hp.host, port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function startGraphite(stats: StatsConfig, registry: Registry, logger: Logger): StatsExporter {
  const hp = parseHostPort(stats.host);
  if (typeof hp === 'string') throw new CliError('ERR_CLI_STATS', `stats.host: ${hp}`);
  const flush = async (): Promise<void> => {
    const now = Math.floor(Date.now() / 1000);
    let body = '';
    for (const metric of await registry.getMetricsAsJSON()) {
      for (const v of metric.values) {
        const labels = Object.values(v.labels ?? {}).map((x) => String(x).replace(/[^A-Za-z0-9_-]/g, '_'));
        body += `${[stats.prefix, metric.name, ...labels].filter((p) => p !== '').join('.')} ${v.value} ${now}\n`;
      }
    }
    if (stats.protocol === 'udp') {
      const sock = createSocket(hp.host.includes(':') ? 'udp6' : 'udp4');
      sock.send(body, hp.port, hp.host, () => sock.close());
      return;
    }
    await new Promise<void>((resolve) => {
      const sock = connect(hp.port, hp.host, () => sock.end(body));
      sock.setTimeout(5000, () => sock.destroy());
      sock.once('close', () => resolve());
      sock.once('error', (e) => logger.warn({ error: e.message }, 'Failed to send graphite metrics'));
    });
  };
  const timer = setInterval(() => void flush(), stats.interval);
  timer.unref();
  logger.info(
    { host: stats.host, protocol: stats.protocol, prefix: stats.prefix },
    'Graphite stats reporter started',
  );
  return {
    close: async () => {
      clearInterval(timer);
    },
  };
}
