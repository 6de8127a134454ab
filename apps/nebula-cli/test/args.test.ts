import { describe, expect, it } from 'vitest';
import { parseNebulaArgs, USAGE } from '../src/index.js';

const ok = (argv: string[]) => {
  const r = parseNebulaArgs(argv);
  if (!r.ok) throw new Error(`expected ok, got ${r.error}`);
  return r.args;
};

describe('parseNebulaArgs (Go flag rules)', () => {
  it.each([
    [['-config', 'c.yml'], 'c.yml'],
    [['--config', 'c.yml'], 'c.yml'],
    [['-config=c.yml'], 'c.yml'],
    [['--config=c.yml'], 'c.yml'],
    [['-config', '-test'], '-test'],
  ])('%j → config %s', (argv, config) => {
    expect(ok(argv).config).toBe(config);
  });

  it('bool flags take no separate value but accept =value', () => {
    expect(ok(['-test', '-config', 'x'])).toMatchObject({ test: true, config: 'x' });
    expect(ok(['-test=false', '-config', 'x']).test).toBe(false);
    expect(ok(['-test=T']).test).toBe(true);
    expect(ok(['-version']).version).toBe(true);
    expect(ok(['-help']).help).toBe(true);
  });

  it('stops at the first non-flag and at --', () => {
    expect(ok(['-test', 'extra', '-config', 'x'])).toMatchObject({
      test: true,
      config: '',
      rest: ['extra', '-config', 'x'],
    });
    expect(ok(['--', '-config', 'x'])).toMatchObject({ config: '', rest: ['-config', 'x'] });
  });

  it.each([
    [['-bogus'], 'flag provided but not defined: -bogus', 2],
    [['--bogus=1'], 'flag provided but not defined: -bogus', 2],
    [['-config'], 'flag needs an argument: -config', 2],
    [['-test=maybe'], 'invalid boolean value "maybe" for -test: parse error', 2],
    [['---config'], 'bad flag syntax: ---config', 2],
    [['-h'], null, 0],
  ])('%j → %s (exit %d)', (argv, error, exitCode) => {
    expect(parseNebulaArgs(argv)).toEqual({ ok: false, error, exitCode });
  });

  it('usage text is byte-identical to Go nebula 1.6.1', () => {
    expect(USAGE).toBe(
      'Usage of nebula:\n  -config string\n    \tPath to either a file or directory to load configuration from\n  -help\n    \tPrint command line usage\n  -test\n    \tTest the config and print the end result. Non zero exit indicates a faulty config\n  -version\n    \tPrint version\n',
    );
  });
});
