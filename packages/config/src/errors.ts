/** Errors raised while loading or validating a config. `code` is stable; `path` names the key. */
export type ConfigErrorCode =
  | 'ERR_CONFIG_NOT_FOUND'
  | 'ERR_CONFIG_READ'
  | 'ERR_CONFIG_YAML'
  | 'ERR_CONFIG_INVALID'
  | 'ERR_CONFIG_REQUIRED';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /**
   * @param path dotted key path (`listen.port`, `tun.routes[1].mtu`); `''` for file-level errors.
   * @param reason why, without the path.
   */
  constructor(
    readonly code: ConfigErrorCode,
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(path ? `${path}: ${reason}` : reason, options);
  }
}

export function isConfigError(e: unknown): e is ConfigError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    (e as { code: string }).code.startsWith('ERR_CONFIG_') &&
    typeof (e as { path?: unknown }).path === 'string'
  );
}
