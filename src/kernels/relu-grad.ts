/**
 * ReLU's gradient as one kernel, `Net2NetReluGrad`: dx = dy * step(x) (1 where x > 0, 0 elsewhere, NaN where x is
 * NaN), what TensorFlow.js's gradient computes with three kernels (step, cast, mul).
 */
import { declareKernel } from './kernel-declaration.ts';

export const RELU_GRAD = declareKernel({
  name: 'Net2NetReluGrad',
  inputs: ['dy', 'x'],
  attrs: {},
  outputs: ['dx'],
});
