/**
 * Go's text formats used by `nebula-cert print`: `time.Time.String()`, `time.Time.MarshalJSON()`
 * (both in the local zone) and `encoding/json` string escaping as of Go 1.19 (Debian's build).
 */

import { tzAbbreviation } from './tzif.js';

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

// JS Dates stop at ±8.64e15 ms; beyond that the zone rules of the nearest representable instant
// are used (Go extends the zone's last rule, which is the same thing for fixed-offset zones).
const DATE_LIMIT_S = 8_640_000_000_000;

function zoneAt(unixSeconds: number): { offsetMin: number; abbrev: string } {
  const d = new Date(Math.max(-DATE_LIMIT_S, Math.min(DATE_LIMIT_S, unixSeconds)) * 1000);
  const offsetMin = -d.getTimezoneOffset();
  return { offsetMin, abbrev: zoneAbbreviation(d, offsetMin) };
}

function zoneAbbreviation(d: Date, offsetMin: number): string {
  return tzAbbreviation(Math.floor(d.getTime() / 1000), offsetMin) ?? numericOffset(offsetMin, '', true);
}

function numericOffset(offsetMin: number, sep: string, short: boolean): string {
  const sign = offsetMin < 0 ? '-' : '+';
  const a = Math.abs(offsetMin);
  const hh = pad(Math.floor(a / 60), 2);
  if (short && a % 60 === 0) return `${sign}${hh}`;
  return `${sign}${hh}${sep}${pad(a % 60, 2)}`;
}

interface Civil {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** Proleptic Gregorian calendar fields of a wall-clock second count (exact for any safe integer). */
function civil(wallSeconds: number): Civil {
  const days = Math.floor(wallSeconds / 86_400);
  const sod = wallSeconds - days * 86_400;
  // Howard Hinnant's civil_from_days.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return {
    year,
    month,
    day,
    hour: Math.floor(sod / 3600),
    minute: Math.floor((sod % 3600) / 60),
    second: sod % 60,
  };
}

/** Go's 4-wide year: `-0005`, `0042`, `12345`. */
function goYear(y: number): string {
  return y < 0 ? `-${pad(-y, 4)}` : pad(y, 4);
}

function wallClock(c: Civil, mid: string): string {
  return `${goYear(c.year)}-${pad(c.month, 2)}-${pad(c.day, 2)}${mid}${pad(c.hour, 2)}:${pad(c.minute, 2)}:${pad(c.second, 2)}`;
}

/** `2026-11-21 20:57:31 +0000 UTC` */
export function goTimeString(unixSeconds: number): string {
  const z = zoneAt(unixSeconds);
  return `${wallClock(civil(unixSeconds + z.offsetMin * 60), ' ')} ${numericOffset(z.offsetMin, '', false)} ${z.abbrev}`;
}

/**
 * RFC 3339 as Go's `Time.MarshalJSON`: `2026-11-21T20:57:31Z` or `...+01:00`; `null` when Go
 * refuses (year outside [0, 9999]).
 */
export function goTimeRFC3339(unixSeconds: number): string | null {
  const z = zoneAt(unixSeconds);
  const c = civil(unixSeconds + z.offsetMin * 60);
  if (c.year < 0 || c.year > 9999) return null;
  return `${wallClock(c, 'T')}${z.offsetMin === 0 ? 'Z' : numericOffset(z.offsetMin, ':', false)}`;
}

const HEX = '0123456789abcdef';

/** `encoding/json` string with HTML escaping (Go 1.19: \b and \f as \u0008 / \u000c). */
export function goJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) {
      out += `\\u00${HEX[c >> 4]}${HEX[c & 15]}`;
    } else if (c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16)}`;
    else out += s[i];
  }
  return `${out}"`;
}
