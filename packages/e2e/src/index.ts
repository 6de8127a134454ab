/**
 * @packageDocumentation
 * The project's own network-namespace harness for e2e and interop tests: builds a bridge and one
 * namespace per host, makes a PKI, runs Go Nebula 1.6.1 or our node in each, and probes the
 * overlay (ping, TCP sha256 transfer, iperf3, nftables loss).
 *
 * @example
 * const net = await Testnet.create({ prefix: 'nt', hosts: ['lh', 'a', 'b'] });
 * try {
 *   await net.makePki({ tool: 'go' });
 *   for (const h of net.hosts) net.writeConfig(h, net.baseConfig(h));
 *   for (const h of net.hosts) await net.start(h, { impl: 'go' });
 *   const r = await net.ping('a', 'b', { count: 3, timeoutMs: 10_000 });
 * } finally {
 *   await net.destroy();
 * }
 */
export { E2eError, type E2eErrorCode, isE2eError } from './errors.js';
export type { RunResult } from './internal/run.js';
export { TCP_TRANSFER_SCRIPT } from './internal/tcp-transfer-script.js';
export * from './probe/index.js';
export { requireBinary, requireGoNebula, requireRoot } from './require.js';
export {
  type BaseConfigOptions,
  type Impl,
  NEBULA_PORT,
  type NodeExit,
  OVERLAY_PREFIX,
  type PingResult,
  type Pki,
  type PkiOptions,
  REPO_ROOT,
  type StartOptions,
  Testnet,
  type TestnetOptions,
  TS_NEBULA_CERT_JS,
  TS_NEBULA_JS,
  UNDERLAY_PREFIX,
} from './testnet.js';
