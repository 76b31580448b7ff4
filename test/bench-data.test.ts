/**
 * `npm run bench -- data` on a folder with bad files: the sharp baselines skip the files the pipeline skips (zero-byte,
 * truncated, not an image) instead of crashing on them, and the JSON reports how many were left out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeImageFolder } from '../src/data/synthetic-folder.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('bench data: baselines skip the bad files the pipeline skips and report their count', async () => {
  const root = mkdtempSync(join(tmpdir(), 'n2n-bench-data-'));
  try {
    const dir = join(root, 'folder');
    const made = await makeImageFolder(dir, {
      classes: 4,
      perClass: 20,
      width: 64,
      height: 48,
      oddFiles: true,
      seed: 1,
    });
    const badTrain = made.trainFiles - made.goodTrain;
    assert.ok(badTrain >= 3, `the folder has ${badTrain} bad training files`);
    const args = ['--data', `imagenet:${dir}`, '--images', '1000', '--long-images', '8', '--batch-size', '4'];
    args.push('--size', '32', '--repeats', '1', '--decode-threads', '0', '--concurrency', '2', '--no-pil');
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/bench.ts', 'data', ...args, '--cache-dir', join(root, 'cache')],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(result.status, 0, result.stderr.slice(-3000));
    const rows = new Map(
      result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { name: string; [key: string]: unknown })
        .map((row) => [row.name, row]),
    );
    assert.equal(rows.get('setup')!.bad_files_skipped, badTrain);
    assert.equal(rows.get('setup')!.files, made.goodTrain);
    for (const baseline of ['raw-sharp', 'sharp-region', 'sharp-crop-resize'])
      assert.equal(rows.get(baseline)?.images, made.goodTrain, `${baseline} measured other files`);
    assert.equal(rows.get('summary')!.bad_files_skipped, badTrain);
    assert.match(result.stderr, /bench data: skipped .*_truncated\.JPEG: truncated JPEG/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
