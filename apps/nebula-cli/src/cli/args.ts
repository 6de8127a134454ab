/**
 * Go `flag`-package parsing for `nebula`: `-config x`, `--config=x`, `-test`, `-test=false`, `-h`.
 * Written out rather than using `node:util` parseArgs because Go's rules (single-dash long names,
 * bool flags that never take the next argument, `-h` always meaning help, its exact error lines)
 * are what scripts and systemd units written for Go Nebula rely on.
 */
export interface NebulaArgs {
  readonly config: string;
  readonly test: boolean;
  readonly help: boolean;
  readonly version: boolean;
  /** Arguments after the flags (Go ignores them; so do we). */
  readonly rest: readonly string[];
}

export type ParseResult =
  | { readonly ok: true; readonly args: NebulaArgs }
  /** Go exits 2 on a flag error and prints `error` then the usage to stderr; `-h` exits 0. */
  | { readonly ok: false; readonly error: string | null; readonly exitCode: 0 | 2 };

export const USAGE = `Usage of nebula:
  -config string
    \tPath to either a file or directory to load configuration from
  -help
    \tPrint command line usage
  -test
    \tTest the config and print the end result. Non zero exit indicates a faulty config
  -version
    \tPrint version
`;

const BOOL_FLAGS = new Set(['test', 'help', 'version']);
const STRING_FLAGS = new Set(['config']);

/** strconv.ParseBool */
function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

export function parseNebulaArgs(argv: readonly string[]): ParseResult {
  const values = { config: '', test: false, help: false, version: false };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg.length < 2 || arg[0] !== '-') break;
    let name = arg.slice(1);
    if (name[0] === '-') {
      name = name.slice(1);
      if (name.length === 0) {
        i++; // "--" ends the flags
        break;
      }
    }
    if (name.length === 0 || name[0] === '-' || name[0] === '=')
      return { ok: false, error: `bad flag syntax: ${arg}`, exitCode: 2 };
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq > 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (BOOL_FLAGS.has(name)) {
      if (value === undefined) values[name as 'test' | 'help' | 'version'] = true;
      else {
        const b = parseGoBool(value);
        if (b === undefined)
          return {
            ok: false,
            error: `invalid boolean value "${value}" for -${name}: parse error`,
            exitCode: 2,
          };
        values[name as 'test' | 'help' | 'version'] = b;
      }
    } else if (STRING_FLAGS.has(name)) {
      if (value === undefined) {
        if (i + 1 >= argv.length)
          return { ok: false, error: `flag needs an argument: -${name}`, exitCode: 2 };
        value = argv[++i] as string;
      }
      values.config = value;
    } else if (name === 'h') {
      return { ok: false, error: null, exitCode: 0 };
    } else {
      return { ok: false, error: `flag provided but not defined: -${name}`, exitCode: 2 };
    }
  }
  return { ok: true, args: { ...values, rest: argv.slice(i) } };
}
