/** How a batch is split over replicas: contiguous shards whose sizes differ by at most one, larger ones first. */
export function shardSizes(batchSize: number, replicas: number): number[] {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(replicas) || replicas < 1)
    throw new Error(`replica count must be a positive integer, got ${replicas}`);
  const base = Math.floor(batchSize / replicas);
  const extra = batchSize % replicas;
  return Array.from({ length: replicas }, (_, i) => base + (i < extra ? 1 : 0));
}

/** First example of each shard. */
export function shardStarts(sizes: number[]): number[] {
  const starts: number[] = [];
  let next = 0;
  for (const size of sizes) {
    starts.push(next);
    next += size;
  }
  return starts;
}
