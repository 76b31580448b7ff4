/**
 * The install step on a machine without libtorch or a compiler: it succeeds, prints one line on how to get the torch
 * backend and builds nothing; run by hand with a bad LIBTORCH it fails; and `--backend auto` then runs on wasm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * A fake pip wheel: site-packages/torch/{include,lib} with tiny real shared libraries, libtorch_cuda.so needing a
 * library that only site-packages/nvidia/cudnn/lib has (as a CUDA wheel's does), and a "python3" that reports it.
 */
function fakeWheel(name: string, deviceHeader: string) {
  const site = join(scratch, name, 'site-packages');
  const torchDir = join(site, 'torch');
  const lib = join(torchDir, 'lib');
  const cudnn = join(site, 'nvidia', 'cudnn', 'lib');
  for (const dir of [join(torchDir, 'include', 'ATen'), join(torchDir, 'include', 'c10', 'core'), lib, cudnn])
    mkdirSync(dir, { recursive: true });
  writeFileSync(join(torchDir, 'include', 'ATen', 'ATen.h'), '');
  writeFileSync(join(torchDir, 'include', 'c10', 'core', 'Device.h'), deviceHeader);
  const source = join(scratch, name, 'empty.cc');
  writeFileSync(source, 'int net2net_fake_symbol() { return 1; }\n');
  const shared = (out: string, extra: string[] = []) => {
    const made = spawnSync('g++', ['-shared', '-fPIC', source, '-o', out, ...extra], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
  };
  shared(join(cudnn, 'libfakecudnn.so.9'), ['-Wl,-soname,libfakecudnn.so.9']);
  for (const base of ['libtorch_cpu.so', 'libc10.so', 'libc10_cuda.so']) shared(join(lib, base));
  // No RPATH of its own: where the dynamic loader finds libfakecudnn is up to whoever loads libtorch_cuda.
  shared(join(lib, 'libtorch_cuda.so'), ['-Wl,--no-as-needed', join(cudnn, 'libfakecudnn.so.9')]);
  const python = join(scratch, name, 'python3');
  writeFileSync(python, `#!/bin/sh\nprintf '%s\\n' '${torchDir}' 1 2.99.0+cu130\n`, { mode: 0o755 });
  return { site, python, cudnn };
}

function plan(python: string, extra: Record<string, string> = {}) {
  const result = build(['--print-plan'], hidden({ NET2NET_TORCH_PYTHON: python, ...extra }));
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as {
    cuda: boolean;
    cudaGraphs: string[] | null;
    std: string;
    rpaths: string[];
    link: string[];
  };
}

test('a pip CUDA wheel: the addon finds site-packages/nvidia/*/lib through its RPATH and links what libtorch_cuda needs', (t) => {
  if (spawnSync('g++', ['--version']).status !== 0) {
    if (process.env.CI) assert.fail('CI has g++ (.ci/run installs it)');
    return t.skip('no g++');
  }
  const wheel = fakeWheel('wheel', '');
  const built = plan(wheel.python);
  assert.equal(built.cuda, true);
  assert.equal(built.std, 'c++17');
  assert.ok(built.rpaths.includes(wheel.cudnn), JSON.stringify(built.rpaths));
  assert.ok(built.link.includes(join(wheel.cudnn, 'libfakecudnn.so.9')), 'linked directly');
  // Link a stand-in addon with the plan's flags and load it in a fresh process with no library path set.
  const addonSource = join(scratch, 'wheel', 'addon.cc');
  writeFileSync(addonSource, 'extern "C" int net2net_addon() { return 2; }\n');
  const load = (flags: string[]) => {
    const out = join(scratch, 'wheel', `addon-${flags.length}.so`);
    const made = spawnSync('g++', ['-shared', '-fPIC', addonSource, '-o', out, ...flags], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.LD_LIBRARY_PATH;
    return spawnSync('python3', ['-c', `import ctypes; ctypes.CDLL(${JSON.stringify(out)})`], {
      env,
      encoding: 'utf8',
    });
  };
  const withPlan = load(built.link);
  assert.equal(withPlan.status, 0, withPlan.stderr);
  // The control: the old link line (torch's lib folder as the only rpath) cannot load libtorch_cuda's dependency.
  const torchLib = built.rpaths[0]!;
  const control = load([`-L${torchLib}`, `-Wl,-rpath,${torchLib}`, '-Wl,--no-as-needed', '-ltorch_cuda']);
  assert.notEqual(control.status, 0);
  assert.match(control.stderr, /libfakecudnn\.so\.9/);
});

test("CUDA graphs are built where libtorch's graph header finds the CUDA runtime headers (a wheel's nvidia/*/include)", (t) => {
  if (spawnSync('g++', ['--version']).status !== 0) {
    if (process.env.CI) assert.fail('CI has g++ (.ci/run installs it)');
    return t.skip('no g++');
  }
  const wheel = fakeWheel('graphs', '');
  const cudaHeaders = join(wheel.site, 'torch', 'include', 'ATen', 'cuda');
  mkdirSync(cudaHeaders, { recursive: true });
  writeFileSync(join(cudaHeaders, 'CUDAGraph.h'), '#include <cuda_runtime_api.h>\n');
  // A CUDA_HOME without headers keeps the build from looking in /usr/local/cuda (which this machine may have).
  const noToolkit = { CUDA_HOME: join(scratch, 'no-cuda'), CUDA_PATH: '' };
  const withoutRuntime = plan(wheel.python, noToolkit);
  assert.equal(withoutRuntime.cuda, true);
  assert.equal(withoutRuntime.cudaGraphs, null, 'no cuda_runtime_api.h anywhere: built without graphs');
  const runtime = join(wheel.site, 'nvidia', 'cuda_runtime', 'include');
  mkdirSync(runtime, { recursive: true });
  writeFileSync(join(runtime, 'cuda_runtime_api.h'), '');
  assert.ok(plan(wheel.python, noToolkit).cudaGraphs?.includes(runtime), "the wheel's runtime headers found");
});

test('the C++ standard follows the torch headers: C++20 where they refuse C++17', (t) => {
  if (spawnSync('g++', ['--version']).status !== 0) {
    if (process.env.CI) assert.fail('CI has g++ (.ci/run installs it)');
    return t.skip('no g++');
  }
  const needs20 = fakeWheel('cxx20', '#if __cplusplus < 202002L\n#error "this torch needs C++20"\n#endif\n');
  assert.equal(plan(needs20.python).std, 'c++20');
});
