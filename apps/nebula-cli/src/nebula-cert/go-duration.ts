/** Go's `time.ParseDuration` (in nanoseconds, as bigint) — the syntax of `-duration`. */
const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX = (1n << 63n) - 1n;

/** Returns nanoseconds, or `null` for anything Go rejects (including int64 overflow). */
export function parseGoDuration(input: string): bigint | null {
  let s = input;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return null;
  let total = 0n;
  const re = /^([0-9]*)(?:\.([0-9]*))?([^0-9.]+)/;
  while (s !== '') {
    const m = re.exec(s);
    if (m === null) return null;
    const [whole, intPart = '', fracPart, unitPart = ''] = m;
    if (intPart === '' && (fracPart === undefined || fracPart === '')) return null;
    const unit = UNITS[unitPart];
    if (unit === undefined) return null;
    let v = BigInt(intPart || '0') * unit;
    if (fracPart !== undefined && fracPart !== '') {
      // Go scales the fraction by the unit and truncates toward zero.
      v += (BigInt(fracPart) * unit) / 10n ** BigInt(fracPart.length);
    }
    total += v;
    if (total > MAX + (neg ? 1n : 0n)) return null;
    s = s.slice(whole.length);
  }
  return neg ? -total : total;
}
