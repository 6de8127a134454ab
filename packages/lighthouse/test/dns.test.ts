import { createSocket } from 'node:dgram';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DNS_TYPE_A,
  DNS_TYPE_TXT,
  DnsRecords,
  dnsListenFromRaw,
  handleDnsMessage,
  LighthouseDnsServer,
  parseDnsQuery,
  parseIp4,
} from '../src/index.js';
import { silent } from './helpers.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);

function query(
  id: number,
  name: string,
  qtype: number,
  opts: { flags?: number; qd?: number } = {},
): Uint8Array {
  const labels = name
    .split('.')
    .filter((l) => l !== '')
    .flatMap((l) => [l.length, ...Buffer.from(l)]);
  const qd = opts.qd ?? 1;
  return Uint8Array.from([
    id >> 8,
    id & 255,
    (opts.flags ?? 0x0100) >> 8,
    (opts.flags ?? 0x0100) & 255,
    0,
    qd,
    0,
    0,
    0,
    0,
    0,
    0,
    ...labels,
    0,
    0,
    qtype,
    0,
    1,
  ]);
}

interface Parsed {
  id: number;
  flags: number;
  rcode: number;
  qd: number;
  answers: { type: number; ttl: number; rdata: Buffer }[];
}

function parseReply(b: Buffer): Parsed {
  const qd = b.readUInt16BE(4);
  const an = b.readUInt16BE(6);
  let p = 12;
  const skipName = (): void => {
    while (b[p] !== 0) p += b[p]! + 1;
    p++;
  };
  for (let i = 0; i < qd; i++) {
    skipName();
    p += 4;
  }
  const answers: Parsed['answers'] = [];
  for (let i = 0; i < an; i++) {
    skipName();
    const type = b.readUInt16BE(p);
    const ttl = b.readUInt32BE(p + 4);
    const len = b.readUInt16BE(p + 8);
    answers.push({ type, ttl, rdata: b.subarray(p + 10, p + 10 + len) });
    p += 10 + len;
  }
  return { id: b.readUInt16BE(0), flags: b.readUInt16BE(2), rcode: b[3]! & 15, qd, answers };
}

const records = new DnsRecords();
records.add('Host1', parseIp4('10.42.0.2'));
const opts = {
  records,
  vpnIp: parseIp4('10.42.0.1'),
  vpnMask: 0xffffff00,
  certFor: (ip: number) =>
    ip === parseIp4('10.42.0.2')
      ? {
          name: 'host1',
          ips: ['10.42.0.2/24'],
          subnets: [],
          groups: ['a', 'b'],
          notBefore: 0,
          notAfter: 86400,
          publicKey: Uint8Array.of(1, 2),
          isCA: false,
          issuer: 'abcd',
        }
      : undefined,
};

describe('lighthouse DNS over real UDP (127.0.0.1, random port)', () => {
  const server = new LighthouseDnsServer({ ...opts, logger: silent });
  const client = createSocket('udp4');
  let port = 0;
  beforeAll(async () => {
    port = await server.start('127.0.0.1', 0);
  });
  afterAll(async () => {
    client.close();
    await server.stop();
  });

  const ask = (msg: Uint8Array): Promise<Parsed> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no DNS reply within 5 s')), 5000);
      client.once('message', (m) => {
        clearTimeout(t);
        resolve(parseReply(m));
      });
      client.send(msg, port, '127.0.0.1');
    });

  it('answers A for a registered cert name, case-insensitively', async () => {
    const r = await ask(query(0x1234, 'HOST1.', DNS_TYPE_A));
    expect(r.id).toBe(0x1234);
    expect(r.flags & 0x8000).toBe(0x8000);
    expect(r.flags & 0x0100).toBe(0x0100); // RD echoed
    expect(r.rcode).toBe(0);
    expect(r.answers).toHaveLength(1);
    expect(r.answers[0]!.ttl).toBe(3600);
    expect([...r.answers[0]!.rdata]).toEqual([10, 42, 0, 2]);
  });

  it('answers TXT with the cert dump for 127.0.0.1', async () => {
    const r = await ask(query(7, '10.42.0.2.', DNS_TYPE_TXT));
    expect(r.answers).toHaveLength(1);
    const strings: string[] = [];
    const d = r.answers[0]!.rdata;
    for (let p = 0; p < d.length; p += d[p]! + 1) strings.push(d.subarray(p + 1, p + 1 + d[p]!).toString());
    expect(strings).toEqual([
      'Name: host1',
      'Ips: [10.42.0.2/24]',
      'Subnets []',
      'Groups [a b]',
      'NotBefore 1970-01-01 00:00:00 +0000 UTC',
      'NotAFter 1970-01-02 00:00:00 +0000 UTC',
      'PublicKey 0102',
      'IsCA false',
      'Issuer abcd',
    ]);
  });

  it('unknown names get an empty NOERROR reply (1.6.1 does not send NXDOMAIN)', async () => {
    const r = await ask(query(8, 'nope.', DNS_TYPE_A));
    expect(r.rcode).toBe(0);
    expect(r.qd).toBe(1);
    expect(r.answers).toEqual([]);
  });

  it('two questions → FORMERR; unknown opcode → NOTIMP', async () => {
    expect((await ask(query(9, 'host1.', DNS_TYPE_A, { qd: 2 }))).rcode).toBe(1);
    expect((await ask(query(10, 'host1.', DNS_TYPE_A, { flags: 0x1000 }))).rcode).toBe(4);
  });
});

