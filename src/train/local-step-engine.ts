/** The plain StepEngine: RMSProp on the calling thread's backend. */
import * as tf from '@tensorflow/tfjs';
import type { RmsPropConfig, StepEngine, StepResult } from './step-engine.ts';
import { classificationLoss } from './classification-loss.ts';

export function createRmsProp(config: RmsPropConfig): tf.RMSPropOptimizer {
  // centered = false: tf.train.rmsprop(..., centered = true) can produce NaN in TensorFlow.js 4.x.
  return tf.train.rmsprop(config.learningRate, config.decay, config.momentum, config.epsilon, false);
}

/** RMSPropOptimizer keeps its rate in a protected field; the schedule sets it before each step. */
export function setLearningRate(optimizer: tf.Optimizer, learningRate: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = learningRate;
}

/**
 * Optimizer slots are named after TensorFlow.js variable names, which get `_1`-style suffixes when a model is
 * rebuilt or loaded twice in one process. Checkpoints name them by the weight's original name (`layer/kernel`)
 * so that state is never matched by position or by a suffix.
 */
function variableNameMap(model: tf.LayersModel): Map<string, string> {
  const map = new Map<string, string>();
  for (const w of model.trainableWeights) map.set((w.read() as tf.Variable).name, w.originalName);
  return map;
}

export class LocalStepEngine implements StepEngine {
  private readonly optimizer: tf.RMSPropOptimizer;

  constructor(
    readonly model: tf.LayersModel,
    private readonly config: RmsPropConfig,
  ) {
    this.optimizer = createRmsProp(config);
  }

  async step(x: tf.Tensor4D, y: tf.Tensor1D, learningRate: number): Promise<StepResult> {
    setLearningRate(this.optimizer, learningRate);
    const variables = this.model.trainableWeights.map((w) => w.read() as tf.Variable);
    let crossEntropy: tf.Scalar | undefined;
    let correct: tf.Scalar | undefined;
    const total = this.optimizer.minimize(
      () => {
        const parts = classificationLoss(this.model, x, y, this.config.weightDecay);
        crossEntropy = tf.keep(parts.crossEntropy);
        correct = tf.keep(parts.correct);
        return parts.total;
      },
      true,
      variables,
    );
    total?.dispose();
    const [loss, right] = await Promise.all([crossEntropy!.data(), correct!.data()]);
    crossEntropy!.dispose();
    correct!.dispose();
    return { loss: loss[0], correct: right[0] };
  }

  async getOptimizerState(): Promise<{ name: string; tensor: tf.Tensor }[]> {
    const names = variableNameMap(this.model);
    const slots = await this.optimizer.getWeights();
    return slots.map(({ name, tensor }) => ({ name: canonicalSlotName(name, names), tensor: tensor.clone() }));
  }

  async setOptimizerState(state: { name: string; tensor: tf.Tensor }[]): Promise<void> {
    const byOriginal = new Map([...variableNameMap(this.model)].map(([tfName, original]) => [original, tfName]));
    const slots = state.map(({ name, tensor }) => {
      const match = /^(.*)\/(rms|momentum)$/.exec(name);
      if (!match) return { name, tensor };
      const tfName = byOriginal.get(match[1]);
      if (tfName === undefined)
        throw new Error(`optimizer state names weight '${match[1]}', which the model does not have`);
      return { name: `${tfName}/${match[2]}`, tensor };
    });
    await this.optimizer.setWeights(slots);
  }

  async dispose(): Promise<void> {
    this.optimizer.dispose();
  }
}

function canonicalSlotName(slotName: string, names: Map<string, string>): string {
  const match = /^(.*)\/(rms|momentum)$/.exec(slotName);
  if (!match) return slotName;
  const original = names.get(match[1]);
  if (original === undefined)
    throw new Error(`optimizer slot '${slotName}' belongs to no trainable weight of the model`);
  return `${original}/${match[2]}`;
}
