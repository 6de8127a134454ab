/**
 * Zone abbreviations as Go prints them ("CET", "IST", "+0530"): Go reads them from the system's
 * TZif files, while Intl only offers "GMT+1". The UTC offset itself comes from the JS engine; this
 * only names it. TZ handling mirrors Go: unset → /etc/localtime, "" or unloadable → UTC.
 */
import { readFileSync } from 'node:fs';

interface Zone {
  /** Transition instants (unix seconds) and the ttinfo index each switches to. */
  readonly times: number[];
  readonly types: number[];
  readonly infos: { utoff: number; abbr: string }[];
  /** Footer POSIX TZ names for instants after the table: [std, dst?] with std's offset. */
  readonly footer: { std: string; stdOff: number; dst: string | undefined } | undefined;
}

let cache: { tz: string | undefined; zone: Zone | null } | undefined;

function zoneFile(tz: string | undefined): string | null {
  if (tz === undefined) return '/etc/localtime';
  let name = tz.startsWith(':') ? tz.slice(1) : tz;
  if (name === '' || name === 'UTC') return null;
  if (name.startsWith('/')) return name;
  if (name.includes('..')) return null;
  name = `/usr/share/zoneinfo/${name}`;
  return name;
}

function parseFooterName(s: string, i: number): [string, number] | null {
  if (s[i] === '<') {
    const e = s.indexOf('>', i);
    return e < 0 ? null : [s.slice(i + 1, e), e + 1];
  }
  const m = /^[A-Za-z]{3,}/.exec(s.slice(i));
  return m === null ? null : [m[0], i + m[0].length];
}

function parseFooter(s: string): Zone['footer'] {
  const std = parseFooterName(s, 0);
  if (std === null) return undefined;
  const m = /^([+-]?)(\d{1,3})(?::(\d{2}))?(?::(\d{2}))?/.exec(s.slice(std[1]));
  if (m === null) return undefined;
  // POSIX offsets are west-positive; flip to seconds east of UTC.
  const west = (Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0)) * (m[1] === '-' ? -1 : 1);
  const dst = parseFooterName(s, std[1] + m[0].length);
  return { std: std[0], stdOff: -west, dst: dst?.[0] };
}

function parseTzif(b: Buffer): Zone | null {
  if (b.length < 44 || b.toString('latin1', 0, 4) !== 'TZif') return null;
  const counts = (off: number) => [0, 1, 2, 3, 4, 5].map((k) => b.readUInt32BE(off + 20 + 4 * k)) as number[];
  let [isut, isstd, leap, timecnt, typecnt, charcnt] = counts(0) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  let off = 44;
  let timeSize = 4;
  if (b[4] !== 0) {
    off += timecnt * 4 + timecnt + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
    [isut, isstd, leap, timecnt, typecnt, charcnt] = counts(off) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    off += 44;
    timeSize = 8;
  }
  const times: number[] = [];
  for (let k = 0; k < timecnt; k++) {
    times.push(timeSize === 8 ? Number(b.readBigInt64BE(off + 8 * k)) : b.readInt32BE(off + 4 * k));
  }
  off += timecnt * timeSize;
  const types = [...b.subarray(off, off + timecnt)];
  off += timecnt;
  const raw: { utoff: number; abbrind: number }[] = [];
  for (let k = 0; k < typecnt; k++)
    raw.push({ utoff: b.readInt32BE(off + 6 * k), abbrind: b[off + 6 * k + 5] as number });
  off += typecnt * 6;
  const chars = b.subarray(off, off + charcnt);
  const infos = raw.map((r) => {
    const end = chars.indexOf(0, r.abbrind);
    return { utoff: r.utoff, abbr: chars.toString('latin1', r.abbrind, end < 0 ? chars.length : end) };
  });
  off += charcnt + leap * (timeSize + 4) + isstd + isut;
  let footer: Zone['footer'];
  if (timeSize === 8 && b[off] === 0x0a) {
    const e = b.indexOf(0x0a, off + 1);
    if (e > off) footer = parseFooter(b.toString('latin1', off + 1, e));
  }
  return { times, types, infos, footer };
}

function localZone(): Zone | null {
  const tz = process.env.TZ;
  if (cache !== undefined && cache.tz === tz) return cache.zone;
  let zone: Zone | null = null;
  const file = zoneFile(tz);
  if (file !== null) {
    try {
      zone = parseTzif(readFileSync(file));
    } catch {
      zone = null;
    }
  }
  cache = { tz, zone };
  return zone;
}

/** The abbreviation Go would print for `offsetMin` at `unixSeconds`, or undefined if unknown. */
export function tzAbbreviation(unixSeconds: number, offsetMin: number): string | undefined {
  const z = localZone();
  if (z === null) return offsetMin === 0 ? 'UTC' : undefined;
  const utoff = offsetMin * 60;
  const last = z.times.length - 1;
  if (z.footer !== undefined && (last < 0 || unixSeconds >= (z.times[last] as number))) {
    if (utoff === z.footer.stdOff) return z.footer.std;
    if (z.footer.dst !== undefined) return z.footer.dst;
  }
  let idx = -1;
  for (let k = last; k >= 0; k--) {
    if ((z.times[k] as number) <= unixSeconds) {
      idx = z.types[k] as number;
      break;
    }
  }
  const hit = z.infos[idx];
  if (hit !== undefined && hit.utoff === utoff) return hit.abbr;
  // Before the table (or an engine/tzdata mismatch): any type with this offset, latest first.
  for (let k = z.infos.length - 1; k >= 0; k--) if (z.infos[k]?.utoff === utoff) return z.infos[k]?.abbr;
  return undefined;
}
