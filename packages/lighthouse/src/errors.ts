/** Error codes thrown by @nebula-ts/lighthouse. Stable: callers and logs match on `code`. */
export type LighthouseErrorCode =
  /** A NebulaMeta payload that is not a valid protobuf (truncated, bad varint, bad wire type). */
  | 'ERR_META_DECODE'
  /** Encoding would not fit in the output buffer. */
  | 'ERR_META_ENCODE_OVERFLOW'
  /** An allow list / allow range / interface rule in the config is invalid; `path` names the key. */
  | 'ERR_ALLOW_LIST'
  /** A lighthouse, static_host_map, advertise_addrs, relay or punchy setting is invalid. */
  | 'ERR_LIGHTHOUSE_CONFIG'
  /** A DNS message that cannot be parsed. */
  | 'ERR_DNS_DECODE'
  /** A caller-supplied argument has the wrong size or range. */
  | 'ERR_INVALID_ARGUMENT';

/** `code` is the stable part; match on it (the guard below), not on the class. */
export class LighthouseError extends Error {
  static override readonly name = 'LighthouseError';
  override readonly name = 'LighthouseError';
  readonly code: LighthouseErrorCode;
  /** Config path the error is about (`lighthouse.remote_allow_list`, `static_host_map`...), if any. */
  readonly path: string | undefined;
  constructor(code: LighthouseErrorCode, message: string, options?: { cause?: unknown; path?: string }) {
    super(message, options);
    this.code = code;
    this.path = options?.path;
  }
}

const CODES = new Set<string>([
  'ERR_META_DECODE',
  'ERR_META_ENCODE_OVERFLOW',
  'ERR_ALLOW_LIST',
  'ERR_LIGHTHOUSE_CONFIG',
  'ERR_DNS_DECODE',
  'ERR_INVALID_ARGUMENT',
]);

/** Structural guard (survives duplicate package copies): checks `code`, not `instanceof`. */
export function isLighthouseError(e: unknown): e is LighthouseError {
  return typeof e === 'object' && e !== null && CODES.has((e as { code?: unknown }).code as string);
}
