/**
 * The torch backend's device settings (native/torch-backend/device-control.cc): cuDNN deterministic and benchmark off
 * from load, --cudnn-benchmark reaching the native flag; synchronizing before a time is read; memory() marking itself
 * unreliable on CUDA; out-of-range gather indices refused before a kernel sees them; and the device-generic branch of
 * the kernels with a CPU fast path (the branch CUDA takes), forced on the CPU and compared with the cpu backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import type { BackendInfo } from '../src/backend/backend.ts';
import { applyCudnnBenchmark } from '../src/backend/cudnn-benchmark.ts';
import { cudnnBenchmarkFromEnv, describeCudnn } from '../src/backend/torch/cudnn.ts';
import { synchronizeDevice } from '../src/backend/synchronize.ts';
import { addonPath, loadTorchAddon } from '../src/backend/torch/addon.ts';
import type { TorchAddon } from '../src/backend/torch/addon.ts';
import { CUDA_MEMORY_REASON, torchMemoryInfo } from '../src/backend/torch/memory-info.ts';
import { NATIVE_OP_SIGNATURES } from '../src/backend/torch/native-ops.ts';
import type { NativeOp } from '../src/backend/torch/native-ops.ts';
import { TorchBackend } from '../src/backend/torch/torch-backend.ts';
import { batchNormTraining } from '../src/models/batch-norm-training.ts';
import { runDeclaredKernel } from '../src/kernels/kernel-declaration.ts';
import { RMSPROP_UPDATE } from '../src/kernels/rmsprop-update.ts';
import { MOVING_AVERAGE } from '../src/kernels/moving-average.ts';
import '../src/models/batch-norm-layer.ts';
import '../src/train/fused-rmsprop.ts';
import { UsageError } from '../src/usage-error.ts';
import { SKIP_REASON, matchesCpu, randomTensor as r, registerTorch, runOn, torchBuilt } from './torch-fixtures.ts';

const built = torchBuilt();
if (built) await registerTorch();
const opts = built ? {} : { skip: SKIP_REASON };
const TORCH_INFO: BackendInfo = { requested: 'torch', choice: 'torch', tfBackend: 'torch', gpuInUse: null, notes: [] };
/** Whether the registered torch backend runs on CUDA (the GPU check runs this file there with CI=1). */
const onCuda = built && (tf.findBackend('torch') as TorchBackend).device.startsWith('cuda');

// ---- cuDNN flags ----

test('NET2NET_CUDNN_BENCHMARK: 1 is on, 0 or unset is off, anything else names the variable', () => {
  assert.equal(cudnnBenchmarkFromEnv('1'), true);
  assert.equal(cudnnBenchmarkFromEnv('0'), false);
  assert.equal(cudnnBenchmarkFromEnv(''), false);
  assert.equal(cudnnBenchmarkFromEnv(undefined), false);
  assert.throws(
    () => cudnnBenchmarkFromEnv('yes'),
    (e: Error) => e instanceof UsageError && /NET2NET_CUDNN_BENCHMARK.*'yes'/.test(e.message),
  );
});

test('the cuDNN log line says whether the setting acts', () => {
  const cuda = { device: 'cuda:0', deterministic: true, benchmark: true };
  assert.equal(describeCudnn('torch', true, cuda), 'cuDNN deterministic, benchmark on');
  assert.match(
    describeCudnn('torch', false, { ...cuda, device: 'cpu', benchmark: false }),
    /benchmark off.*no effect on the CPU/,
  );
  assert.match(describeCudnn('wasm', true, null), /benchmark on.*no effect on the wasm backend/);
});

test(
  'cuDNN is deterministic with benchmark off from load, and --cudnn-benchmark reaches the native flag',
  opts,
  async () => {
    const addon = loadTorchAddon();
    assert.deepEqual(addon.cudnnFlags(), { deterministic: true, benchmark: false });
    try {
      const line = await applyCudnnBenchmark(TORCH_INFO, true);
      assert.match(
        line,
        onCuda ? /^cuDNN deterministic, benchmark on$/ : /deterministic, benchmark on .*no effect on the CPU/,
      );
      assert.deepEqual(addon.cudnnFlags(), { deterministic: true, benchmark: true });
    } finally {
      await applyCudnnBenchmark(TORCH_INFO, false);
    }
    assert.deepEqual(addon.cudnnFlags(), { deterministic: true, benchmark: false });
  },
);

// ---- synchronizing before a time is read ----

