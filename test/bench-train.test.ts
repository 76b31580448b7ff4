/**
 * `npm run bench -- train` on a tiny network: one JSON result with throughputs, no leaked tensors, peak RSS and the
 * trainable-parameter count the PyTorch peer is checked against; `--image-size` sets the input; bad options exit 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function bench(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench.ts', 'train', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
}

test('bench train: a tiny network on cpu prints one result; --image-size sets the input', () => {
  const tiny = ['--backend', 'cpu', '--width', '0.05', '--batch-size', '2', '--steps', '1', '--image-size', '12'];
  const run = bench([...tiny, '--cudnn-benchmark']);
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.split('\n').filter((l) => l.startsWith('{'));
  assert.equal(lines.length, 1);
  const result = JSON.parse(lines[0]) as Record<string, unknown>;
  assert.equal(result.backend, 'cpu');
  assert.equal(result.input, '12x12x1');
  assert.equal(result.leaked_tensors, 0);
  assert.equal(result.cudnn_benchmark, true, '--cudnn-benchmark is recorded');
  assert.match(run.stderr, /cuDNN benchmark on \(recorded; no effect on the cpu backend\)/);
  for (const key of ['train_img_per_s', 'infer_img_per_s', 'peak_rss_mb'])
    assert.ok((result[key] as number) > 0, `${key}: ${result[key]}`);
  // BatchNorm's moving statistics (2 per channel) are the difference between all and trainable parameters.
  assert.ok((result.trainable_params as number) < (result.params as number));
});

test('bench train: bad options exit with status 2 and name the value', () => {
  const zero = bench(['--backend', 'cpu', '--image-size', '0']);
  assert.equal(zero.status, 2);
  assert.match(zero.stderr, /--image-size 0 is invalid/);
  const unknown = bench(['--backend', 'cpu', '--compare-with', 'wasm,gpu']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /--compare-with 'gpu' is invalid/);
});
