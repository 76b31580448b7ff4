/**
 * The install step on a machine without libtorch or a compiler: it succeeds, prints one line on how to get the torch
 * backend and builds nothing; run by hand with a bad LIBTORCH it fails; and `--backend auto` then runs on wasm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const scratch = mkdtempSync(join(tmpdir(), 'torch-install-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));
const buildDir = join(scratch, 'build');

/** An environment in which every libtorch is hidden. */
function hidden(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.LIBTORCH;
  return {
    ...env,
    NET2NET_TORCH_PYTHON: join(scratch, 'no-python3'),
    NET2NET_TORCH_SYSTEM_PREFIX: join(scratch, 'no-usr'),
    NET2NET_TORCH_BUILD_DIR: buildDir,
    ...extra,
  };
}

function build(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, ['scripts/build-torch-addon.mjs', ...args], { env, encoding: 'utf8' });
}

test('without a libtorch the install step succeeds and prints one line on how to enable torch', () => {
  const result = build(['--install'], hidden());
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  assert.equal(lines.length, 1, result.stdout);
  assert.match(lines[0]!, /torch backend is not built \(no libtorch found\)/);
  assert.match(lines[0]!, /apt-get install libtorch-dev g\+\+/);
  assert.ok(!existsSync(join(buildDir, 'torch-backend.node')));
});

test('without a compiler the install step succeeds and says so', () => {
  const result = build(['--install'], hidden({ CXX: join(scratch, 'no-g++') }));
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /not built \(no C\+\+ compiler/);
});

test('a LIBTORCH without libtorch fails a build run by hand', () => {
  const result = build([], hidden({ LIBTORCH: join(scratch, 'not-libtorch') }));
  assert.equal(result.status, 1);
  assert.match(result.stderr, /LIBTORCH=.*not-libtorch has no include\/ATen\/ATen\.h/);
});

test('--backend auto runs the smoke experiment on wasm when the addon was not built', () => {
  const out = join(scratch, 'wider');
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/experiment.ts',
      'wider',
      '--preset',
      'smoke',
      '--backend',
      'auto',
      '--out',
      out,
      '--figures',
      'false',
    ],
    { env: { ...process.env, NET2NET_TORCH_ADDON: join(buildDir, 'torch-backend.node') }, encoding: 'utf8' },
  );
  assert.equal(result.status, 0, result.stderr.slice(-2000));
  assert.match(result.stderr, /\[backend\] wasm .*torch skipped: the native torch addon is not built/);
  assert.ok(existsSync(join(out, 'summary.json')));
});
