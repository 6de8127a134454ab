/**
 * @packageDocumentation
 * Nebula 1.6.1 lighthouse for nebula-ts: the `NebulaMeta` codec, the address cache
 * (`RemoteList`), allow lists, the lighthouse server/client with its per-loop request handler
 * (seed g), Nebula-named metrics (seed e) and the lighthouse DNS server.
 */

export {
  ADDR_WORDS,
  formatIp4,
  formatIp6,
  isPrivateV4,
  parseIp4,
  parseIp6,
  parseIpInto,
  parseUdpAddr,
  splitHostPort,
  UdpAddr,
} from './addr.js';
export {
  AllowList,
  LocalAllowList,
  parseAllowList,
  parseLocalAllowList,
  parseRemoteAllowList,
  RemoteAllowList,
} from './allow-list.js';
export { type Cidr, CidrSet, cidrContains, EMPTY_CIDR_SET, parseCidr } from './cidr.js';
export {
  buildDnsReject,
  buildDnsResponse,
  certTxt,
  DNS_TYPE_A,
  DNS_TYPE_TXT,
  type DnsAnswer,
  type DnsCertDetails,
  type DnsHandlerOptions,
  type DnsParseResult,
  type DnsQuery,
  type DnsQuestion,
  DnsRecords,
  dnsListenFromRaw,
  handleDnsMessage,
  LighthouseDnsServer,
  parseDnsQuery,
} from './dns.js';
export { isLighthouseError, LighthouseError, type LighthouseErrorCode } from './errors.js';
export {
  LightHouse,
  LightHouseHandler,
  type LightHouseOptions,
  type LighthouseEvent,
  type LighthouseSender,
  MTU,
  realScheduler,
  type Scheduler,
  type TimerHandle,
} from './lighthouse.js';
export {
  decodeMeta,
  decodeMetaInto,
  encodeMeta,
  Ip4AndPort,
  Ip6AndPort,
  type MetaJSON,
  MetaType,
  type MetaTypeValue,
  metaSize,
  metaToJSON,
  metaTypeName,
  NebulaMeta,
  NebulaMetaDetails,
} from './meta.js';
export {
  createNebulaMetrics,
  LighthouseMetrics,
  MessageMetrics,
  type NebulaCounter,
  type NebulaGauge,
  type NebulaMetrics,
  type NebulaMetricsOptions,
  NOOP_COUNTER,
  NOOP_LIGHTHOUSE_METRICS,
  promMetricName,
} from './metrics.js';
export {
  type AddrCheck,
  type CacheDump,
  coalesceInto,
  MAX_REMOTES,
  OwnerCache,
  RemoteList,
} from './remote-list.js';
