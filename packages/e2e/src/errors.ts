/** Errors raised by the harness. `code` is stable so tests can match on it. */
export type E2eErrorCode =
  | 'ERR_E2E_SETUP'
  | 'ERR_E2E_TIMEOUT'
  | 'ERR_E2E_PROCESS_EXITED'
  | 'ERR_E2E_COMMAND_FAILED'
  | 'ERR_E2E_BAD_ARGUMENT'
  | 'ERR_E2E_DESTROYED';

export class E2eError extends Error {
  override readonly name = 'E2eError';
  constructor(
    readonly code: E2eErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isE2eError(e: unknown): e is E2eError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    (e as { code: string }).code.startsWith('ERR_E2E_')
  );
}
