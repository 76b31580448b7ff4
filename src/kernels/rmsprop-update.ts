/**
 * TensorFlow.js's non-centered RMSProp update of one variable as one kernel, `Net2NetRMSPropUpdate`: with g the
 * gradient, ms' = decay * ms + (1 - decay) * g^2, mom' = momentum * mom + learningRate * g / sqrt(ms' + epsilon),
 * value' = value - mom', in TensorFlow.js's order of operations.
 */
import { declareKernel } from './kernel-declaration.ts';

export const RMSPROP_UPDATE = declareKernel({
  name: 'Net2NetRMSPropUpdate',
  inputs: ['value', 'ms', 'mom', 'gradient'],
  attrs: { learningRate: 'finite', decay: 'finite', momentum: 'finite', epsilon: 'finite' },
  outputs: ['value', 'ms', 'mom'],
});
