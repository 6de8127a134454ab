import type { LogLevel } from './types.js';

/** `logging.level` as a pino level: pino has no `panic` (logrus exits after it) nor `warning`. */
export const PINO_LEVEL: Readonly<Record<LogLevel, 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'>> =
  {
    panic: 'fatal',
    fatal: 'fatal',
    error: 'error',
    warning: 'warn',
    info: 'info',
    debug: 'debug',
    trace: 'trace',
  };
