/**
 * A request the user can fix by asking differently: a bad argument, a bad combination of options, a folder that is
 * not what the command needs. Every command prints its message and exits with status 2 (runtime errors exit 1).
 */
export class UsageError extends Error {
  override name = 'UsageError';
}
