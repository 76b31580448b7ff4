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

/** The tensors one step leaves for its caller: the loss and the count of right answers, and what else it kept. */
export interface StepTensors {
  crossEntropy: tf.Scalar;
  correct: tf.Scalar;
  /** Also kept (the total loss with weight decay, when it is another tensor); disposed with the others. */
  others: tf.Tensor[];
}

export class LocalStepEngine implements StepEngine {
  protected readonly optimizer: tf.RMSPropOptimizer;

  constructor(
    readonly model: tf.LayersModel,
    private readonly config: RmsPropConfig,
  ) {
    this.optimizer = createRmsProp(config);
  }

  async step(x: tf.Tensor4D, y: tf.Tensor1D, learningRate: number): Promise<StepResult> {
    return readStep(this.runStep(x, y, learningRate));
  }

  /** Loss and right answers of one batch in inference mode (the trainer's evaluations); reads them back. */
  async evaluateBatch(x: tf.Tensor4D, y: tf.Tensor1D): Promise<StepResult> {
    return readStep(inferenceTensors(this.model, x, y));
  }

  /** Gradients and the RMSProp update of every trainable weight; nothing is read back from the backend. */
  protected runStep(x: tf.Tensor4D, y: tf.Tensor1D, learningRate: number): StepTensors {
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
    // Without weight decay the returned cost is the cross-entropy tensor itself: dispose each tensor once.
    return { crossEntropy: crossEntropy!, correct: correct!, others: total && total !== crossEntropy ? [total] : [] };
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

/** The loss parts of one batch in inference mode (BatchNorm on its moving statistics, no weight decay). */
export function inferenceTensors(model: tf.LayersModel, x: tf.Tensor4D, y: tf.Tensor1D): StepTensors {
  const parts = classificationLoss(model, x, y, 0, false);
  return {
    crossEntropy: parts.crossEntropy,
    correct: parts.correct,
    others: parts.total !== parts.crossEntropy ? [parts.total] : [],
  };
}

/** Reads a step's loss and right answers, then disposes its tensors. */
export async function readStep(tensors: StepTensors): Promise<StepResult> {
  try {
    const [loss, right] = await Promise.all([tensors.crossEntropy.data(), tensors.correct.data()]);
    return { loss: loss[0], correct: right[0] };
  } finally {
    tf.dispose([tensors.crossEntropy, tensors.correct, ...tensors.others]);
  }
}
