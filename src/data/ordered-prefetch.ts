/**
 * Runs `work` on a stream of items through a shared p-queue, keeping up to `lookahead` items in flight or finished
 * ahead of the consumer, and yields the results in item order: the output order never depends on the concurrency,
 * and memory is bounded by `lookahead` results.
 */
import type PQueue from 'p-queue';

/** Result of a task whose stream was closed before the task started. */
const CANCELLED: unique symbol = Symbol('cancelled');

export async function* orderedPrefetch<Item, Result>(
  items: Iterator<Item>,
  work: (item: Item) => Promise<Result>,
  queue: PQueue,
  lookahead: number,
): AsyncGenerator<Result, void, undefined> {
  if (!Number.isInteger(lookahead) || lookahead < 1) throw new Error(`orderedPrefetch: lookahead must be >= 1, got ${lookahead}`);
  let closed = false;
  const window: Promise<Result | typeof CANCELLED>[] = [];
  const fill = (): void => {
    while (window.length < lookahead) {
      const next = items.next();
      if (next.done) return;
      const item = next.value;
      const task = queue.add(async () => (closed ? CANCELLED : work(item))) as Promise<Result | typeof CANCELLED>;
      // Marks the rejection handled: an abandoned window must not raise unhandled rejections; awaiting still throws.
      task.catch(() => {});
      window.push(task);
    }
  };
  try {
    fill();
    while (window.length > 0) {
      const result = await window.shift()!;
      if (result === CANCELLED) return;
      fill();
      yield result;
    }
  } finally {
    closed = true;
  }
}
