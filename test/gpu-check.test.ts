/**
 * The prepared GPU check (scripts/device/gpu-check.sh) on this machine: with a CPU-only build it stops at once and
 * says why in summary.json, instead of reporting success without a GPU; as a dry run (GPU_CHECK_ALLOW_CPU=1) its
 * device probe runs one convolution on torch and compares it with the cpu backend, its capture step compares
 * captured with uncaptured training, and summary.json is written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addonBuildInfo } from '../src/backend/torch/addon.ts';
import { SKIP_REASON, torchBuilt } from './torch-fixtures.ts';

const scratch = mkdtempSync(join(tmpdir(), 'gpu-check-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

function check(phase: string, out: string, env: Record<string, string>) {
  return spawnSync('bash', ['scripts/device/gpu-check.sh', phase], {
    env: { ...process.env, OUT: out, GPU_CHECK_SKIP: 'build', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

interface Summary {
  phase: string;
  passed: boolean;
  stopped: string | null;
  steps: { name: string; status: string; results?: Record<string, unknown>[] }[];
}
const readSummary = (out: string) => JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;

test('the GPU check stops at once on a build without CUDA, naming why, and never reports success', (t) => {
  if (!torchBuilt()) return t.skip(SKIP_REASON);
  if (addonBuildInfo()?.cuda) return t.skip('this addon has CUDA: the check would go on (the device runs it)');
  const out = join(scratch, 'a');
  const run = check('A', out, {});
  assert.equal(run.status, 3, run.stderr.slice(-1500));
  const summary = readSummary(out);
  assert.equal(summary.passed, false);
  assert.match(summary.stopped!, /built against a libtorch without CUDA/);
  assert.ok(!summary.steps.some((s) => s.name.startsWith('test-')), 'no test ran');
});

test('a dry run on the CPU: the device probe compares torch with cpu, and summary.json is written after each step', (t) => {
  if (!torchBuilt()) return t.skip(SKIP_REASON);
  const out = join(scratch, 'dry');
  const run = check('A', out, {
    GPU_CHECK_ALLOW_CPU: '1',
    GPU_CHECK_CAPTURE_STEPS: '4',
    GPU_CHECK_SKIP: 'build,test-kernels,test-device-control,test-training,test-operators',
  });
  assert.equal(run.status, 0, run.stderr.slice(-1500));
  const summary = readSummary(out);
  assert.equal(summary.phase, 'A');
  assert.equal(summary.stopped, null);
  const probe = summary.steps.find((s) => s.name === 'probe')!;
  assert.equal(probe.status, 'ok');
  const result = probe.results![0]!;
  assert.equal(result.ok, true);
  assert.ok((result.max_abs_difference as number) <= 1e-5 * Math.max(1, result.output_scale as number));
  assert.deepEqual(
    summary.steps.map((s) => [s.name, s.status]),
    [
      ['build', 'skipped'],
      ['probe', 'ok'],
      ['capture', 'ok'],
      ['test-kernels', 'skipped'],
      ['test-device-control', 'skipped'],
      ['test-training', 'skipped'],
      ['test-operators', 'skipped'],
    ],
  );
  const capture = summary.steps.find((s) => s.name === 'capture')!.results![0]!;
  assert.deepEqual([capture.replayed, capture.identical], [true, true], 'captured losses equal uncaptured ones');
  assert.equal(summary.passed, true);
});

test('the GPU check takes phase A or B, nothing else (exit 2)', () => {
  const run = spawnSync('bash', ['scripts/device/gpu-check.sh', 'C'], { encoding: 'utf8' });
  assert.equal(run.status, 2);
  assert.match(run.stderr, /usage: scripts\/device\/gpu-check.sh A\|B/);
});
