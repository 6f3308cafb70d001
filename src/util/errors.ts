/** An Error for anything thrown or rejected with (callbacks and promises may carry non-Errors). */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
