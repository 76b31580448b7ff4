/**
 * `node --import tsx scripts/device/cuda-probe.ts`: the GPU check's proof that the torch backend runs on the GPU.
 * Loads the addon on the device NET2NET_TORCH_DEVICE names (the check sets cuda), runs one convolution there, reads
 * it back and compares it with the cpu backend's; prints one JSON line and exits 1 when any of it fails.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/backend.ts';

function convolve(): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(
      Float32Array.from({ length: 2 * 9 * 9 * 3 }, (_, i) => Math.sin(i)),
      [2, 9, 9, 3],
    );
    const w = tf.tensor4d(
      Float32Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)),
      [3, 3, 3, 4],
    );
    return tf.conv2d(x, w, 1, 'same').dataSync() as Float32Array;
  });
}

const wantGpu = process.env.NET2NET_TORCH_DEVICE !== 'cpu';
const result: Record<string, unknown> = { name: 'cuda-probe', want_gpu: wantGpu };
try {
  const info = await selectBackend('torch', (line) => console.error(line), { threads: 1 });
  result.backend = info.choice;
  result.notes = info.notes;
  result.gpu_in_use = info.gpuInUse === true;
  const onTorch = convolve();
  await tf.setBackend('cpu');
  const onCpu = convolve();
  const maxAbs = onTorch.reduce((m, v, i) => Math.max(m, Math.abs(v - onCpu[i]!)), 0);
  const scale = onCpu.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  result.max_abs_difference = maxAbs;
  result.output_scale = scale;
  // Strict float32 on both sides (TF32 off by default): rounding differences only.
  result.ok = maxAbs <= 1e-5 * Math.max(1, scale) && (!wantGpu || result.gpu_in_use === true);
  if (wantGpu && !result.gpu_in_use) result.error = 'the torch backend is not on the GPU';
} catch (err) {
  result.ok = false;
  result.error = String(err instanceof Error ? err.message : err).split('\n')[0];
}
console.log(JSON.stringify(result));
process.exitCode = result.ok ? 0 : 1;
