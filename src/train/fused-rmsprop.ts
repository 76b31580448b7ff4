/**
 * TensorFlow.js's non-centered RMSProp with each variable's update as one kernel call (declared in
 * src/kernels/rmsprop-update.ts), so that a backend can run it as one native op (the stock optimizer issues ~8 kernels
 * per variable). The composite version from tf ops is registered here for the `cpu`, `wasm` and `tensorflow` backends
 * (the native `torch` backend registers its own).
 *
 * The optimizer subclasses tf.RMSPropOptimizer and keeps its slot variables, so `getWeights`/`setWeights`, slot names
 * (`<variable>/rms`, `<variable>/momentum`) and checkpoints stay as they are.
 */
import * as tf from '@tensorflow/tfjs';
import { registerCompositeKernel } from '../kernels/composite-kernel.ts';
import { runDeclaredKernel } from '../kernels/kernel-declaration.ts';
import { RMSPROP_UPDATE } from '../kernels/rmsprop-update.ts';

export interface RmsPropUpdateAttrs {
  learningRate: number;
  decay: number;
  momentum: number;
  epsilon: number;
}

registerCompositeKernel(RMSPROP_UPDATE, ({ value, ms, mom, gradient }, { learningRate, decay, momentum, epsilon }) =>
  tf.tidy(() => {
    const newMs = tf.add(tf.mul(ms, decay), tf.mul(tf.square(gradient), 1 - decay));
    const newMom = tf.add(
      tf.mul(mom, momentum),
      tf.div(tf.mul(gradient, learningRate), tf.sqrt(tf.add(newMs, epsilon))),
    );
    return [tf.sub(value, newMom), newMs, newMom];
  }),
);

/** [value', ms', mom'] of one RMSProp step (see src/kernels/rmsprop-update.ts); the caller owns the results. */
export function rmsPropUpdate(
  value: tf.Tensor,
  ms: tf.Tensor,
  mom: tf.Tensor,
  gradient: tf.Tensor,
  attrs: RmsPropUpdateAttrs,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  for (const [name, t] of [
    ['ms', ms],
    ['mom', mom],
    ['gradient', gradient],
  ] as const) {
    if (!tf.util.arraysEqual(t.shape, value.shape))
      throw new Error(`rmsPropUpdate: ${name} has shape [${t.shape}], the variable [${value.shape}]`);
  }
  const outputs = runDeclaredKernel(RMSPROP_UPDATE, { value, ms, mom, gradient }, { ...attrs });
  return [outputs[0]!, outputs[1]!, outputs[2]!];
}

/** The stock optimizer's slot lists (private in TensorFlow.js's typings). */
interface RmsPropSlots {
  accumulatedMeanSquares: { originalName: string; variable: tf.Variable }[];
  accumulatedMoments: { originalName: string; variable: tf.Variable }[];
  learningRate: number;
  decay: number;
  momentum: number;
  epsilon: number;
}

export class FusedRmsPropOptimizer extends tf.RMSPropOptimizer {
  constructor(learningRate: number, decay: number, momentum: number, epsilon: number) {
    super(learningRate, decay, momentum, epsilon, false);
  }

  override applyGradients(variableGradients: Parameters<tf.Optimizer['applyGradients']>[0]): void {
    const self = this as unknown as RmsPropSlots;
    const named = Array.isArray(variableGradients)
      ? variableGradients
      : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
    const attrs = {
      learningRate: self.learningRate,
      decay: self.decay,
      momentum: self.momentum,
      epsilon: self.epsilon,
    };
    named.forEach(({ name, tensor: gradient }, i) => {
      const value = tf.engine().registeredVariables[name];
      self.accumulatedMeanSquares[i] ??= { originalName: `${name}/rms`, variable: zeroSlot(value) };
      self.accumulatedMoments[i] ??= { originalName: `${name}/momentum`, variable: zeroSlot(value) };
      if (gradient == null) return;
      const ms = self.accumulatedMeanSquares[i].variable;
      const mom = self.accumulatedMoments[i].variable;
      tf.tidy(() => {
        const [newValue, newMs, newMom] = rmsPropUpdate(value, ms, mom, gradient, attrs);
        ms.assign(newMs);
        mom.assign(newMom);
        value.assign(newValue);
      });
    });
    this.incrementIterations();
  }
}

function zeroSlot(value: tf.Variable): tf.Variable {
  return tf.tidy(() => tf.zerosLike(value).variable(false));
}
