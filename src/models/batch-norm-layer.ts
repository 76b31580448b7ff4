/**
 * TensorFlow.js's BatchNormalization layer with its training-mode pass on the fused kernels of batch-norm-training.ts
 * (one forward kernel, one gradient kernel). Inference, and any configuration the fused kernels do not cover (axis not
 * last, no scale or no center), take the stock layer's path unchanged. The moving averages are updated as the stock
 * layer updates them.
 *
 * The class is registered under the className `BatchNormalization`, replacing the stock class in the serialization
 * map: saved models keep the standard format (any TensorFlow.js loads them), and models deserialized in this process
 * (`LayersModel.fromConfig`, `loadLayersModel`) get the fused layer.
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormTraining } from './batch-norm-training.ts';
import { registerCompositeKernel } from '../kernels/composite-kernel.ts';
import { runDeclaredKernel } from '../kernels/kernel-declaration.ts';
import { MOVING_AVERAGE } from '../kernels/moving-average.ts';

type StockBatchNormalization = ReturnType<typeof tf.layers.batchNormalization>;
export type BatchNormalizationArgs = NonNullable<Parameters<typeof tf.layers.batchNormalization>[0]>;
type CallKwargs = Parameters<StockBatchNormalization['call']>[1];
type StockConstructor = new (args?: BatchNormalizationArgs) => StockBatchNormalization;

/** The stock layer's fields this class reads (private in TensorFlow.js's typings). */
interface BatchNormFields {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

const FUSED = Symbol.for('net2net.fusedBatchNormalization');

/** The stock class as registered by tfjs-layers (or the one under this module's class, if it was loaded twice). */
function stockClass(): StockConstructor {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap['BatchNormalization'];
  if (entry === undefined) throw new Error('tfjs-layers registered no BatchNormalization class');
  let cls = entry[0] as unknown as StockConstructor & { [FUSED]?: boolean };
  while (cls[FUSED]) cls = Object.getPrototypeOf(cls) as StockConstructor & { [FUSED]?: boolean };
  return cls;
}

registerCompositeKernel(MOVING_AVERAGE, ({ average, value }, { momentum }) => [
  tf.tidy(() => tf.sub(average, tf.mul(tf.sub(average, value), 1 - momentum))),
]);

/** variable <- variable - (variable - value) * (1 - momentum), in the stock layer's order of operations. */
function updateMovingAverage(variable: tf.LayerVariable, value: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    variable.write(runDeclaredKernel(MOVING_AVERAGE, { average: variable.read(), value }, { momentum })[0]!);
  });
}

export class FusedBatchNormalization extends stockClass() {
  static readonly className = 'BatchNormalization';
  static readonly [FUSED] = true;

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: CallKwargs): tf.Tensor | tf.Tensor[] {
    const self = this as unknown as BatchNormFields;
    const training = kwargs['training'] === true;
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    const lastAxis = self.axis === -1 || self.axis === input.rank - 1;
    if (!training || !lastAxis || !self.center || !self.scale || (Array.isArray(inputs) && inputs.length !== 1))
      return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const [y, mean, variance] = batchNormTraining(input, self.gamma.read(), self.beta.read(), self.epsilon);
      updateMovingAverage(self.movingMean, mean, self.momentum);
      updateMovingAverage(self.movingVariance, variance, self.momentum);
      return y;
    });
  }
}

tf.serialization.registerClass(
  // The stock constructor type above leaves out the statics (fromConfig) the class inherits at run time.
  FusedBatchNormalization as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
);

/** A BatchNormalization layer (the fused class), as `tf.layers.batchNormalization(args)` makes the stock one. */
export function batchNormalization(args: BatchNormalizationArgs): FusedBatchNormalization {
  return new FusedBatchNormalization(args);
}