/** An addon that records synchronize() calls and has the declared op table (no native code). */
function fakeAddon(log: string[]): TorchAddon {
  const signatures = (Object.keys(NATIVE_OP_SIGNATURES) as NativeOp[]).map(
    (op) => `${op}(${NATIVE_OP_SIGNATURES[op].map(([name, kind]) => `${name}: ${kind}`).join(', ')})`,
  );
  return {
    setMeta: () => {},
    opSignatures: () => signatures,
    liveTensors: () => 0,
    synchronize: () => {
      log.push('synchronize');
      return true;
    },
  } as unknown as TorchAddon;
}

test("the torch backend's time() synchronizes the device before it starts and before it reads the clock", async () => {
  const log: string[] = [];
  const backend = new TorchBackend(fakeAddon(log), 'cuda:0', 1);
  const timing = await backend.time(() => log.push('kernels'));
  assert.deepEqual(log, ['synchronize', 'kernels', 'synchronize']);
  assert.ok(typeof timing.kernelMs === 'number' && timing.kernelMs >= 0);
});

test('synchronize() waits on CUDA only, and synchronizeDevice() uses it on torch only', opts, async () => {
  assert.equal(loadTorchAddon().synchronize(), onCuda);
  await tf.setBackend('torch');
  assert.equal(synchronizeDevice(), true);
  await tf.setBackend('cpu');
  assert.equal(synchronizeDevice(), false);
});

// ---- memory() ----

test('memory() on CUDA is marked unreliable with the reason; on the CPU it is reliable', () => {
  assert.deepEqual(torchMemoryInfo('cuda:0', 1024, 3), {
    unreliable: true,
    reasons: [CUDA_MEMORY_REASON],
    numBytesInTorch: 1024,
    nativeTensors: 3,
  });
  assert.deepEqual(torchMemoryInfo('cpu', 1024, 3), { unreliable: false, numBytesInTorch: 1024, nativeTensors: 3 });
  const backend = new TorchBackend(fakeAddon([]), 'cuda:0', 1);
  assert.equal(backend.memory().unreliable, true);
});

test('tf.memory() on the torch backend counts its bytes, reliable on the CPU only', opts, async () => {
  await tf.setBackend('torch');
  const x = tf.zeros([10, 10]);
  const memory = tf.memory() as tf.MemoryInfo & { numBytesInTorch: number };
  assert.equal(memory.unreliable, onCuda);
  assert.deepEqual(memory.reasons, onCuda ? [CUDA_MEMORY_REASON] : undefined);
  assert.ok(memory.numBytesInTorch >= 400, `numBytesInTorch ${memory.numBytesInTorch}`);
  x.dispose();
  await tf.setBackend('cpu');
});

// ---- out-of-range indices ----

/** The error a computation raises on one backend. */
async function errorOn(backend: string, compute: () => tf.Tensor): Promise<string> {
  await tf.setBackend(backend);
  try {
    tf.tidy(() => compute().dataSync());
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await tf.setBackend('cpu');
  }
  return 'no error';
}

test(
  'an out-of-range gather index is refused with the index and the axis size, as on the cpu backend',
  opts,
  async () => {
    const x = () => r([3, 4], 1);
    const cases: [string, () => tf.Tensor, RegExp][] = [
      ['too large', () => tf.gather(x(), tf.tensor1d([0, 3, 1], 'int32'), 0), /index value 3 is not in \[0, 2\]/],
      ['negative', () => tf.gather(x(), tf.tensor1d([2, -1], 'int32'), 0), /index value -1 is not in \[0, 2\]/],
      [
        'other axis',
        () => tf.gather(x(), tf.tensor2d([[0, 9]], [1, 2], 'int32'), 1),
        /index value 9 is not in \[0, 3\]/,
      ],
    ];
    const live = loadTorchAddon().liveTensors();
    for (const [what, compute, message] of cases) {
      assert.match(await errorOn('cpu', compute), message, `cpu, ${what}`);
      const error = await errorOn('torch', compute);
      assert.match(error, message, `torch, ${what}`);
      assert.match(error, /GatherV2/, `torch, ${what}: names the kernel`);
    }
    assert.equal(loadTorchAddon().liveTensors(), live, 'no native tensor left behind');
    await matchesCpu('in range after the errors', () => tf.gather(x(), tf.tensor1d([2, 0], 'int32'), 0));
  },
);

test('an out-of-range oneHot index gives a row of offValue, as on the cpu backend', opts, async () => {
  await matchesCpu('oneHot', () => tf.oneHot(tf.tensor1d([5, -1, 0, 3, 2, -7], 'int32'), 3, 4, -2));
});

// ---- the device-generic branch ----

