/**
 * The typed form of a Nebula 1.6.1 `config.yml`, after defaults are applied. Property names are the
 * YAML keys verbatim (`listen.read_buffer` is `config.listen.read_buffer`) so that an operator's
 * config, Nebula's docs and this type read the same. Durations are in milliseconds, sizes in bytes.
 * Comments give the 1.6.1 default; `R` marks keys applied on SIGHUP.
 */

/** A CIDR parsed to an IPv4 network: `addr` and `mask` as uint32 (big-endian reading). */
export interface Ipv4Cidr {
  readonly addr: number;
  readonly mask: number;
  readonly bits: number;
  /** As written in the config, for logs and error messages. */
  readonly text: string;
}

/** An underlay address: IPv4 or IPv6 text plus port (`198.51.100.1:4242`, `[2001:db8::1]:4242`). */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface PkiConfig {
  /** R. Path or inline PEM (contains `-----BEGIN`); one or more CA certificates. Required. */
  readonly ca: string;
  /** R. Path or inline PEM. Required. */
  readonly cert: string;
  /** R. Path or inline PEM (X25519 private key). Required. */
  readonly key: string;
  /** R. Fingerprints (lowercase hex); `pki.blacklist` is merged in with a deprecation warning. */
  readonly blocklist: readonly string[];
  /** false */
  readonly disconnect_invalid: boolean;
}

/** An allow list: most specific CIDR wins; see lighthouse.md §5. Kept as parsed rules. */
export interface AllowListConfig {
  readonly rules: ReadonlyArray<{ readonly cidr: string; readonly allow: boolean }>;
  /** Only for `local_allow_list`: interface-name regex → allow. */
  readonly interfaces?: ReadonlyArray<{ readonly pattern: string; readonly allow: boolean }>;
}

export interface LighthouseConfig {
  /** false, not reloadable */
  readonly am_lighthouse: boolean;
  /** false, not reloadable */
  readonly serve_dns: boolean;
  /** R. dns.host "" (all), dns.port 53 */
  readonly dns: { readonly host: string; readonly port: number };
  /** R. Seconds between HostUpdateNotifications; 10; 0 = never. */
  readonly interval: number;
  /** R. Lighthouse vpnIps (dotted quads as written). */
  readonly hosts: readonly string[];
  /** R. */
  readonly remote_allow_list?: AllowListConfig;
  /** R. Inside-vpn CIDR → allow list. */
  readonly remote_allow_ranges?: ReadonlyArray<{ readonly vpnCidr: string; readonly list: AllowListConfig }>;
  /** R. */
  readonly local_allow_list?: AllowListConfig;
  /** R. "ip:port"; port 0 = our listen port. */
  readonly advertise_addrs: readonly HostPort[];
}

export type SendRecvError = 'always' | 'never' | 'private';

export interface ListenConfig {
  /** "0.0.0.0" */
  readonly host: string;
  /** 0 = ephemeral (lighthouses must set it) */
  readonly port: number;
  /** 64 */
  readonly batch: number;
  /** R. Bytes; 0 = leave the kernel default. */
  readonly read_buffer: number;
  /** R. Bytes; 0 = leave the kernel default. */
  readonly write_buffer: number;
  /** R. "always" */
  readonly send_recv_error: SendRecvError;
}

export interface PunchyConfig {
  /** false (deprecated top-level `punchy: true` honoured) */
  readonly punch: boolean;
  /** R. false (deprecated `punch_back` honoured) */
  readonly respond: boolean;
  /** R. Milliseconds; 1000 */
  readonly delay: number;
}

export interface RelayConfig {
  /** R. false */
  readonly am_relay: boolean;
  /** true; forced false when am_relay */
  readonly use_relays: boolean;
  /** R. vpnIps */
  readonly relays: readonly string[];
}

export interface TunRoute {
  readonly route: Ipv4Cidr;
  /** >= 500 */
  readonly mtu: number;
}

export interface TunUnsafeRoute {
  readonly route: Ipv4Cidr;
  /** vpnIp of the gateway host */
  readonly via: string;
  /** 0 = the tun MTU; otherwise >= 500 */
  readonly mtu: number;
  /** 0 = none; 0..2^31-1 */
  readonly metric: number;
}

