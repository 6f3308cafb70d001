/**
 * The errors of the bbolt reader and writer, each with a stable `code`.
 *
 * The messages of a file bbolt itself refuses to open keep bbolt's own words (errors.go in
 * etcd-io/bbolt: "invalid database", "version mismatch", "checksum error", and db.go's
 * "file size too small"), so a log line reads the same as etcd's would.
 */

export type BboltErrorCode =
  /** Not a bbolt file: bad magic, unreadable first page. */
  | 'ERR_BBOLT_INVALID'
  /** A bbolt file of another format version. */
  | 'ERR_BBOLT_VERSION'
  /** Both meta pages fail their FNV-64a checksum. */
  | 'ERR_BBOLT_CHECKSUM'
  /** Shorter than two pages, or than its high-water mark says. */
  | 'ERR_BBOLT_TOO_SMALL'
  /** A page or element that cannot be what the tree says it is. */
  | 'ERR_BBOLT_CORRUPT'
  /** The SHA-256 suffix of an etcd snapshot does not match the database. */
  | 'ERR_BBOLT_DIGEST'
  /** The writer was called out of order (unsorted keys, unbalanced buckets, …). */
  | 'ERR_BBOLT_USAGE';

export class BboltError extends Error {
  readonly code: BboltErrorCode;

  constructor(code: BboltErrorCode, message: string) {
    super(message);
    this.name = 'BboltError';
    this.code = code;
  }
}

export const invalidDatabase = (): BboltError =>
  new BboltError('ERR_BBOLT_INVALID', 'invalid database');
export const versionMismatch = (): BboltError =>
  new BboltError('ERR_BBOLT_VERSION', 'version mismatch');
export const checksumError = (): BboltError =>
  new BboltError('ERR_BBOLT_CHECKSUM', 'checksum error');
export const corrupt = (message: string): BboltError =>
  new BboltError('ERR_BBOLT_CORRUPT', message);
export const usage = (message: string): BboltError => new BboltError('ERR_BBOLT_USAGE', message);
