/**
 * The logging interface every module takes: pino's Logger satisfies it, and tests pass
 * SILENT_LOG or a recorder. Objects first, message second, as pino wants them.
 */
export interface Log {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const nothing = (): void => undefined;

/** A Log that drops everything. */
export const SILENT_LOG: Log = { debug: nothing, info: nothing, warn: nothing, error: nothing };