describe('DNS handler rules', () => {
  it('TXT only for clients inside the vpn network or 127.0.0.1', () => {
    const q = query(1, '10.42.0.2.', DNS_TYPE_TXT);
    const count = (from: string) => parseReply(Buffer.from(handleDnsMessage(q, from, opts)!)).answers.length;
    expect(count('10.42.0.77')).toBe(1);
    expect(count('::ffff:127.0.0.1')).toBe(1);
    expect(count('198.51.100.4')).toBe(0);
    expect(count('127.0.0.2')).toBe(0);
  });

  it('responses and short packets are ignored; dns listen settings default to :53', () => {
    const q = query(1, 'host1.', DNS_TYPE_A, { flags: 0x8000 });
    expect(handleDnsMessage(q, '127.0.0.1', opts)).toBeNull();
    expect(handleDnsMessage(Uint8Array.of(1, 2, 3), '127.0.0.1', opts)).toBeNull();
    expect(dnsListenFromRaw({})).toEqual({ host: '', port: 53 });
    expect(dnsListenFromRaw({ lighthouse: { dns: { host: '0.0.0.0', port: 5353 } } })).toEqual({
      host: '0.0.0.0',
      port: 5353,
    });
  });

  it('follows compression pointers in the question name', () => {
    // name = pointer to offset 12 where "host1" is spelled; question at 12 itself is a plain name
    const q = query(3, 'host1.', DNS_TYPE_A);
    const r = parseDnsQuery(q);
    expect(r.kind).toBe('ok');
    if (r.kind === 'ok') expect(r.query.question!.name).toBe('host1.');
    const loop = Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    expect(parseDnsQuery(loop)).toMatchObject({ kind: 'reject', rcode: 1 });
  });

  it('fuzz: arbitrary bytes never throw; replies echo the id', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), (b) => {
        const r = handleDnsMessage(b, '10.42.0.3', opts);
        if (r !== null) {
          expect(r.length).toBeGreaterThanOrEqual(12);
          expect((r[0]! << 8) | r[1]!).toBe((b[0]! << 8) | b[1]!);
        }
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9-]{1,20}(\.[a-z0-9-]{1,20}){0,3}\.$/),
        fc.constantFrom(DNS_TYPE_A, DNS_TYPE_TXT, 28),
        (name, t) => {
          const r = parseDnsQuery(query(5, name, t));
          expect(r.kind).toBe('ok');
          if (r.kind === 'ok') expect(r.query.question).toMatchObject({ name, qtype: t, qclass: 1 });
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('lighthouse DNS server bind errors', () => {
  it('a port in use rejects start() with EADDRINUSE and leaves no socket open', async () => {
    const holder = createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(0, '127.0.0.1', resolve));
    const udpHandles = () => process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
    // Sockets closed by earlier tests may still be closing: let the count settle first.
    let before = udpHandles();
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const now = udpHandles();
      if (now === before) break;
      before = now;
    }
    const server = new LighthouseDnsServer({ ...opts, logger: silent });
    try {
      await expect(server.start('127.0.0.1', holder.address().port)).rejects.toMatchObject({
        code: 'EADDRINUSE',
      });
      // Closing a handle completes on a later loop turn: wait for it, bounded.
      for (let i = 0; i < 50 && udpHandles() > before; i++) await new Promise((r) => setTimeout(r, 10));
      expect(udpHandles()).toBe(before);
      expect(server.port).toBeUndefined();
    } finally {
      holder.close();
      await server.stop();
    }
  });
});
