/** Reductions over axes, arg-max/min and softmax. */
import { util } from '@tensorflow/tfjs';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { dtypeCode } from '../torch-backend.ts';
import type { TorchBackend } from '../torch-backend.ts';
import { ANY, FLOAT, NUMERIC, input, torchKernel } from './kernel.ts';

/** op -> the dtype a reduction over no axes converts to (TensorFlow.js: sums of bools count, means are floats). */
function reduceNothing(backend: TorchBackend, op: string, x: TensorInfo): TensorInfo {
  if ((op === 'sum' || op === 'prod') && x.dtype === 'bool')
    return backend.runOne('cast', backend.id(x), dtypeCode('int32'));
  if (op === 'mean' && x.dtype !== 'float32') return backend.runOne('cast', backend.id(x), dtypeCode('float32'));
  if (op === 'all' || op === 'any') return backend.runOne('cast', backend.id(x), dtypeCode('bool'));
  return backend.runOne('clone', backend.id(x));
}

function reduction(kernelName: string, op: string, axisAttr: string, dtypes = ANY): KernelConfig {
  return torchKernel(kernelName, dtypes, ({ inputs, attrs, backend }) => {
    const x = input(inputs, 'x');
    const axes = util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape);
    if (axes.length === 0) return reduceNothing(backend, op, x);
    return backend.runOne(op, backend.id(x), axes, Boolean(attrs.keepDims));
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
      return backend.runOne('argMax', backend.id(x), util.parseAxisParam(attrs.axis as number, x.shape)[0]!);
    }),
    torchKernel('ArgMin', NUMERIC, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'x');
      return backend.runOne('argMin', backend.id(x), util.parseAxisParam(attrs.axis as number, x.shape)[0]!);
    }),
    torchKernel('Softmax', FLOAT, ({ inputs, attrs, backend }) => {
      const logits = input(inputs, 'logits');
      return backend.runOne('softmax', backend.id(logits), util.parseAxisParam(attrs.dim as number, logits.shape)[0]!);
    }),
  ];
}
