/** Reading the raw YAML map with Go `config.C` semantics (GetBool/GetInt/GetDuration fallbacks). */

export type RawConfig = Record<string, unknown>;

export function getPath(raw: unknown, path: string): unknown {
  let cur: unknown = raw;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export function isSet(raw: unknown, path: string): boolean {
  return getPath(raw, path) !== undefined;
}

/** Go's `GetString` rendering of scalars (`fmt.Sprintf("%v")`). */
function asString(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

export function getBool(raw: unknown, path: string, dflt: boolean): boolean {
  const s = asString(getPath(raw, path))?.toLowerCase();
  if (s === undefined) return dflt;
  if (['1', 't', 'true', 'y', 'yes'].includes(s)) return true;
  if (['0', 'f', 'false', 'n', 'no'].includes(s)) return false;
  return dflt;
}

export function getInt(raw: unknown, path: string, dflt: number): number {
  const s = asString(getPath(raw, path));
  if (s === undefined || !/^[+-]?\d+$/.test(s)) return dflt;
  return Number(s);
}

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's `time.ParseDuration` → milliseconds, or null. */
export function parseDurationMs(text: string): number | null {
  if (text === '0') return 0;
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '') return null;
  let total = 0;
  const re = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m) return null;
    total += Number(m[1]) * UNITS[m[2]!]!;
    s = s.slice(m[0].length);
  }
  return sign * total;
}

export function getDurationMs(raw: unknown, path: string, dfltMs: number): number {
  const s = asString(getPath(raw, path));
  if (s === undefined) return dfltMs;
  return parseDurationMs(s) ?? dfltMs;
}

/** Go's `GetStringSlice`: a list of scalars, else the default. */
export function getStringSlice(raw: unknown, path: string): string[] {
  const v = getPath(raw, path);
  if (!Array.isArray(v)) return [];
  return v.map((x) => asString(x) ?? String(x));
}

/** "Has this subtree changed" by structural comparison. */
export function changed(a: unknown, b: unknown, path: string): boolean {
  return JSON.stringify(getPath(a, path) ?? null) !== JSON.stringify(getPath(b, path) ?? null);
}
