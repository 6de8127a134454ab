/**
 * The subset of `@nebula-ts/config`'s `NebulaConfig` the node reads, declared structurally so a
 * `NebulaConfig` is accepted as is (keys verbatim, durations in ms, as config/src/types.ts).
 */

export interface NodeCidr {
  readonly addr: number;
  readonly mask: number;
  readonly bits: number;
  readonly text: string;
}

export interface NodeHostPort {
  readonly host: string;
  readonly port: number;
}

export interface NodeConfig {
  readonly pki: {
    readonly ca: string;
    readonly cert: string;
    readonly key: string;
    readonly blocklist: readonly string[];
    readonly disconnect_invalid: boolean;
  };
  readonly static_host_map: ReadonlyMap<string, readonly NodeHostPort[]>;
  readonly lighthouse: {
    readonly am_lighthouse: boolean;
    /** Only honoured with am_lighthouse (lighthouse.md §10); optional for library callers. */
    readonly serve_dns?: boolean;
    /** `lighthouse.dns.host` "" (all) : `lighthouse.dns.port` 53. */
    readonly dns?: { readonly host: string; readonly port: number };
    readonly interval: number;
    readonly hosts: readonly string[];
    readonly advertise_addrs: readonly NodeHostPort[];
    readonly remote_allow_list?: unknown;
    readonly remote_allow_ranges?: unknown;
    readonly local_allow_list?: unknown;
  };
  readonly listen: {
    readonly host: string;
    readonly port: number;
    readonly batch: number;
    readonly read_buffer: number;
    readonly write_buffer: number;
    readonly send_recv_error: 'always' | 'never' | 'private';
  };
  readonly routines: number;
  readonly cipher: 'aes' | 'chachapoly';
  readonly preferred_ranges: readonly NodeCidr[];
  readonly punchy: { readonly punch: boolean; readonly respond: boolean; readonly delay: number };
  readonly relay?: {
    readonly am_relay: boolean;
    readonly use_relays: boolean;
    readonly relays: readonly string[];
  };
  readonly tun: {
    readonly disabled: boolean;
    readonly dev: string;
    readonly mtu: number;
    readonly tx_queue: number;
    readonly drop_local_broadcast: boolean;
    readonly drop_multicast: boolean;
    /** TCP segmentation offload on the tun (ours, not 1.6.1's); absent = true. */
    readonly tso?: boolean;
    readonly routes: ReadonlyArray<{ readonly route: NodeCidr; readonly mtu: number }>;
    readonly unsafe_routes: ReadonlyArray<{
      readonly route: NodeCidr;
      readonly via: string;
      readonly mtu: number;
      readonly metric: number;
    }>;
  };
  readonly handshakes: {
    readonly try_interval: number;
    readonly retries: number;
    readonly trigger_buffer: number;
  };
  readonly timers: { readonly connection_alive_interval: number; readonly pending_deletion_interval: number };
  readonly firewall: {
    readonly conntrack: {
      readonly tcp_timeout: number;
      readonly udp_timeout: number;
      readonly default_timeout: number;
      readonly routine_cache_timeout: number;
    };
    readonly outbound: readonly unknown[];
    readonly inbound: readonly unknown[];
  };
  readonly stats?: {
    readonly message_metrics: boolean;
    readonly lighthouse_metrics: boolean;
    readonly namespace: string;
    readonly subsystem: string;
  };
}