export interface TunConfig {
  /** false */
  readonly disabled: boolean;
  /** "" = the kernel picks tunN */
  readonly dev: string;
  /** 1300 */
  readonly mtu: number;
  /** 500 */
  readonly tx_queue: number;
  /** false */
  readonly drop_local_broadcast: boolean;
  /** false */
  readonly drop_multicast: boolean;
  /**
   * true. Not a 1.6.1 key (1.6.1 ignores it): TCP segmentation offload on the tun device, with
   * segmentation and merging done by the node (see @nebula-ts/tun-linux `tso`). Falls back to a
   * plain device when the kernel lacks it.
   */
  readonly tso: boolean;
  readonly routes: readonly TunRoute[];
  readonly unsafe_routes: readonly TunUnsafeRoute[];
}

export interface HandshakesConfig {
  /** Milliseconds; 100 */
  readonly try_interval: number;
  /** 10 */
  readonly retries: number;
  /** 64 */
  readonly trigger_buffer: number;
}

export interface TimersConfig {
  /** Seconds; 5 */
  readonly connection_alive_interval: number;
  /** Seconds; 10 */
  readonly pending_deletion_interval: number;
}

export interface ConntrackConfig {
  /** Milliseconds; 12 min */
  readonly tcp_timeout: number;
  /** Milliseconds; 3 min */
  readonly udp_timeout: number;
  /** Milliseconds; 10 min */
  readonly default_timeout: number;
  /** Milliseconds; 0 with one routine, 1000 with more when unset; an explicit value wins. */
  readonly routine_cache_timeout: number;
}

export interface FirewallConfig {
  readonly conntrack: ConntrackConfig;
  /** Raw rule maps as written; `@nebula-ts/firewall` parses them and names bad ones by path. */
  readonly outbound: readonly unknown[];
  readonly inbound: readonly unknown[];
}

export type LogLevel = 'panic' | 'fatal' | 'error' | 'warning' | 'info' | 'debug' | 'trace';

export interface LoggingConfig {
  /** R. "info" */
  readonly level: LogLevel;
  /** R. "text" */
  readonly format: 'text' | 'json';
  /** R. false */
  readonly disable_timestamp: boolean;
  /** R. "" = RFC3339 */
  readonly timestamp_format: string;
}

export interface StatsConfig {
  /** "" = off */
  readonly type: '' | 'none' | 'prometheus' | 'graphite';
  /** Milliseconds; required when type is set */
  readonly interval: number;
  readonly prefix: string;
  readonly protocol: string;
  readonly host: string;
  /** prometheus: "host:port" */
  readonly listen: string;
  /** prometheus: e.g. "/metrics" */
  readonly path: string;
  readonly namespace: string;
  readonly subsystem: string;
  readonly message_metrics: boolean;
  readonly lighthouse_metrics: boolean;
}

export interface SshdConfig {
  readonly enabled: boolean;
  readonly listen: string;
  readonly host_key: string;
  /** `keys` may be written as one string or a list; always a list here. */
  readonly authorized_users: ReadonlyArray<{ readonly user: string; readonly keys: readonly string[] }>;
}

export type Cipher = 'aes' | 'chachapoly';

export interface NebulaConfig {
  readonly pki: PkiConfig;
  /** R. vpnIp (dotted quad) → underlay addresses, as written (DNS names resolved at (re)load). */
  readonly static_host_map: ReadonlyMap<string, readonly HostPort[]>;
  readonly lighthouse: LighthouseConfig;
  readonly listen: ListenConfig;
  /** The effective routine count: `routines`, else max(`tun.routines`, `listen.routines`); >= 1. */
  readonly routines: number;
  /** "aes" */
  readonly cipher: Cipher;
  /** Includes the deprecated `local_range`. */
  readonly preferred_ranges: readonly Ipv4Cidr[];
  readonly punchy: PunchyConfig;
  readonly relay: RelayConfig;
  readonly tun: TunConfig;
  readonly handshakes: HandshakesConfig;
  readonly timers: TimersConfig;
  readonly firewall: FirewallConfig;
  readonly logging: LoggingConfig;
  readonly stats: StatsConfig;
  readonly sshd: SshdConfig;
}

/** A warning found while reading the config (deprecated keys and the like), to be logged by the caller. */
export interface ConfigWarning {
  readonly path: string;
  readonly message: string;
}
