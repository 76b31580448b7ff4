/**
 * `node --import tsx scripts/device/gpu-check-summary.ts <steps.tsv> <out dir> <phase>`: gpu-check.sh's summary.json
 * on stdout, rewritten after every step: each step's name, status and seconds, and the JSON objects its output file
 * holds (one per line; a TAP file gives its pass/fail counts instead), the ratios of the train benches to the
 * PyTorch peer, and why the phase stopped if it did.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface StepRow {
  name: string;
  status: string;
  seconds: number;
  output: string;
  results?: unknown[];
  tap?: Record<string, number>;
}

function jsonLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as unknown];
      } catch {
        return [];
      }
    });
}

/** The `# tests N`, `# pass N`, `# fail N`... trailer of a TAP stream. */
function tapCounts(text: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^# (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)$/gm))
    counts[match[1]] = Number(match[2]);
  return counts;
}

function readStep(line: string, outDir: string): StepRow {
  const [name, status, seconds, output] = line.split('\t');
  const row: StepRow = { name, status, seconds: Number(seconds), output };
  const path = join(outDir, output);
  if (!existsSync(path)) return row;
  const text = readFileSync(path, 'utf8');
  if (output.endsWith('.tap')) row.tap = tapCounts(text);
  else row.results = jsonLines(text);
  return row;
}

/** The bench's summary object of a train step: throughputs of our backend and the peer, and their ratios. */
function trainHeadline(row: StepRow) {
  const summary = row.results?.find((r) => (r as { name?: string }).name === 'summary') as
    Record<string, unknown> | undefined;
  if (!summary) return null;
  const peer = summary.peer as Record<string, unknown> | null;
  const ours = (summary.backends as Record<string, Record<string, unknown> | null>)[summary.backend as string];
  return {
    backend: summary.backend,
    model: summary.model,
    input: summary.input,
    batch_size: summary.batch_size,
    train_img_per_s: ours?.train_img_per_s ?? null,
    infer_img_per_s: ours?.infer_img_per_s ?? null,
    peak_rss_mb: ours?.peak_rss_mb ?? null,
    step_ms: ours?.step_ms ?? null,
    step_ms_uncaptured: ours?.step_ms_uncaptured ?? null,
    capture_speedup: ours?.capture_speedup ?? null,
    peer_device: peer?.device_name ?? peer?.device ?? null,
    peer_train_img_per_s: peer?.train_img_per_s ?? null,
    peer_infer_img_per_s: peer?.infer_img_per_s ?? null,
    ratio_to_peer_train: summary.ratio_to_peer_train,
    ratio_to_peer_infer: summary.ratio_to_peer_infer,
  };
}

const [stepsFile, outDir, phase] = process.argv.slice(2);
if (!stepsFile || !outDir || !phase) {
  console.error('usage: gpu-check-summary.ts <steps.tsv> <out dir> <phase>');
  process.exit(2);
}
const rows = readFileSync(stepsFile, 'utf8')
  .split('\n')
  .filter((line) => line.includes('\t'));
const stopped = rows.find((line) => line.startsWith('stopped\t'))?.split('\t')[1] ?? null;
const steps = rows.filter((line) => !line.startsWith('stopped\t')).map((line) => readStep(line, outDir));
const env = existsSync(join(outDir, 'env.json')) ? jsonLines(readFileSync(join(outDir, 'env.json'), 'utf8')) : [];
const headlines = Object.fromEntries(
  steps.filter((s) => s.name.startsWith('train-')).map((s) => [s.name, trainHeadline(s)]),
);
const passed = stopped === null && steps.every((s) => ['ok', 'skipped'].includes(s.status) && !s.tap?.fail);
console.log(JSON.stringify({ phase, passed, stopped, env, headlines, steps }, null, 2));
