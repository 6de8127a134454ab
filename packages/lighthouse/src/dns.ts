/**
 * `lighthouse.serve_dns` (lighthouse.md §10, Go `dns_server.go` 1.6.1 on miekg/dns): a UDP DNS
 * server on the lighthouse answering
 * - `A <certName>.` with the vpnIp of a host that completed a handshake with us (names registered by
 *   the node through {@link DnsRecords.add}; matched case-insensitively);
 * - `TXT <vpnIp>.` with a dump of that host's certificate, only for clients inside our vpn network
 *   or 127.0.0.1.
 * As 1.6.1 does, anything else gets an empty NOERROR reply (not NXDOMAIN); only the first question
 * is considered; answers are uncompressed with TTL 3600. Malformed or unacceptable queries follow
 * miekg's default accept rules: responses are ignored, opcodes other than QUERY/NOTIFY get
 * NOTIMP, wrong section counts or an unparsable question get FORMERR, < 12 bytes is dropped.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from 'pino';
import { parseIp4 } from './addr.js';

export const DNS_TYPE_A = 1;
export const DNS_TYPE_TXT = 16;
const CLASS_IN = 1;
const TTL = 3600;
const RCODE_FORMERR = 1;
const RCODE_NOTIMP = 4;

export interface DnsQuestion {
  /** Presentation form with a trailing dot, e.g. `host1.`; escapes as miekg prints them. */
  name: string;
  /** Raw wire labels of the name (echoed verbatim). */
  wire: Uint8Array;
  qtype: number;
  qclass: number;
}

export interface DnsQuery {
  id: number;
  opcode: number;
  rd: boolean;
  cd: boolean;
  question: DnsQuestion | null;
}

export type DnsParseResult =
  | { kind: 'ok'; query: DnsQuery }
  | { kind: 'ignore' }
  | { kind: 'reject'; id: number; opcode: number; rcode: number };

/** Reads a (possibly compressed) name at `off`; returns [wire labels, presentation, end offset] or null. */
function readName(b: Uint8Array, off: number): [Uint8Array, string, number] | null {
  const labels: number[] = [];
  let text = '';
  let p = off;
  let end = -1;
  let hops = 0;
  for (;;) {
    if (p >= b.length) return null;
    const len = b[p]!;
    if ((len & 0xc0) === 0xc0) {
      if (p + 1 >= b.length || ++hops > 32) return null;
      if (end < 0) end = p + 2;
      p = ((len & 0x3f) << 8) | b[p + 1]!;
      continue;
    }
    if ((len & 0xc0) !== 0) return null;
    if (len === 0) {
      labels.push(0);
      if (end < 0) end = p + 1;
      break;
    }
    if (p + 1 + len > b.length || labels.length + 1 + len > 255) return null;
    labels.push(len);
    for (let i = 0; i < len; i++) {
      const c = b[p + 1 + i]!;
      labels.push(c);
      if (
        c === 0x2e ||
        c === 0x5c ||
        c === 0x22 ||
        c === 0x28 ||
        c === 0x29 ||
        c === 0x3b ||
        c === 0x20 ||
        c === 0x40 ||
        c === 0x24
      ) {
        text += `\\${String.fromCharCode(c)}`;
      } else if (c < 0x21 || c > 0x7e) text += `\\${c.toString().padStart(3, '0')}`;
      else text += String.fromCharCode(c);
    }
    text += '.';
    p += 1 + len;
  }
  if (labels.length > 255) return null;
  return [Uint8Array.from(labels), text === '' ? '.' : text, end];
}

/** Parses a request header and its first question under miekg's default accept rules. */
export function parseDnsQuery(b: Uint8Array): DnsParseResult {
  if (b.length < 12) return { kind: 'ignore' };
  const id = (b[0]! << 8) | b[1]!;
  const flags = (b[2]! << 8) | b[3]!;
  const opcode = (flags >> 11) & 0xf;
  if (flags & 0x8000) return { kind: 'ignore' };
  if (opcode !== 0 && opcode !== 4) return { kind: 'reject', id, opcode, rcode: RCODE_NOTIMP };
  const qd = (b[4]! << 8) | b[5]!;
  const an = (b[6]! << 8) | b[7]!;
  const ns = (b[8]! << 8) | b[9]!;
  const ar = (b[10]! << 8) | b[11]!;
  if (qd !== 1 || an > 1 || ns > 1 || ar > 2) return { kind: 'reject', id, opcode: 0, rcode: RCODE_FORMERR };
  const name = readName(b, 12);
  if (!name || name[2] + 4 > b.length) return { kind: 'reject', id, opcode: 0, rcode: RCODE_FORMERR };
  const p = name[2];
  return {
    kind: 'ok',
    query: {
      id,
      opcode,
      rd: (flags & 0x0100) !== 0,
      cd: (flags & 0x0010) !== 0,
      question: {
        name: name[1],
        wire: name[0],
        qtype: (b[p]! << 8) | b[p + 1]!,
        qclass: (b[p + 2]! << 8) | b[p + 3]!,
      },
    },
  };
}

