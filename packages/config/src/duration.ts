/**
 * Go's `time.ParseDuration` (`300ms`, `-1.5h`, `2h45m`, `1µs`), returning milliseconds. Returns
 * undefined for text Go would reject, e.g. a bare `5` (missing unit) — only `0` may omit it.
 */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;

export function parseGoDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  while (s.length > 0) {
    const m = PART.exec(s);
    if (!m) return undefined;
    const [whole, intPart = '', fracPart, unit] = m;
    if (intPart === '' && (fracPart === undefined || fracPart === '')) return undefined;
    const value = Number(`${intPart || '0'}.${fracPart ?? '0'}`);
    total += value * (UNIT_MS[unit as string] as number);
    s = s.slice(whole.length);
  }
  // Go's Duration is an int64 of nanoseconds; beyond ~292 years it reports overflow.
  if (total > 9_223_372_036_854) return undefined;
  return sign * total;
}
