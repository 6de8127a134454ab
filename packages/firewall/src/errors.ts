/** Errors of `@nebula-ts/firewall`. Codes are stable; messages follow Go Nebula 1.6.1 where it has one. */

export type FirewallErrorCode =
  | 'ERR_FIREWALL_RULES_NOT_LIST'
  | 'ERR_FIREWALL_RULE_NOT_MAP'
  | 'ERR_FIREWALL_PORT_AND_CODE'
  | 'ERR_FIREWALL_NO_SELECTOR'
  | 'ERR_FIREWALL_GROUP_AND_GROUPS'
  | 'ERR_FIREWALL_GROUP_ARRAY'
  | 'ERR_FIREWALL_BAD_PORT'
  | 'ERR_FIREWALL_BAD_PROTO'
  | 'ERR_FIREWALL_BAD_CIDR'
  | 'ERR_FIREWALL_PORT_ORDER'
  | 'ERR_CONNTRACK_BAD_BUFFER'
  | 'ERR_CONNTRACK_BAD_OPTION';

/** A bad `firewall` config value. `path` is e.g. `firewall.inbound[2].port`; `message` is Go's text. */
export class FirewallConfigError extends Error {
  static override readonly name = 'FirewallConfigError';
  override readonly name = 'FirewallConfigError';
  readonly code: FirewallErrorCode;
  readonly path: string;
  /** Why, without the path prefix (e.g. "port was not a number; `a`"). */
  readonly reason: string;
  constructor(code: FirewallErrorCode, path: string, message: string, reason: string) {
    super(message);
    this.code = code;
    this.path = path;
    this.reason = reason;
  }
}

export class ConntrackError extends Error {
  static override readonly name = 'ConntrackError';
  override readonly name = 'ConntrackError';
  readonly code: FirewallErrorCode;
  constructor(code: FirewallErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export function isFirewallConfigError(e: unknown): e is FirewallConfigError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    (e as { code: string }).code.startsWith('ERR_FIREWALL_') &&
    typeof (e as { path?: unknown }).path === 'string'
  );
}

export function isConntrackError(e: unknown): e is ConntrackError {
  return (
    typeof e === 'object' && e !== null && String((e as { code?: unknown }).code).startsWith('ERR_CONNTRACK_')
  );
}
