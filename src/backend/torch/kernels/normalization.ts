/**
 * Batch normalization and the optimizer update: TensorFlow.js's FusedBatchNorm (inference form), and the fused
 * kernels shared with the other backends' composites (see src/backend/fused-kernel-names or the model builders):
 * Net2NetBatchNormTraining, Net2NetBatchNormTrainingGrad and Net2NetRMSPropUpdate, one native op each.
 */
import type { KernelConfig } from '@tensorflow/tfjs';
import { FLOAT, input, torchKernel } from './kernel.ts';

export function normalizationKernels(): KernelConfig[] {
  return [
    torchKernel('FusedBatchNorm', FLOAT, ({ inputs, attrs, backend }) =>
      backend.runOne(
        'batchNorm',
        backend.id(input(inputs, 'x')),
        backend.id(input(inputs, 'mean')),
        backend.id(input(inputs, 'variance')),
        backend.optionalId(inputs.offset),
        backend.optionalId(inputs.scale),
        Number(attrs.varianceEpsilon ?? 0.001),
      ),
    ),
    torchKernel('Net2NetBatchNormTraining', FLOAT, ({ inputs, attrs, backend }) =>
      backend.run(
        'bnTraining',
        backend.id(input(inputs, 'x')),
        backend.id(input(inputs, 'scale')),
        backend.id(input(inputs, 'offset')),
        Number(attrs.epsilon),
      ),
    ),
    torchKernel('Net2NetBatchNormTrainingGrad', FLOAT, ({ inputs, attrs, backend }) =>
      backend.run(
        'bnTrainingGrad',
        backend.id(input(inputs, 'dy')),
        backend.id(input(inputs, 'x')),
        backend.id(input(inputs, 'scale')),
        backend.id(input(inputs, 'mean')),
        backend.id(input(inputs, 'variance')),
        Number(attrs.epsilon),
      ),
    ),
    torchKernel('Net2NetRMSPropUpdate', FLOAT, ({ inputs, attrs, backend }) =>
      backend.run(
        'rmsProp',
        backend.id(input(inputs, 'value')),
        backend.id(input(inputs, 'ms')),
        backend.id(input(inputs, 'mom')),
        backend.id(input(inputs, 'gradient')),
        Number(attrs.learningRate),
        Number(attrs.decay),
        Number(attrs.momentum),
        Number(attrs.epsilon),
      ),
    ),
  ];
}
