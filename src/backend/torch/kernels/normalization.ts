/**
 * Batch normalization and the optimizer update: TensorFlow.js's FusedBatchNorm (inference form), and our own kernels
 * (declared in src/kernels/) Net2NetBatchNormTraining, Net2NetBatchNormTrainingGrad and Net2NetRMSPropUpdate, one
 * native op each.
 */
import type { KernelConfig } from '@tensorflow/tfjs';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from '../../../kernels/batch-norm-training.ts';
import { RMSPROP_UPDATE } from '../../../kernels/rmsprop-update.ts';
import { MOVING_AVERAGE } from '../../../kernels/moving-average.ts';
import { RELU_GRAD } from '../../../kernels/relu-grad.ts';
import { FLOAT, input, torchCustomKernel, torchKernel } from './kernel.ts';

export function normalizationKernels(): KernelConfig[] {
  return [
    torchKernel('FusedBatchNorm', FLOAT, ({ inputs, attrs, backend }) =>
      backend.runOne('batchNorm', {
        x: input(inputs, 'x'),
        mean: input(inputs, 'mean'),
        variance: input(inputs, 'variance'),
        offset: inputs.offset ?? null,
        scale: inputs.scale ?? null,
        epsilon: Number(attrs.varianceEpsilon ?? 0.001),
      }),
    ),
    torchCustomKernel(BATCH_NORM_TRAINING, (inputs, attrs, backend) =>
      backend.run('bnTraining', { ...inputs, ...attrs }),
    ),
    torchCustomKernel(BATCH_NORM_TRAINING_GRAD, (inputs, attrs, backend) =>
      backend.run('bnTrainingGrad', { ...inputs, ...attrs }),
    ),
    torchCustomKernel(RMSPROP_UPDATE, (inputs, attrs, backend) => backend.run('rmsProp', { ...inputs, ...attrs })),
    torchCustomKernel(MOVING_AVERAGE, (inputs, attrs, backend) =>
      backend.run('movingAverage', { ...inputs, ...attrs }),
    ),
    torchCustomKernel(RELU_GRAD, (inputs, _attrs, backend) => backend.run('reluGrad', inputs)),
  ];
}
