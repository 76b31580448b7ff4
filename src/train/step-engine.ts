/**
 * What the trainer calls to run one optimizer step. The plain implementation runs the model in this thread; a
 * data-parallel one splits the batch over worker threads (one wasm instance each) and averages their gradients.
 * Both give the same optimizer steps for the same batch.
 */
import type * as tf from '@tensorflow/tfjs';

export interface StepResult {
  /** Mean cross-entropy over the batch (before weight decay). */
  loss: number;
  /** Number of examples whose arg-max prediction equals the label. */
  correct: number;
}

export interface RmsPropConfig {
  learningRate: number;
  /** Discounting factor of the squared-gradient average (TensorFlow's `decay`, often called rho). */
  decay: number;
  momentum: number;
  epsilon: number;
  /** L2 penalty added to the loss, TF-slim's: weightDecay * sum(w^2) / 2 over kernels (not biases, not BatchNorm). */
  weightDecay: number;
}

export interface StepEngine {
  /** The model on the calling thread, always holding the current weights after `step` resolves. */
  readonly model: tf.LayersModel;
  /** One training step (BatchNorm in training mode) at the given learning rate. Leaves no tensors behind. */
  step(x: tf.Tensor4D, y: tf.Tensor1D, learningRate: number): Promise<StepResult>;
  /**
   * Mean cross-entropy and right answers of one batch in inference mode on the engine's model (evaluations); an
   * engine without it is evaluated through `model` directly.
   */
  evaluateBatch?(x: tf.Tensor4D, y: tf.Tensor1D): Promise<StepResult>;
  /** Optimizer slots (RMSProp averages, momentum), named by variable name, for checkpoints. */
  getOptimizerState(): Promise<{ name: string; tensor: tf.Tensor }[]>;
  setOptimizerState(state: { name: string; tensor: tf.Tensor }[]): Promise<void>;
  dispose(): Promise<void>;
}
