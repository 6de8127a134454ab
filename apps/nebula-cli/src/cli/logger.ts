/**
 * The app's root logger: pino, with a destination that rewrites each record the way Go Nebula's
 * logrus prints it, so operators can grep Go and TS nodes alike.
 *
 *   text: time="2026-11-21T22:06:32Z" level=info msg="Firewall started" firewallHash=570d…
 *   json: {"firewallHash":"570d…","level":"info","msg":"Firewall started","time":"2026-…Z"}
 *
 * Format, level and timestamp settings can change on SIGHUP (`apply`).
 */

import { type LoggingConfig, PINO_LEVEL } from '@nebula-ts/config';
import { type Logger, pino } from 'pino';
import { compileGoLayout, RFC3339 } from './go-time.js';

export interface LogSink {
  write(line: string): unknown;
}

const LOGRUS_LEVEL: Readonly<Record<number, string>> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warning',
  50: 'error',
  60: 'fatal',
};

/** logrus quotes a text value unless every character is in [A-Za-z0-9-._/@^+]. */
function needsQuoting(s: string): boolean {
  if (s === '') return true;
  return !/^[A-Za-z0-9\-._/@^+]+$/.test(s);
}

/** Go's %q for the characters that matter in logs. */
function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u007f/g, '\\x7f');
}

/** fmt.Sprint-like rendering of a field value: maps as map[k:v], lists as [a b]. */
function goValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `map[${Object.keys(o)
      .sort()
      .map((k) => `${k}:${goValue(o[k])}`)
      .join(' ')}]`;
  }
  return String(v);
}

function errorText(v: unknown): string {
  if (typeof v === 'object' && v !== null && typeof (v as { message?: unknown }).message === 'string')
    return (v as { message: string }).message;
  return goValue(v);
}

export class LogrusDestination implements LogSink {
  private format: 'text' | 'json' = 'text';
  private formatTime: (ms: number) => string = compileGoLayout(RFC3339);
  private disableTimestamp = false;

  constructor(private readonly out: LogSink) {}

  configure(logging: Pick<LoggingConfig, 'format' | 'timestamp_format' | 'disable_timestamp'>): void {
    this.format = logging.format;
    this.formatTime = compileGoLayout(logging.timestamp_format === '' ? RFC3339 : logging.timestamp_format);
    this.disableTimestamp = logging.disable_timestamp;
  }

  write(line: string): void {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.out.write(line);
      return;
    }
    const { time, level, msg, err, error, ...fields } = rec;
    const data: Record<string, unknown> = fields;
    if (err !== undefined) data.error = errorText(err);
    else if (error !== undefined) data.error = errorText(error);
    const levelName = typeof level === 'number' ? (LOGRUS_LEVEL[level] ?? 'info') : String(level ?? 'info');
    const message = msg === undefined ? '' : String(msg);
    const timeText = this.disableTimestamp || typeof time !== 'number' ? undefined : this.formatTime(time);
    this.out.write(
      this.format === 'json'
        ? this.json(timeText, levelName, message, data)
        : this.text(timeText, levelName, message, data),
    );
  }

  private text(time: string | undefined, level: string, msg: string, data: Record<string, unknown>): string {
    const kv = (k: string, v: string): string => `${k}=${needsQuoting(v) ? goQuote(v) : v}`;
    const parts: string[] = [];
    if (time !== undefined) parts.push(kv('time', time));
    parts.push(kv('level', level));
    if (msg !== '') parts.push(kv('msg', msg));
    for (const k of Object.keys(data).sort()) parts.push(kv(k, goValue(data[k])));
    return `${parts.join(' ')}\n`;
  }

  private json(time: string | undefined, level: string, msg: string, data: Record<string, unknown>): string {
    const all: Record<string, unknown> = { ...data, level, msg };
    if (time !== undefined) all.time = time;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(all).sort()) sorted[k] = all[k];
    return `${JSON.stringify(sorted)}\n`;
  }
}

export interface NebulaLogger {
  readonly logger: Logger;
  /** Applies `logging.*` (startup and SIGHUP). */
  apply(logging: LoggingConfig): void;
}

export function createNebulaLogger(out: LogSink = process.stdout, logging?: LoggingConfig): NebulaLogger {
  const dest = new LogrusDestination(out);
  const logger = pino(
    {
      level: 'info',
      base: null,
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.epochTime,
      formatters: { level: (_label, number) => ({ level: number }) },
    },
    dest,
  );
  const apply = (l: LoggingConfig): void => {
    dest.configure(l);
    logger.level = PINO_LEVEL[l.level];
  };
  if (logging) apply(logging);
  return { logger, apply };
}
