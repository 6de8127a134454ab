/** Go's time.ParseDuration, in milliseconds (fractions kept). Null when Go would return an error. */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

export function parseGoDuration(input: string): number | null {
  let s = input;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return null;
  const re = /^(\d*)(\.(\d*))?([a-zµμ]+)/;
  let total = 0;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m || (m[1] === '' && (m[3] ?? '') === '')) return null;
    const unit = UNIT_MS[m[4]!];
    if (unit === undefined) return null;
    total += Number(`${m[1] || '0'}.${m[3] ?? '0'}`) * unit;
    s = s.slice(m[0].length);
  }
  return sign * total;
}
