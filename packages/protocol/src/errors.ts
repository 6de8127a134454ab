/** Error codes thrown by @nebula-ts/protocol. Stable: callers and logs match on `code`. */
export type ProtocolErrorCode =
  /** A protobuf field or the message itself ends before its declared length. */
  | 'ERR_PROTO_TRUNCATED'
  /** A varint longer than 10 bytes, or a length that cannot be a byte count. */
  | 'ERR_PROTO_VARINT'
  /** A known field arrived with the wrong wire type, or an illegal wire type / tag 0 / unbalanced group. */
  | 'ERR_PROTO_WIRE_TYPE'
  /** NebulaHandshake without Details (Go aborts the handshake on this). */
  | 'ERR_HANDSHAKE_NO_DETAILS'
  /** A Noise message shorter than the pattern requires. */
  | 'ERR_NOISE_SHORT_MESSAGE'
  /** AEAD authentication failed while reading a Noise message. */
  | 'ERR_NOISE_DECRYPT'
  /** writeMessage/readMessage/split called out of turn. */
  | 'ERR_NOISE_STATE'
  /** X25519 produced the all-zero output (low-order peer point). */
  | 'ERR_NOISE_DH'
  /** A caller-supplied argument has the wrong size or range. */
  | 'ERR_INVALID_ARGUMENT';

/** Base of every error this package throws; `code` is the stable part. */
export class NebulaError extends Error {
  static override readonly name: string = 'NebulaError';
  override readonly name: string = 'NebulaError';
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export class ProtocolError extends NebulaError {
  static override readonly name = 'ProtocolError';
  override readonly name = 'ProtocolError';
  declare readonly code: ProtocolErrorCode;
  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

const CODES: ReadonlySet<string> = new Set<ProtocolErrorCode>([
  'ERR_PROTO_TRUNCATED',
  'ERR_PROTO_VARINT',
  'ERR_PROTO_WIRE_TYPE',
  'ERR_HANDSHAKE_NO_DETAILS',
  'ERR_NOISE_SHORT_MESSAGE',
  'ERR_NOISE_DECRYPT',
  'ERR_NOISE_STATE',
  'ERR_NOISE_DH',
  'ERR_INVALID_ARGUMENT',
]);

/** Structural guard: survives duplicate copies of this package (no `instanceof`). */
export function isProtocolError(e: unknown): e is ProtocolError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    CODES.has((e as { code: string }).code)
  );
}
