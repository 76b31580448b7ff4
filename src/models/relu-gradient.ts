/**
 * ReLU's gradient as one kernel (`Net2NetReluGrad`, src/kernels/relu-grad.ts) instead of TensorFlow.js's three (step,
 * cast, mul): registered for the `Relu` kernel, replacing tfjs-core's gradient. Backends without a native version get
 * the stock formula as a composite, so their gradients are what they were.
 */
import * as tf from '@tensorflow/tfjs';
import { registerCompositeKernel } from '../kernels/composite-kernel.ts';
import { runDeclaredKernel } from '../kernels/kernel-declaration.ts';
import { RELU_GRAD } from '../kernels/relu-grad.ts';

registerCompositeKernel(RELU_GRAD, ({ dy, x }) => [tf.tidy(() => tf.mul(dy, tf.cast(tf.step(x), 'float32')))]);

tf.registerGradient({
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    return { x: () => runDeclaredKernel(RELU_GRAD, { dy: dy as tf.Tensor, x: x! }, {})[0]! };
  },
});