export interface DnsAnswer {
  type: typeof DNS_TYPE_A | typeof DNS_TYPE_TXT;
  /** A: the IPv4 as uint32; TXT: the character-strings. */
  a?: number;
  txt?: string[];
}

function header(
  id: number,
  opcode: number,
  rd: boolean,
  cd: boolean,
  rcode: number,
  qd: number,
  an: number,
): number[] {
  const f1 = 0x80 | (opcode << 3) | (rd ? 1 : 0);
  const f2 = (cd ? 0x10 : 0) | rcode;
  return [id >> 8, id & 255, f1, f2, 0, qd, an >> 8, an & 255, 0, 0, 0, 0];
}

/** Header-only FORMERR / NOTIMP reply (what miekg sends for rejected requests). */
export function buildDnsReject(id: number, opcode: number, rcode: number): Uint8Array {
  return Uint8Array.from(header(id, opcode, false, false, rcode, 0, 0));
}

/** NOERROR reply echoing the question, with `answers` for its name (uncompressed, TTL 3600). */
export function buildDnsResponse(q: DnsQuery, answers: readonly DnsAnswer[]): Uint8Array {
  const isQuery = q.opcode === 0;
  const out = header(q.id, q.opcode, isQuery && q.rd, isQuery && q.cd, 0, q.question ? 1 : 0, answers.length);
  if (q.question) {
    out.push(
      ...q.question.wire,
      q.question.qtype >> 8,
      q.question.qtype & 255,
      q.question.qclass >> 8,
      q.question.qclass & 255,
    );
    for (const a of answers) {
      let rdata: number[];
      if (a.type === DNS_TYPE_A) {
        const v = a.a! >>> 0;
        rdata = [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
      } else {
        rdata = [];
        for (const s of a.txt ?? []) {
          const bytes = Buffer.from(s, 'utf8');
          // character-strings hold ≤ 255 bytes: longer ones are split, as miekg does
          for (let i = 0; i === 0 || i < bytes.length; i += 255) {
            const chunk = bytes.subarray(i, i + 255);
            rdata.push(chunk.length, ...chunk);
          }
        }
      }
      out.push(
        ...q.question.wire,
        0,
        a.type,
        0,
        CLASS_IN,
        (TTL >>> 24) & 255,
        (TTL >>> 16) & 255,
        (TTL >>> 8) & 255,
        TTL & 255,
      );
      out.push(rdata.length >> 8, rdata.length & 255, ...rdata);
    }
  }
  return Uint8Array.from(out);
}

/** What the TXT dump needs of a certificate (the node adapts its `NebulaCertificate`). */
export interface DnsCertDetails {
  name: string;
  /** CIDR texts, e.g. `10.42.0.2/24`. */
  ips: readonly string[];
  subnets: readonly string[];
  groups: readonly string[];
  /** Unix seconds. */
  notBefore: number;
  notAfter: number;
  publicKey: Uint8Array;
  isCA: boolean;
  issuer: string;
}

/** Go's `time.Time.String()` in UTC: `2006-01-02 15:04:05 +0000 UTC`. */
function goTime(seconds: number): string {
  const iso = new Date(seconds * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}

/** The TXT character-strings 1.6.1 builds (its spelling, "NotAFter" included). */
export function certTxt(c: DnsCertDetails): string[] {
  return [
    `Name: ${c.name}`,
    `Ips: [${c.ips.join(' ')}]`,
    `Subnets [${c.subnets.join(' ')}]`,
    `Groups [${c.groups.join(' ')}]`,
    `NotBefore ${goTime(c.notBefore)}`,
    `NotAFter ${goTime(c.notAfter)}`,
    `PublicKey ${Buffer.from(c.publicKey).toString('hex')}`,
    `IsCA ${c.isCA}`,
    `Issuer ${c.issuer}`,
  ];
}

/** Name → vpnIp records of hosts that completed a handshake with the lighthouse; never removed (1.6.1). */
export class DnsRecords {
  private readonly names = new Map<string, number>();

  /** Registers `certName` (a trailing dot is added; case-insensitive). */
  add(certName: string, vpnIp: number): void {
    this.names.set(`${certName.toLowerCase()}.`, vpnIp >>> 0);
  }

  query(fqdn: string): number | undefined {
    return this.names.get(fqdn.toLowerCase());
  }
}

export interface DnsHandlerOptions {
  records: DnsRecords;
  /** Our vpn network (TXT is answered only inside it or for 127.0.0.1). */
  vpnIp: number;
  vpnMask: number;
  /** Certificate of the host with this vpnIp in the main hostmap, if any. */
  certFor: (vpnIp: number) => DnsCertDetails | undefined;
}

/** Answers one request from `remoteIp` (text); null = send nothing. */
export function handleDnsMessage(msg: Uint8Array, remoteIp: string, o: DnsHandlerOptions): Uint8Array | null {
  const r = parseDnsQuery(msg);
  if (r.kind === 'ignore') return null;
  if (r.kind === 'reject') return buildDnsReject(r.id, r.opcode, r.rcode);
  const q = r.query;
  const answers: DnsAnswer[] = [];
  const question = q.question;
  if (q.opcode === 0 && question) {
    if (question.qtype === DNS_TYPE_A) {
      const ip = o.records.query(question.name);
      if (ip !== undefined) answers.push({ type: DNS_TYPE_A, a: ip });
    } else if (question.qtype === DNS_TYPE_TXT) {
      const remote = remoteIp.startsWith('::ffff:') ? remoteIp.slice(7) : remoteIp;
      const r4 = parseIp4(remote);
      const inside = r4 >= 0 && (r4 & o.vpnMask) >>> 0 === (o.vpnIp & o.vpnMask) >>> 0;
      if (inside || remote === '127.0.0.1') {
        const target = parseIp4(question.name.slice(0, -1));
        const cert = target >= 0 ? o.certFor(target) : undefined;
        if (cert) answers.push({ type: DNS_TYPE_TXT, txt: certTxt(cert) });
      }
    }
  }
  return buildDnsResponse(q, answers);
}

/** `lighthouse.serve_dns` settings from the raw config (Go: `lighthouse.dns.host` "" : `lighthouse.dns.port` 53). */
export function dnsListenFromRaw(raw: Record<string, unknown>): { host: string; port: number } {
  const dns = ((raw.lighthouse as Record<string, unknown> | undefined)?.dns ?? {}) as Record<string, unknown>;
  const host = dns.host === undefined || dns.host === null ? '' : String(dns.host);
  const port = dns.port === undefined ? 53 : Number(dns.port);
  return { host, port: Number.isInteger(port) ? port : 53 };
}

/** The UDP server. `start()` binds; `reload()` rebinds only when the address changed. */
export class LighthouseDnsServer {
  private socket: Socket | null = null;
  private bound: { host: string; port: number } | null = null;
  private readonly log: Logger;

  constructor(private readonly opts: DnsHandlerOptions & { logger: Logger }) {
    // Go logs the responder's lines with the node's fields only.
    this.log = opts.logger;
  }

  get port(): number | undefined {
    return this.socket?.address().port;
  }

  async start(host: string, port: number): Promise<number> {
    let sock: Socket;
    if (host === '') {
      // Go listens on ":port": dual-stack where the host has IPv6, IPv4 only where it has not.
      try {
        sock = await this.bindSocket('udp6', '::', port);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL' && code !== 'EPROTONOSUPPORT') throw e;
        sock = await this.bindSocket('udp4', '0.0.0.0', port);
      }
    } else sock = await this.bindSocket(host.includes(':') ? 'udp6' : 'udp4', host, port);
    this.socket = sock;
    this.bound = { host, port };
    this.log.info({ dnsListener: `${host}:${port}` }, 'Starting DNS responder');
    return sock.address().port;
  }

  /** A bound socket answering queries; on a bind error the socket is closed and the error thrown. */
  private async bindSocket(type: 'udp4' | 'udp6', address: string, port: number): Promise<Socket> {
    const sock = createSocket({ type, reuseAddr: false });
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind({ port, address }, () => {
          sock.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      try {
        sock.close();
      } catch {
        // already closed by the failed bind
      }
      throw e;
    }
    sock.on('message', (msg, rinfo) => {
      let reply: Uint8Array | null = null;
      try {
        reply = handleDnsMessage(msg, rinfo.address, this.opts);
      } catch (e) {
        this.log.debug({ err: e }, 'DNS request failed');
      }
      if (reply) sock.send(reply, rinfo.port, rinfo.address);
    });
    sock.on('error', (e) => this.log.error({ err: e }, 'DNS server socket error'));
    return sock;
  }

  async reload(host: string, port: number): Promise<void> {
    if (this.bound && this.bound.host === host && this.bound.port === port) return;
    await this.stop();
    await this.start(host, port);
  }

  async stop(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    this.bound = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
