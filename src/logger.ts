/** The root pino logger. Quiet by default (info: a ready line and warnings); JSON to stderr. */
import { pino, type Logger } from 'pino';

export type { Logger };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'panic' | 'fatal' | 'silent';

export function createLogger(level: LogLevel): Logger {
  // etcd's "panic" level maps to pino's fatal.
  const lvl = level === 'panic' ? 'fatal' : level;
  return pino({ level: lvl, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}
