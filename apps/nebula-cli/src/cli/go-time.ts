/**
 * Formats a time with a Go layout string (`2006-01-02T15:04:05.000000Z07:00`), which is what
 * `logging.timestamp_format` holds. The layout is compiled once into a list of parts so that
 * formatting a log line is a cheap walk. Local time, like Go (set TZ for another zone).
 */
export const RFC3339 = '2006-01-02T15:04:05Z07:00';

type Part = string | ((d: Date, ms: number) => string);

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const pad = (n: number, w: number, c = '0'): string => String(n).padStart(w, c);
const hour12 = (d: Date): number => d.getHours() % 12 || 12;
const yearDay = (d: Date): number => {
  const start = new Date(d.getFullYear(), 0, 1);
  return (
    Math.floor(
      (Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(start.getFullYear(), 0, 1)) /
        86_400_000,
    ) + 1
  );
};

/** Zone offset east of UTC in minutes. */
const offsetMinutes = (d: Date): number => -d.getTimezoneOffset();

function zone(style: 'Z' | '-', colon: boolean, withMinutes: boolean, withSeconds: boolean): Part {
  return (d) => {
    const off = offsetMinutes(d);
    if (style === 'Z' && off === 0) return 'Z';
    const sign = off < 0 ? '-' : '+';
    const abs = Math.abs(off);
    let s = sign + pad(Math.floor(abs / 60), 2);
    if (withMinutes) s += (colon ? ':' : '') + pad(abs % 60, 2);
    if (withSeconds) s += `${colon ? ':' : ''}00`;
    return s;
  };
}

// Ordered longest first within each leading character, as Go's nextStdChunk does.
const TOKENS: ReadonlyArray<[string, Part]> = [
  ['January', (d) => MONTHS[d.getMonth()] as string],
  ['Jan', (d) => (MONTHS[d.getMonth()] as string).slice(0, 3)],
  ['Monday', (d) => DAYS[d.getDay()] as string],
  ['Mon', (d) => (DAYS[d.getDay()] as string).slice(0, 3)],
  [
    'MST',
    (d) =>
      offsetMinutes(d) === 0
        ? 'UTC'
        : (zone('-', false, true, false) as (d: Date, ms: number) => string)(d, 0),
  ],
  ['2006', (d) => pad(d.getFullYear(), 4)],
  ['002', (d) => pad(yearDay(d), 3)],
  ['01', (d) => pad(d.getMonth() + 1, 2)],
  ['02', (d) => pad(d.getDate(), 2)],
  ['03', (d) => pad(hour12(d), 2)],
  ['04', (d) => pad(d.getMinutes(), 2)],
  ['05', (d) => pad(d.getSeconds(), 2)],
  ['06', (d) => pad(d.getFullYear() % 100, 2)],
  ['15', (d) => pad(d.getHours(), 2)],
  ['__2', (d) => pad(yearDay(d), 3, ' ')],
  ['_2', (d) => pad(d.getDate(), 2, ' ')],
  ['1', (d) => String(d.getMonth() + 1)],
  ['2', (d) => String(d.getDate())],
  ['3', (d) => String(hour12(d))],
  ['4', (d) => String(d.getMinutes())],
  ['5', (d) => String(d.getSeconds())],
  ['PM', (d) => (d.getHours() >= 12 ? 'PM' : 'AM')],
  ['pm', (d) => (d.getHours() >= 12 ? 'pm' : 'am')],
  ['-07:00:00', zone('-', true, true, true)],
  ['-070000', zone('-', false, true, true)],
  ['-07:00', zone('-', true, true, false)],
  ['-0700', zone('-', false, true, false)],
  ['-07', zone('-', false, false, false)],
  ['Z07:00:00', zone('Z', true, true, true)],
  ['Z070000', zone('Z', false, true, true)],
  ['Z07:00', zone('Z', true, true, false)],
  ['Z0700', zone('Z', false, true, false)],
  ['Z07', zone('Z', false, false, false)],
];

/** `.000` pads to the width; `.999` trims trailing zeros (and the dot when nothing is left). */
function fraction(sep: string, digits: number, trim: boolean): Part {
  return (_d, ms) => {
    // Sub-millisecond precision is kept to the microsecond: doubles cannot carry nanoseconds.
    const nanos = (Math.floor(ms) % 1000) * 1e6 + Math.round((ms - Math.floor(ms)) * 1e3) * 1e3;
    let s = pad(nanos, 9).slice(0, digits);
    if (trim) {
      s = s.replace(/0+$/, '');
      return s === '' ? '' : sep + s;
    }
    return sep + s;
  };
}

export function compileGoLayout(layout: string): (epochMs: number) => string {
  const parts: Part[] = [];
  let literal = '';
  const flushLiteral = (): void => {
    if (literal) parts.push(literal);
    literal = '';
  };
  let i = 0;
  outer: while (i < layout.length) {
    const c = layout[i] as string;
    if ((c === '.' || c === ',') && (layout[i + 1] === '0' || layout[i + 1] === '9')) {
      const digit = layout[i + 1];
      let j = i + 1;
      while (j < layout.length && layout[j] === digit) j++;
      if (!/[0-9]/.test(layout[j] ?? '')) {
        flushLiteral();
        parts.push(fraction(c, Math.min(j - i - 1, 9), digit === '9'));
        i = j;
        continue;
      }
    }
    // "_2006" is a literal underscore followed by the year, as in Go.
    if (c === '_' && layout.startsWith('_2006', i)) {
      literal += '_';
      i += 1;
      continue;
    }
    for (const [tok, part] of TOKENS) {
      if (layout.startsWith(tok, i)) {
        flushLiteral();
        parts.push(part);
        i += tok.length;
        continue outer;
      }
    }
    literal += c;
    i++;
  }
  if (literal) parts.push(literal);
  return (epochMs) => {
    const d = new Date(epochMs);
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : p(d, epochMs);
    return out;
  };
}
