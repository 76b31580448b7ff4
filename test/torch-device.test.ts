/**
 * NET2NET_TORCH_DEVICE=cuda asks for a GPU and gets one or an error naming why not (a libtorch without CUDA, or no
 * visible GPU) — never a silent fall back to the CPU; unset, torch takes a GPU where there is one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { addonBuildInfo } from '../src/backend/torch/addon.ts';
import { cudaRefusal, requestedDevice } from '../src/backend/torch/register.ts';
import { parseGpuQuery, physicalGpuId } from '../src/backend/torch/gpu-description.ts';
import { SKIP_REASON, torchBuilt } from './torch-fixtures.ts';

test('NET2NET_TORCH_DEVICE: cpu, cuda or unset; anything else is refused by name', () => {
  assert.equal(requestedDevice(undefined), 'any');
  assert.equal(requestedDevice(''), 'any');
  assert.equal(requestedDevice('cpu'), 'cpu');
  assert.equal(requestedDevice('cuda'), 'cuda');
  assert.throws(() => requestedDevice('gpu'), /NET2NET_TORCH_DEVICE must be cpu or cuda, got 'gpu'/);
});

test('cuda is refused with the reason: a libtorch without CUDA, or no visible GPU', () => {
  const cpuOnly = { libtorch: 'system libtorch (/usr/include)', version: null, cuda: false };
  const withCuda = { libtorch: 'Python torch 2.11.0+cu130', version: '2.11.0', cuda: true };
  assert.match(cudaRefusal(cpuOnly, 0)!, /built against a libtorch without CUDA \(system libtorch/);
  assert.match(cudaRefusal(cpuOnly, 1)!, /without CUDA/, 'the build record decides even if a GPU is counted');
  assert.match(cudaRefusal(withCuda, 0)!, /libtorch sees no GPU/);
  assert.match(cudaRefusal(null, 0)!, /no GPU.*no build record/);
  assert.equal(cudaRefusal(withCuda, 1), null);
});

test('the torch backend with NET2NET_TORCH_DEVICE=cuda on this machine fails naming why, instead of using the CPU', (t) => {
  if (!torchBuilt()) return t.skip(SKIP_REASON);
  const script =
    "import { selectBackend } from './src/backend/backend.ts';" +
    "const info = await selectBackend('torch', () => {}, { threads: 1 });" +
    'console.log(JSON.stringify(info));';
  const run = (device: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, NET2NET_TORCH_DEVICE: device },
      encoding: 'utf8',
    });
  const info = addonBuildInfo();
  const cuda = run('cuda');
  if (info?.cuda) {
    // A CUDA build (the GPU check's machine): the backend must be on the GPU, or refuse with the reason.
    assert.ok(cuda.status === 0 ? /cuda/.test(cuda.stdout) : /no GPU/.test(cuda.stderr), cuda.stdout + cuda.stderr);
  } else {
    assert.notEqual(cuda.status, 0, 'no silent fallback to the CPU');
    assert.match(
      cuda.stderr,
      /NET2NET_TORCH_DEVICE=cuda, but the torch addon was built against a libtorch without CUDA/,
    );
  }
  const auto = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script.replace("'torch'", "'auto'")],
    { env: { ...process.env, NET2NET_TORCH_DEVICE: 'cuda' }, encoding: 'utf8' },
  );
  if (!info?.cuda) {
    assert.notEqual(auto.status, 0, '`auto` with NET2NET_TORCH_DEVICE=cuda does not fall back to a CPU backend');
    assert.match(auto.stderr, /torch: NET2NET_TORCH_DEVICE=cuda, but/);
  }
  const cpu = run('cpu');
  assert.equal(cpu.status, 0, cpu.stderr);
  assert.match(cpu.stdout, /cpu/);
});

test("the log line's GPU: the physical id behind cuda:<i> under CUDA_VISIBLE_DEVICES, and nvidia-smi's name and memory", () => {
  assert.equal(physicalGpuId(0, undefined), '0');
  assert.equal(physicalGpuId(1, '3, 5'), '5');
  assert.equal(physicalGpuId(0, 'GPU-8f2e'), 'GPU-8f2e');
  assert.equal(physicalGpuId(2, '3'), '2', 'past the list: the index itself');
  assert.equal(parseGpuQuery('NVIDIA H200, 143771\n'), 'NVIDIA H200, 143771 MiB');
  assert.equal(parseGpuQuery('No devices were found'), null);
  assert.equal(parseGpuQuery(''), null);
});
