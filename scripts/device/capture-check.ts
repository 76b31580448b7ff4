/**
 * `node --import tsx scripts/device/capture-check.ts [steps]`: the GPU check's comparison of captured and uncaptured
 * training on the device NET2NET_TORCH_DEVICE names (src/train/captured-step-engine.ts). The small family (28x28x1,
 * batch 64) trains `steps` (default 50) steps through TF.js, then the same steps from the same initial weights
 * captured and replayed; prints one JSON line with both loss curves' largest difference, the host ms per step of each,
 * whether replay was in use and how the replays ran (`replay_modes`; on CUDA, `cuda_graph`: one graph launch per
 * step, or the capture log's reason why not), and exits 1 when the losses differ by more than 1e-4 relative (on the CPU
 * they are bit-identical; on CUDA cuDNN is deterministic, so they should be too). The learning rate halves halfway, as
 * a staircase schedule does, so a CUDA graph is captured twice (the rate is baked into it).
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/backend.ts';
import { synchronizeDevice } from '../../src/backend/synchronize.ts';
import type { TorchBackend } from '../../src/backend/torch/torch-backend.ts';
import { buildModel } from '../../src/models/registry.ts';
import { CapturedStepEngine } from '../../src/train/captured-step-engine.ts';
import { LocalStepEngine } from '../../src/train/local-step-engine.ts';

const steps = Number(process.argv[2] ?? 50);
const RMSPROP = { learningRate: 0.01, decay: 0.9, momentum: 0.9, epsilon: 1, weightDecay: 4e-5 };

async function losses(capture: boolean, lines: string[], modes: string[] = []) {
  const model = buildModel('inception-bn-small', { inputShape: [28, 28, 1], classes: 10, seed: 1 });
  const engine = capture
    ? new CapturedStepEngine(model, RMSPROP, tf.backend() as unknown as TorchBackend, (l) => lines.push(l))
    : new LocalStepEngine(model, RMSPROP);
  const result: number[] = [];
  let timedFrom = 0;
  for (let step = 0; step < steps; step++) {
    if (step === 2) {
      synchronizeDevice();
      timedFrom = performance.now();
    }
    const x = tf.randomNormal([64, 28, 28, 1], 0, 1, 'float32', step + 1) as tf.Tensor4D;
    const y = tf.tensor1d(
      Array.from({ length: 64 }, (_, i) => (i * 7 + step) % 10),
      'int32',
    );
    const rate = step < steps / 2 ? RMSPROP.learningRate : RMSPROP.learningRate / 2;
    result.push((await engine.step(x, y, rate)).loss);
    tf.dispose([x, y]);
  }
  synchronizeDevice();
  const stepMs = (performance.now() - timedFrom) / Math.max(1, steps - 2);
  if (engine instanceof CapturedStepEngine) modes.push(...engine.replayModes());
  await engine.dispose();
  model.dispose();
  return { losses: result, stepMs };
}

const out: Record<string, unknown> = { name: 'capture-check', steps };
try {
  const info = await selectBackend('torch', (line) => console.error(line), { threads: 1 });
  out.gpu_in_use = info.gpuInUse === true;
  const lines: string[] = [];
  const plain = await losses(false, lines);
  const modes: string[] = [];
  const captured = await losses(true, lines, modes);
  const maxDiff = plain.losses.reduce((m, l, i) => Math.max(m, Math.abs(l - captured.losses[i]!)), 0);
  out.max_loss_difference = maxDiff;
  out.identical = maxDiff === 0;
  out.step_ms_uncaptured = Number(plain.stepMs.toPrecision(4));
  out.step_ms_captured = Number(captured.stepMs.toPrecision(4));
  out.replayed = lines.some((l) => /training step .*replayed natively/.test(l));
  out.replay_modes = modes;
  out.cuda_graph = lines.some((l) => /one CUDA graph launch per call/.test(l));
  out.capture_log = lines;
  out.ok = out.replayed === true && maxDiff <= 1e-4 * Math.max(1, Math.abs(plain.losses[0]!));
} catch (err) {
  out.ok = false;
  out.error = String(err instanceof Error ? err.message : err).split('\n')[0];
}
console.log(JSON.stringify(out));
process.exitCode = out.ok ? 0 : 1;
