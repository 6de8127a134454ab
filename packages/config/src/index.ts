/**
 * @packageDocumentation
 * Nebula 1.6.1 `config.yml` loading: a file or a directory of `.yml`/`.yaml` files deep-merged as
 * 1.6.1 does, YAML 1.1 scalars, Go-style conversions, every 1.6.1 key with its default, and
 * `ConfigError`s that name the offending key path.
 *
 * @example
 * const { config, raw, warnings } = await loadConfig('/etc/nebula/config.yml');
 * config.listen.port;                        // 4242
 * subtreeChanged(raw, next.raw, 'firewall'); // on SIGHUP
 */
export { subtreeChanged } from './changed.js';
export { parseGoDuration } from './duration.js';
export { ConfigError, type ConfigErrorCode, isConfigError } from './errors.js';
export { formatIpv4, parseHostPort, parseIpv4, parseIpv4Cidr } from './internal-ip.js';
export {
  findConfigFiles,
  type LoadedConfig,
  loadConfig,
  mergeConfigs,
  parseYaml,
  parseYamlFile,
  type RawConfig,
} from './load.js';
export { PINO_LEVEL } from './log-level.js';
export { type ParsedConfig, parseConfig, ROUTINES_DEPRECATION } from './parse.js';
export { renderConfigYaml } from './render.js';
export type * from './types.js';
