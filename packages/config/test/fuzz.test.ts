import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isConfigError, parseConfig, parseGoDuration, parseYaml } from '../src/index.js';

const numRuns = Number(process.env.FUZZ_RUNS ?? 2000);

/** Either success or a ConfigError; anything else (TypeError, RangeError, a hang) is a bug. */
function loadText(text: string): void {
  try {
    parseConfig(parseYaml(text));
  } catch (e) {
    if (!isConfigError(e)) throw e;
    expect((e as Error).message.length).toBeGreaterThan(0);
  }
}

// YAML-ish building blocks: real Nebula keys and values mixed with noise, so the parser gets past
// the YAML layer and into the typed conversions often.
const keys = fc.constantFrom(
  'pki',
  'ca',
  'cert',
  'key',
  'blocklist',
  'blacklist',
  'static_host_map',
  '"10.1.0.1"',
  'lighthouse',
  'am_lighthouse',
  'hosts',
  'interval',
  'remote_allow_list',
  'local_allow_list',
  'interfaces',
  'remote_allow_ranges',
  'listen',
  'port',
  'host',
  'send_recv_error',
  'routines',
  'cipher',
  'punchy',
  'punch',
  'respond',
  'delay',
  'punch_back',
  'local_range',
  'preferred_ranges',
  'relay',
  'am_relay',
  'use_relays',
  'tun',
  'routes',
  'unsafe_routes',
  'mtu',
  'route',
  'via',
  'metric',
  'firewall',
  'conntrack',
  'tcp_timeout',
  'inbound',
  'outbound',
  'logging',
  'level',
  'format',
  'stats',
  'type',
  'sshd',
  'enabled',
  '__proto__',
  'constructor',
  '<<',
  '"0.0.0.0/0"',
  '? complex',
);
const scalars = fc.oneof(
  fc.constantFrom(
    'yes',
    'no',
    'on',
    'off',
    '~',
    'null',
    '0x1F',
    '0644',
    '1h30m',
    '5',
    '-1',
    '1e309',
    '.nan',
    '10.0.0.0/8',
    '198.51.100.1:4242',
    '[::1]:4242',
    'aes',
    'chachapoly',
    'prometheus',
    '"abc"',
    "'q'",
    '&a x',
    '*a',
    '!!binary aGk=',
    '!!set {a, b}',
    '!!omap [a: 1]',
    '2001-12-14',
    '10:20',
    '|',
    '>',
    '{',
    '[',
    ']',
    '}',
    '"',
    '-',
    ':',
    '#',
  ),
  fc.string({ maxLength: 12 }),
  fc.integer().map(String),
  fc.double().map(String),
);
const line = fc
  .tuple(fc.nat({ max: 6 }), keys, fc.constantFrom(': ', ':', ': [', ': {', ': - ', '- '), scalars)
  .map(([indent, k, sep, v]) => `${' '.repeat(indent)}${k}${sep}${v}`);
const yamlish = fc.array(line, { maxLength: 25 }).map((ls) => ls.join('\n'));

describe('config loader fuzz', () => {
  it('YAML-ish text never crashes the loader', () => {
    fc.assert(
      fc.property(yamlish, (text) => loadText(text)),
      { numRuns },
    );
  });

  it('arbitrary text never crashes the loader', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => loadText(text)),
      { numRuns },
    );
  });

  it('well-formed configs with random values: success or a ConfigError naming a path', () => {
    const value = fc.oneof(
      scalars,
      fc.array(scalars, { maxLength: 3 }).map((a) => `[${a.join(', ')}]`),
    );
    const doc = fc.record({
      section: fc.constantFrom(
        'listen',
        'tun',
        'lighthouse',
        'punchy',
        'firewall',
        'stats',
        'logging',
        'relay',
        'sshd',
      ),
      key: keys,
      value,
    });
    fc.assert(
      fc.property(doc, ({ section, key, value: v }) => {
        const text = `pki: {ca: a, cert: b, key: c}\n${section}:\n  ${key}: ${v}\n`;
        try {
          parseConfig(parseYaml(text));
        } catch (e) {
          if (!isConfigError(e)) throw e;
          const ce = e as { code: string; path: string };
          if (ce.code !== 'ERR_CONFIG_YAML') expect(ce.path).not.toBe('');
        }
      }),
      { numRuns },
    );
  });

  it('parseGoDuration never throws', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (s) => {
        const v = parseGoDuration(s);
        expect(v === undefined || Number.isFinite(v)).toBe(true);
      }),
      { numRuns },
    );
  });
});
