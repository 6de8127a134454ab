/**
 * Probes for the lighthouse interop test: a Prometheus scrape and a DNS A query, both run with
 * `node -e` inside a host's namespace (the endpoints only exist there; curl/dig are not installed).
 */
import type { Testnet } from '../../src/index.js';

export type Samples = Map<string, number>;

/** The metric families issue #7 is about (names as exported, empty namespace/subsystem). */
export const FAMILY = /^(messages|lighthouse)_/;

const FETCH_SCRIPT = `
const url = process.argv[1];
const ac = new AbortController();
setTimeout(() => ac.abort(), 8000).unref();
fetch(url, { signal: ac.signal })
  .then(async (r) => { process.stdout.write(await r.text()); process.exitCode = r.ok ? 0 : 3; })
  .catch((e) => { process.stderr.write(String(e && e.cause ? e.cause : e)); process.exitCode = 2; });
`;

/** Parses Prometheus text exposition: `name{labels} value` → key `name{labels}` (or `name`). */
export function parseProm(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (m) out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

export async function scrape(
  net: Testnet,
  host: string,
  url: string,
): Promise<{ text: string; samples: Samples }> {
  const r = await net.exec(host, [process.execPath, '-e', FETCH_SCRIPT, url], { timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`scrape ${url} in ${host}: exit ${r.code} ${r.stderr.trim()}`);
  return { text: r.stdout, samples: parseProm(r.stdout) };
}

/** Value of a sample (0 when absent, so deltas work for metrics created lazily). */
export function v(s: Samples, name: string): number {
  return s.get(name) ?? 0;
}

export function familyNames(s: Samples): string[] {
  return [...s.keys()].filter((k) => FAMILY.test(k)).sort();
}

const DNS_SCRIPT = `
const dgram = require('node:dgram');
const [server, port, name, qtype] = process.argv.slice(1);
const labels = name.replace(/\\.$/, '').split('.');
const parts = [Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])];
for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l, 'ascii'));
parts.push(Buffer.from([0, 0, Number(qtype), 0, 1]));
const q = Buffer.concat(parts);
const s = dgram.createSocket('udp4');
const t = setTimeout(() => { process.stderr.write('timeout'); process.exitCode = 2; s.close(); }, 5000);
s.on('message', (m) => {
  clearTimeout(t);
  const rcode = m[3] & 15, an = m.readUInt16BE(6);
  let o = q.length; const answers = [];
  for (let i = 0; i < an; i++) {
    if ((m[o] & 0xc0) === 0xc0) o += 2; else { while (m[o] !== 0) o += m[o] + 1; o += 1; }
    const type = m.readUInt16BE(o), len = m.readUInt16BE(o + 8);
    const rd = m.subarray(o + 10, o + 10 + len);
    answers.push({ type, ttl: m.readUInt32BE(o + 4), data: type === 1 ? [...rd].join('.') : rd.toString('latin1') });
    o += 10 + len;
  }
  process.stdout.write(JSON.stringify({ id: m.readUInt16BE(0), qr: m[2] >> 7, rcode, answers }));
  s.close();
});
s.send(q, Number(port), server);
`;

export interface DnsAnswer {
  readonly id: number;
  readonly qr: number;
  readonly rcode: number;
  readonly answers: Array<{ type: number; ttl: number; data: string }>;
}

/** One UDP DNS query (A = 1, TXT = 16) from inside `host`'s namespace. */
export async function dnsQuery(
  net: Testnet,
  host: string,
  server: string,
  port: number,
  name: string,
  qtype = 1,
): Promise<DnsAnswer> {
  const r = await net.exec(
    host,
    [process.execPath, '-e', DNS_SCRIPT, server, String(port), name, String(qtype)],
    { timeoutMs: 10_000 },
  );
  if (r.code !== 0)
    throw new Error(`dns ${name} @${server}:${port} from ${host}: exit ${r.code} ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as DnsAnswer;
}
