/**
 * A moving average's update as one kernel, `Net2NetMovingAverage`: average' = average - (average - value) *
 * (1 - momentum), in TensorFlow.js's BatchNormalization order of operations (three kernels in the stock layer).
 */
import { declareKernel } from './kernel-declaration.ts';

export const MOVING_AVERAGE = declareKernel({
  name: 'Net2NetMovingAverage',
  inputs: ['average', 'value'],
  attrs: { momentum: 'finite' },
  outputs: ['average'],
});
