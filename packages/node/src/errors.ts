/** Errors of `@nebula-ts/node`, with stable `ERR_*` codes (checked structurally by `isNodeError`). */

export type NodeErrorCode =
  | 'ERR_NODE_CONFIG'
  | 'ERR_NODE_PKI'
  | 'ERR_NODE_STATE'
  | 'ERR_NODE_TUN'
  | 'ERR_NODE_UDP'
  | 'ERR_NODE_WORKER'
  | 'ERR_NODE_WARMUP'
  | 'ERR_NODE_RELOAD';

export class NodeError extends Error {
  static override readonly name = 'NodeError';
  override readonly name = 'NodeError';
  constructor(
    readonly code: NodeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isNodeError(e: unknown): e is NodeError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    (e as { code: string }).code.startsWith('ERR_NODE_')
  );
}
