/** Errors of the `nebula` command. `code` is stable; the message is what an operator sees. */
export type CliErrorCode =
  | 'ERR_CLI_USAGE'
  | 'ERR_CLI_PKI'
  | 'ERR_CLI_FIREWALL'
  | 'ERR_CLI_CONFIG'
  | 'ERR_CLI_STATS'
  | 'ERR_NODE_UNAVAILABLE';

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: CliErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isCliError(e: unknown): e is CliError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    ((e as { code: string }).code.startsWith('ERR_CLI_') ||
      (e as { code: string }).code === 'ERR_NODE_UNAVAILABLE')
  );
}
