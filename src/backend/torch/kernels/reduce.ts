/** Reductions over axes, arg-max/min and softmax. */
import { util } from '@tensorflow/tfjs';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import type { TorchBackend } from '../torch-backend.ts';
import { ANY, FLOAT, NUMERIC, input, torchKernel } from './kernel.ts';

type ReduceOp = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'all' | 'any';

/** op -> the dtype a reduction over no axes converts to (TensorFlow.js: sums of bools count, means are floats). */
function reduceNothing(backend: TorchBackend, op: ReduceOp, x: TensorInfo): TensorInfo {
  if ((op === 'sum' || op === 'prod') && x.dtype === 'bool') return backend.runOne('cast', { x, dtype: 'int32' });
  if (op === 'mean' && x.dtype !== 'float32') return backend.runOne('cast', { x, dtype: 'float32' });
  if (op === 'all' || op === 'any') return backend.runOne('cast', { x, dtype: 'bool' });
  return backend.runOne('clone', { x });
}

function reduction(kernelName: string, op: ReduceOp, axisAttr: string, dtypes = ANY): KernelConfig {
  return torchKernel(kernelName, dtypes, ({ inputs, attrs, backend }) => {
    const x = input(inputs, 'x');
    const axes = util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape);
    if (axes.length === 0) return reduceNothing(backend, op, x);
    return backend.runOne(op, { x, axes, keepDims: Boolean(attrs.keepDims) });
  });
}

export function reduceKernels(): KernelConfig[] {
  return [
    reduction('Sum', 'sum', 'axis'),
    reduction('Mean', 'mean', 'axis'),
    reduction('Prod', 'prod', 'axis'),
    reduction('All', 'all', 'axis'),
    reduction('Any', 'any', 'axis'),
    reduction('Max', 'max', 'reductionIndices', NUMERIC),
    reduction('Min', 'min', 'axis', NUMERIC),
    torchKernel('ArgMax', NUMERIC, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'x');
      return backend.runOne('argMax', { x, axis: util.parseAxisParam(attrs.axis as number, x.shape)[0]! });
    }),
    torchKernel('ArgMin', NUMERIC, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'x');
      return backend.runOne('argMin', { x, axis: util.parseAxisParam(attrs.axis as number, x.shape)[0]! });
    }),
    torchKernel('Softmax', FLOAT, ({ inputs, attrs, backend }) => {
      const logits = input(inputs, 'logits');
      return backend.runOne('softmax', { x: logits, axis: util.parseAxisParam(attrs.dim as number, logits.shape)[0]! });
    }),
  ];
}
