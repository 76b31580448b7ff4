/**
 * The wasm backend's Emscripten glue, once it starts in Node, installs process-wide `uncaughtException` and
 * `unhandledRejection` handlers that rethrow. Every later uncaught error then surfaces from inside the glue: Node
 * prints the glue's minified source (~40 KB on one line) before the real message and exits with status 7. Removing
 * the handlers it added gives such errors back to Node's own handling (the error and its stack, exit status 1), as
 * with every other backend.
 */

const ERROR_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;
type ErrorEvent = (typeof ERROR_EVENTS)[number];
type Listener = (...args: unknown[]) => void;
/** The two events' listener types differ only in their arguments. */
type AnyErrorEvent = 'uncaughtException';

function listenersOf(event: ErrorEvent): Listener[] {
  return process.listeners(event as AnyErrorEvent) as Listener[];
}

/** Runs `load`, then removes the process error handlers added while it ran (and only those). */
export async function withoutAddedErrorHandlers<T>(load: () => Promise<T>): Promise<T> {
  const before = new Map(ERROR_EVENTS.map((event) => [event, new Set(listenersOf(event))]));
  try {
    return await load();
  } finally {
    for (const event of ERROR_EVENTS) {
      for (const listener of listenersOf(event)) {
        if (!before.get(event)!.has(listener)) process.removeListener(event as AnyErrorEvent, listener);
      }
    }
  }
}
