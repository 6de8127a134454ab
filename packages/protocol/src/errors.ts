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

/** `code` is the stable part; match on it (the guard below), not on the class. */
export class ProtocolError extends Error {
  static override readonly name = 'ProtocolError';
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;
  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
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
