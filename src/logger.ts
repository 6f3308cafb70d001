/**
 * The root pino logger. Quiet by default (info: a ready line and warnings); JSON to stderr.
 *
 * stderr may be a pipe nobody reads (`etcd-ts 2>&1 | head -1`, a supervisor that stalled): the
 * destination then buffers at most MAX_BUFFERED_BYTES (later lines are dropped) and, once the
 * process is stopping, retries a full pipe only until the flush deadline. So logging can neither
 * grow memory without bound nor keep a stopping process alive.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'panic' | 'fatal' | 'silent';

const MAX_BUFFERED_BYTES = 4 << 20;

/** A SonicBoom with the methods we use at exit. */
interface Destination extends DestinationStream {
  flushSync(): void;
  on(event: 'error', cb: (err: NodeJS.ErrnoException) => void): unknown;
}

/** Until when a full stderr pipe is retried; Infinity until the process starts stopping. */
let giveUpAt = Infinity;
const destinations: Destination[] = [];

export function createLogger(level: LogLevel): Logger {
  // etcd's "panic" level maps to pino's fatal.
  const lvl = level === 'panic' ? 'fatal' : level;
  const dest = pino.destination({
    fd: 2,
    sync: false,
    maxLength: MAX_BUFFERED_BYTES,
    retryEAGAIN: () => performance.now() < giveUpAt,
  }) as unknown as Destination;
  // A write that gave up (EAGAIN past the deadline) or a closed pipe: stop logging quietly.
  dest.on('error', () => {
    dest.write = () => true;
    dest.flushSync = () => undefined;
  });
  destinations.push(dest);
  return pino({ level: lvl, base: { pid: process.pid } }, dest);
}

/**
 * Writes out what the loggers still buffer, waiting at most `withinMs` for a full stderr pipe,
 * then makes later flushes (pino's own at exit) no-ops. Call right before process.exit().
 */
export function flushLogsBeforeExit(withinMs = 1000): void {
  giveUpAt = Math.min(giveUpAt, performance.now() + withinMs);
  for (const dest of destinations) {
    try {
      dest.flushSync();
    } catch {
      // Still full at the deadline, or closed: what is left is dropped.
    }
    dest.flushSync = () => undefined;
  }
}
