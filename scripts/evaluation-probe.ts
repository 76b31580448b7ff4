/**
 * `npx tsx scripts/evaluation-probe.ts <lr> <decay rate> <every epochs> <steps> [width]`: trains the default preset's
 * wider teacher (inception-bn-small, every conv at `width`, committed Fashion-MNIST subset, batch 32, wasm) and prints,
 * every 100 steps, one JSON line with the validation accuracy measured three ways: BatchNorm's moving averages,
 * statistics re-estimated on a 512-image training sample (precise BatchNorm), and that sample's own accuracy. The
 * numbers behind the presets' learning rates and evaluation choice (experiments/README.md, "Evaluation").
 */
import { selectBackend } from '../src/backend/backend.ts';
import { drawTrainSample } from '../src/data/train-sample.ts';
import { openDataset } from '../src/data/open-dataset.ts';
import { buildModel } from '../src/models/registry.ts';
import { evaluate, evaluateSample } from '../src/train/evaluate.ts';
import { LocalStepEngine } from '../src/train/local-step-engine.ts';
import { withPreciseBatchNorm } from '../src/train/precise-batch-norm.ts';
import { learningRateAt } from '../src/train/schedule.ts';
import type { LearningRateSchedule } from '../src/train/schedule.ts';

const [lr, rate, everyEpochs, steps, width = 0.25 * Math.sqrt(0.3)] = process.argv.slice(2).map(Number);
if (!(lr! > 0 && rate! > 0 && everyEpochs! > 0 && steps! > 0)) {
  console.error('usage: npx tsx scripts/evaluation-probe.ts <lr> <decay rate> <every epochs> <steps> [width]');
  process.exit(2);
}
await selectBackend('wasm');
const dataset = await openDataset('fashion-mnist', { limitVal: 1000 });
const model = buildModel('inception-bn-small', {
  width,
  widthScope: 'all',
  inputShape: [28, 28, 1],
  classes: 10,
  seed: 1,
});
const engine = new LocalStepEngine(model, {
  learningRate: lr!,
  decay: 0.9,
  momentum: 0.9,
  epsilon: 1,
  weightDecay: 4e-5,
});
const schedule: LearningRateSchedule = {
  kind: 'exponential',
  rate: rate!,
  everyEpochs: everyEpochs!,
  staircase: false,
};
const sample = await drawTrainSample(dataset, { examples: 512, batchSize: 128, seed: 99 });
const batches = dataset.trainBatches({ batchSize: 32, seed: 1 });
let running = { correct: 0, examples: 0 };
for (let step = 1; step <= steps!; step++) {
  const { value } = await batches.next();
  const epoch = ((step - 1) * 32) / dataset.numTrain;
  const result = await engine.step(value.x, value.y, learningRateAt(lr!, schedule, epoch));
  value.x.dispose();
  value.y.dispose();
  running = { correct: running.correct + result.correct, examples: running.examples + 32 };
  if (step % 100 !== 0 && step !== steps) continue;
  const calibration = sample.map((b) => b.x);
  const moving = await evaluate(model, dataset, 250);
  const precise = await withPreciseBatchNorm(model, calibration, () => evaluate(model, dataset, 250));
  const trainSample = await withPreciseBatchNorm(model, calibration, () => evaluateSample(model, sample));
  console.log(
    JSON.stringify({
      lr,
      rate,
      everyEpochs,
      step,
      running_acc: running.correct / running.examples,
      val_acc_moving: moving.accuracy,
      val_acc_precise: precise.accuracy,
      train_sample_acc: trainSample.accuracy,
    }),
  );
  running = { correct: 0, examples: 0 };
}
await dataset.close();
process.exit(0);
