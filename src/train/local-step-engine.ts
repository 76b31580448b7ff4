/** The plain StepEngine: RMSProp on the calling thread's backend. */
import * as tf from '@tensorflow/tfjs';
import type { RmsPropConfig, StepEngine, StepResult } from './step-engine.ts';
import { classificationLoss } from './classification-loss.ts';
import { readOptimizerState, writeOptimizerState, type NamedSlot } from './optimizer-slots.ts';
import { FusedRmsPropOptimizer } from './fused-rmsprop.ts';

/** Non-centered RMSProp (centered can produce NaN in TensorFlow.js 4.x), one fused kernel per variable update. */
export function createRmsProp(config: RmsPropConfig): tf.RMSPropOptimizer {
  return new FusedRmsPropOptimizer(config.learningRate, config.decay, config.momentum, config.epsilon);
}

/** RMSPropOptimizer keeps its rate in a protected field; the schedule sets it before each step. */
export function setLearningRate(optimizer: tf.Optimizer, learningRate: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = learningRate;
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
    const kept: tf.Tensor[] = [];
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
    // Without weight decay the returned cost is the cross-entropy tensor itself: dispose each tensor once.
    kept.push(crossEntropy!, correct!);
    if (total && total !== crossEntropy) kept.push(total);
    try {
      const [loss, right] = await Promise.all([crossEntropy!.data(), correct!.data()]);
      return { loss: loss[0], correct: right[0] };
    } finally {
      tf.dispose(kept);
    }
  }

  async getOptimizerState(): Promise<NamedSlot[]> {
    return readOptimizerState(this.optimizer, this.model);
  }

  async setOptimizerState(state: NamedSlot[]): Promise<void> {
    await writeOptimizerState(this.optimizer, this.model, state);
  }

  async dispose(): Promise<void> {
    this.optimizer.dispose();
  }
}
