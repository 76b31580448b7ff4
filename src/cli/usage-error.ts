/** A bad command-line argument: the commands print its message and exit with status 2 (runtime errors exit 1). */
export class UsageError extends Error {
  override name = 'UsageError';
}
