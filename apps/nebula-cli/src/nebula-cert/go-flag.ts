/**
 * Go's `flag` package grammar and messages, which `nebula-cert` users and scripts see: `-f v`,
 * `-f=v`, `--f`, bool flags without a value or with `=true|false`, parsing stops at the first
 * non-flag or after `--`, and Go's exact error texts. (`node:util` parseArgs cannot express
 * `-json=false`, `-name -x` or stop-at-first-positional, so this small parser replaces it.)
 */
import { parseGoDuration } from './go-duration.js';

type FlagKind = 'string' | 'bool' | 'duration';

interface FlagDef {
  readonly name: string;
  readonly kind: FlagKind;
  readonly usage: string;
  /** Default as Go prints it (`%q` for strings, `%v` otherwise); `''`/`false`/`0s` are zero. */
  readonly defValue: string;
}

/** A flag error; Go prints `message` on its own line before nebula-cert adds `Error: ...`. */
export class FlagParseError extends Error {}
/** `-h` / `-help` inside a mode. */
export class FlagHelpRequested extends Error {}

const PARSE_BOOL: Record<string, boolean> = {
  '1': true,
  t: true,
  T: true,
  true: true,
  TRUE: true,
  True: true,
  '0': false,
  f: false,
  F: false,
  false: false,
  FALSE: false,
  False: false,
};

export class GoFlagSet {
  readonly #defs = new Map<string, FlagDef>();
  readonly #values = new Map<string, string | boolean | bigint>();
  /** Arguments left after the flags (Go's `Args()`). */
  rest: string[] = [];

  string(name: string, def: string, usage: string): this {
    this.#defs.set(name, { name, kind: 'string', usage, defValue: def });
    this.#values.set(name, def);
    return this;
  }

  bool(name: string, usage: string): this {
    this.#defs.set(name, { name, kind: 'bool', usage, defValue: 'false' });
    this.#values.set(name, false);
    return this;
  }

  /** Durations are kept in nanoseconds; `defText` is Go's `Duration.String()` of the default. */
  duration(name: string, defNs: bigint, defText: string, usage: string): this {
    this.#defs.set(name, { name, kind: 'duration', usage, defValue: defText });
    this.#values.set(name, defNs);
    return this;
  }

  getString(name: string): string {
    return this.#values.get(name) as string;
  }

  getBool(name: string): boolean {
    return this.#values.get(name) as boolean;
  }

  getDuration(name: string): bigint {
    return this.#values.get(name) as bigint;
  }

  /** Go's `FlagSet.Parse` with ContinueOnError. Throws FlagParseError or FlagHelpRequested. */
  parse(args: readonly string[]): void {
    let i = 0;
    while (i < args.length) {
      const s = args[i] as string;
      if (s.length < 2 || s[0] !== '-') break;
      let minuses = 1;
      if (s[1] === '-') {
        minuses = 2;
        if (s.length === 2) {
          i++;
          break;
        }
      }
      let name = s.slice(minuses);
      if (name.length === 0 || name[0] === '-' || name[0] === '=') {
        throw new FlagParseError(`bad flag syntax: ${s}`);
      }
      i++;
      let value = '';
      let hasValue = false;
      const eq = name.indexOf('=', 1);
      if (eq > 0) {
        value = name.slice(eq + 1);
        hasValue = true;
        name = name.slice(0, eq);
      }
      const def = this.#defs.get(name);
      if (def === undefined) {
        if (name === 'help' || name === 'h') throw new FlagHelpRequested('flag: help requested');
        throw new FlagParseError(`flag provided but not defined: -${name}`);
      }
      if (def.kind === 'bool') {
        if (hasValue) {
          const b = PARSE_BOOL[value];
          if (b === undefined)
            throw new FlagParseError(`invalid boolean value "${value}" for -${name}: parse error`);
          this.#values.set(name, b);
        } else this.#values.set(name, true);
        continue;
      }
      if (!hasValue && i < args.length) {
        value = args[i] as string;
        hasValue = true;
        i++;
      }
      if (!hasValue) throw new FlagParseError(`flag needs an argument: -${name}`);
      if (def.kind === 'duration') {
        const ns = parseGoDuration(value);
        if (ns === null)
          throw new FlagParseError(`invalid value ${goQuote(value)} for flag -${name}: parse error`);
        this.#values.set(name, ns);
      } else this.#values.set(name, value);
    }
    this.rest = args.slice(i);
  }

  /** Go's `PrintDefaults()` output. */
  defaults(): string {
    let out = '';
    for (const name of [...this.#defs.keys()].sort()) {
      const f = this.#defs.get(name) as FlagDef;
      let line = `  -${f.name}`;
      const typeName = f.kind === 'bool' ? '' : f.kind;
      if (typeName) line += ` ${typeName}`;
      line += line.length <= 4 ? '\t' : '\n    \t';
      line += f.usage.replaceAll('\n', '\n    \t');
      const zero =
        f.kind === 'string'
          ? f.defValue === ''
          : f.kind === 'bool'
            ? f.defValue === 'false'
            : f.defValue === '0s';
      if (!zero)
        line += f.kind === 'string' ? ` (default ${goQuote(f.defValue)})` : ` (default ${f.defValue})`;
      out += `${line}\n`;
    }
    return out;
  }
}

/** Go's `%q` for the printable ASCII strings flags use (JSON escaping is the same there). */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}
