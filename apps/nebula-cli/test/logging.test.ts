import { describe, expect, it } from 'vitest';
import { compileGoLayout, createNebulaLogger, RFC3339 } from '../src/index.js';

const T = Date.UTC(2026, 10, 21, 22, 6, 32, 443) + 0.715; // 2026-11-21T22:06:32.443715Z

function capture() {
  const lines: string[] = [];
  return { lines, sink: { write: (s: string) => lines.push(s) } };
}

const logging = (
  over: Partial<{
    level: 'info' | 'debug' | 'warning' | 'error';
    format: 'text' | 'json';
    timestamp_format: string;
    disable_timestamp: boolean;
  }> = {},
) => ({
  level: 'info' as const,
  format: 'text' as const,
  timestamp_format: '',
  disable_timestamp: false,
  ...over,
});

describe('Go time layouts (process TZ is UTC in tests)', () => {
  process.env.TZ = 'UTC';
  it.each([
    [RFC3339, '2026-11-21T22:06:32Z'],
    ['2006-01-02T15:04:05.000000Z07:00', '2026-11-21T22:06:32.443715Z'],
    ['2006-01-02T15:04:05.000Z0700', '2026-11-21T22:06:32.443Z'],
    ['2006-01-02 15:04:05.999999999 -0700 MST', '2026-11-21 22:06:32.443715 +0000 UTC'],
    ['Jan _2 15:04:05', 'Nov 21 22:06:32'],
    ['Mon, 02 Jan 2006 03:04:05 PM -07:00', 'Sat, 21 Nov 2026 10:06:32 PM +00:00'],
    ['January 2, 06 3:4:5pm', 'November 21, 26 10:6:32pm'],
    ['15:04:05.9', '22:06:32.4'],
    ['002 __2', '325 325'],
    ['literal text', 'literal text'],
  ])('%s', (layout, expected) => {
    expect(compileGoLayout(layout)(T)).toBe(expected);
  });
});

describe('logrus-style output', () => {
  it('text: time, level, msg, then sorted fields, quoted only when needed', () => {
    const { lines, sink } = capture();
    const { logger, apply } = createNebulaLogger(sink);
    apply(logging({ timestamp_format: '2006-01-02T15:04:05.000000Z07:00' }));
    logger.info(
      {
        vpnIp: '203.0.113.12',
        udpAddr: '198.51.100.12:4242',
        certName: 'b',
        handshake: { stage: 1, style: 'ix_psk0' },
      },
      'Handshake message received',
    );
    logger.warn({ fingerprint: 'ab12' }, 'two words');
    expect(lines[0]).toMatch(
      /^time="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z" level=info msg="Handshake message received" certName=b handshake="map\[stage:1 style:ix_psk0\]" udpAddr="198\.51\.100\.12:4242" vpnIp=203\.0\.113\.12\n$/,
    );
    expect(lines[1]).toMatch(/ level=warning msg="two words" fingerprint=ab12\n$/);
  });

  it('text: errors become error="…", newlines are escaped, disable_timestamp drops time', () => {
    const { lines, sink } = capture();
    const { logger, apply } = createNebulaLogger(sink);
    apply(logging({ disable_timestamp: true }));
    logger.error({ err: new Error('boom: bad\nthing') }, 'Failed to start');
    logger.info('plain');
    expect(lines).toEqual([
      'level=error msg="Failed to start" error="boom: bad\\nthing"\n',
      'level=info msg=plain\n',
    ]);
  });

  it('json: logrus field names, keys sorted, RFC3339 time', () => {
    const { lines, sink } = capture();
    const { logger, apply } = createNebulaLogger(sink);
    apply(logging({ format: 'json' }));
    logger.info({ vpnIp: '203.0.113.1', n: 3 }, 'hello');
    const rec = JSON.parse(lines[0] as string);
    expect(Object.keys(rec)).toEqual(['level', 'msg', 'n', 'time', 'vpnIp']);
    expect(rec).toMatchObject({ level: 'info', msg: 'hello', n: 3, vpnIp: '203.0.113.1' });
    expect(rec.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('honours logging.level and applies changes (SIGHUP)', () => {
    const { lines, sink } = capture();
    const { logger, apply } = createNebulaLogger(sink);
    apply(logging({ level: 'warning' }));
    logger.info('hidden');
    logger.warn('shown');
    apply(logging({ level: 'debug', format: 'json' }));
    logger.debug('now shown');
    expect(lines.length).toBe(2);
    expect(lines[0]).toContain('level=warning msg=shown');
    expect(JSON.parse(lines[1] as string)).toMatchObject({ level: 'debug', msg: 'now shown' });
  });
});
