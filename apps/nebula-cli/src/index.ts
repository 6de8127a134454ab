/**
 * @packageDocumentation
 * The `nebula` and `nebula-cert` commands. The `nebula` pieces are exported for tests and for
 * embedding: Go-style flag parsing, the logrus-format logger, PKI checks, the stats exporters.
 */
export { type NebulaArgs, type ParseResult, parseNebulaArgs, USAGE } from './cli/args.js';
export { compileGoLayout, RFC3339 } from './cli/go-time.js';
export { createNebulaLogger, LogrusDestination, type LogSink, type NebulaLogger } from './cli/logger.js';
export { type MainIo, main, NEBULA_COMPAT_VERSION, type Validated, VERSION, validate } from './cli/main.js';
export { checkOverlayAddresses, type LoadedPki, loadPki } from './cli/pki.js';
export { promName, type StatsExporter, startStats } from './cli/stats.js';
export { CliError, type CliErrorCode, isCliError } from './errors.js';
export { createNode, type NodeHandle } from './run-node.js';