/** A batch-1 convolution (where ATen's own choice is im2col + BLAS) and both its gradients. */
function convolutionAndGradients(strides: 1 | 2, pad: 'same' | 'valid'): tf.Tensor[] {
  const x = tf.mul(r([1, 9, 9, 5], 10), 2);
  const filter = r([3, 3, 5, 6], 11);
  const dy = r(tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, strides, pad).shape, 12);
  const loss = (a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), dy));
  return [tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, strides, pad), ...tf.grads(loss)([x, filter])];
}

/**
 * The kernels with a CPU fast path: step (relu's gradient), BatchNorm training forward and gradient, float32
 * convolutions and their gradients (oneDNN directly), the RMSProp update and the moving average.
 */
const FAST_PATH_CASES: Record<string, () => tf.Tensor[]> = {
  convolution: () => convolutionAndGradients(1, 'same'),
  stridedConvolution: () => convolutionAndGradients(2, 'valid'),
  movingAverage: () =>
    runDeclaredKernel(MOVING_AVERAGE, { average: r([40], 17), value: r([40], 18) }, { momentum: 0.9 }),
  rmsProp: () =>
    runDeclaredKernel(
      RMSPROP_UPDATE,
      { value: r([40], 13), ms: tf.abs(r([40], 14)), mom: r([40], 15), gradient: r([40], 16, 3) },
      { learningRate: 0.01, decay: 0.9, momentum: 0.9, epsilon: 1 },
    ),
  step: () => [tf.step(tf.concat([r([4, 6], 2, 3), tf.tensor2d([[0, -0, NaN, 1, -1, 2]])], 0), 0.25)],
  bnTraining: () => {
    const x = tf.add(tf.mul(r([3, 4, 5, 6], 3), 2), 3);
    return batchNormTraining(x, tf.add(r([6], 4), 1) as tf.Tensor1D, r([6], 5) as tf.Tensor1D, 1e-3);
  },
  bnTrainingGrad: () => {
    const x = tf.add(tf.mul(r([3, 4, 5, 6], 6), 2), 3);
    const weights = r([3, 4, 5, 6], 7);
    const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.mul(batchNormTraining(a, b as tf.Tensor1D, c as tf.Tensor1D, 1e-3)[0], weights));
    return tf.grads(loss)([x, tf.add(r([6], 8), 1), r([6], 9)]);
  },
};

/** The number of CPU allocations one computation makes on torch (the two branches allocate differently). */
async function allocationsOnTorch(compute: () => tf.Tensor[]): Promise<number> {
  const addon = loadTorchAddon();
  addon.traceAllocations(true);
  try {
    await runOn('torch', compute);
  } finally {
    await tf.setBackend('cpu');
  }
  return addon.traceAllocations(false).length;
}

test(
  'the generic branch of every kernel with a CPU fast path runs on the CPU under the switch and equals cpu',
  opts,
  async () => {
    const addon = loadTorchAddon();
    assert.equal(addon.genericKernels(), false, 'the fast paths are the default');
    try {
      for (const [name, compute] of Object.entries(FAST_PATH_CASES)) {
        assert.equal(addon.setGenericKernels(false), false);
        await matchesCpu(`${name}, CPU fast path`, compute);
        const fast = await allocationsOnTorch(compute);
        assert.equal(addon.setGenericKernels(true), true);
        await matchesCpu(`${name}, generic branch`, compute);
        const generic = await allocationsOnTorch(compute);
        // Allocations are traced on the CPU, where the two branches allocate differently (CUDA has no fast path).
        if (!onCuda)
          assert.notEqual(generic, fast, `${name}: the switch changes which branch runs (${fast} allocations)`);
      }
    } finally {
      addon.setGenericKernels(false);
      await tf.setBackend('cpu');
    }
  },
);

/** Loads the addon in a fresh process with NET2NET_TORCH_GENERIC_KERNELS set; its output, or its error. */
function genericKernelsAtLoad(value: string): { stdout: string; stderr: string; status: number | null } {
  const script = `process.stdout.write(String(require(${JSON.stringify(addonPath())}).genericKernels()))`;
  return spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NET2NET_TORCH_GENERIC_KERNELS: value, OMP_WAIT_POLICY: 'PASSIVE' },
  });
}

test('NET2NET_TORCH_GENERIC_KERNELS=1 at load forces the generic branch; a bad value names the variable', opts, () => {
  assert.equal(genericKernelsAtLoad('1').stdout, 'true');
  assert.equal(genericKernelsAtLoad('0').stdout, 'false');
  const bad = genericKernelsAtLoad('yes');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /NET2NET_TORCH_GENERIC_KERNELS must be 0 or 1, got 'yes'/);
});
