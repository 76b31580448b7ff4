/**
 * `npm run bench -- <train|transform|data> [options]`: each benchmark prints one JSON object per measurement on stdout.
 * Timing lives here, never in tests.
 */
const BENCHMARKS = {
  train: () => import('./bench/train.ts'),
  transform: () => import('./bench/transform.ts'),
  data: () => import('./bench/data.ts'),
} as const;

type BenchName = keyof typeof BENCHMARKS;

const [name, ...rest] = process.argv.slice(2);
if (!name || !(name in BENCHMARKS)) {
  console.error(`usage: npm run bench -- <${Object.keys(BENCHMARKS).join('|')}> [options]; got '${name ?? ''}'`);
  process.exit(2);
}
const bench = await BENCHMARKS[name as BenchName]();
await bench.run(rest);
