/** Kernels that move values without arithmetic: reshape, transpose, slicing, concatenation, padding, gathering. */
import { backend_util, slice_util, util } from '@tensorflow/tfjs';
import type { DataType, KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { ANY, NUMERIC, input, torchKernel } from './kernel.ts';

function tensorList(inputs: object): TensorInfo[] {
  return Object.values(inputs) as TensorInfo[];
}

/** TensorFlow.js's range length rule (empty when the step points away from stop). */
function rangeCount(start: number, stop: number, step: number): number {
  if (start === stop || (start < stop && step < 0) || (stop < start && step > 1)) return 0;
  return Math.abs(Math.ceil((stop - start) / step));
}

export function shapeKernels(): KernelConfig[] {
  return [
    torchKernel('Reshape', ANY, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'x');
      const shape = util.inferFromImplicitShape(attrs.shape as number[], util.sizeFromShape(x.shape));
      return backend.runOne('reshape', { x, shape });
    }),
    torchKernel('Transpose', ANY, ({ inputs, attrs, backend }) =>
      backend.runOne('transpose', { x: input(inputs, 'x'), perm: attrs.perm as number[] }),
    ),
    torchKernel('Slice', ANY, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'x');
      const [begin, size] = slice_util.parseSliceParams(x, attrs.begin as number[], attrs.size as number[]);
      return backend.runOne('slice', { x, begin, size });
    }),
    torchKernel('StridedSlice', ANY, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'x');
      const info = slice_util.sliceInfo(
        x.shape,
        attrs.begin as number[],
        attrs.end as number[],
        attrs.strides as number[],
        attrs.beginMask as number,
        attrs.endMask as number,
        attrs.ellipsisMask as number,
        attrs.newAxisMask as number,
        attrs.shrinkAxisMask as number,
      );
      if (info.strides.some((s) => s <= 0)) {
        throw new Error("the torch backend has no implementation of kernel 'StridedSlice' with negative strides");
      }
      const { begin, end, strides, finalShape: shape } = info;
      return backend.runOne('stridedSlice', { x, begin, end, strides, shape });
    }),
    torchKernel('Concat', ANY, ({ inputs, attrs, backend }) => {
      const tensors = tensorList(inputs);
      const axis = util.parseAxisParam(attrs.axis as number, tensors[0]!.shape)[0]!;
      const nonEmpty = tensors.filter((t) => util.sizeFromShape(t.shape) > 0);
      return backend.runOne('concat', { inputs: nonEmpty.length > 0 ? nonEmpty : tensors, axis });
    }),
    torchKernel('Pack', ANY, ({ inputs, attrs, backend }) => {
      const tensors = tensorList(inputs);
      const axis = util.parseAxisParam(attrs.axis as number, [...tensors[0]!.shape, 1])[0]!;
      return backend.runOne('stack', { inputs: tensors, axis });
    }),
    torchKernel('Unpack', ANY, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'value');
      return backend.run('unstack', { x, axis: util.parseAxisParam(attrs.axis as number, x.shape)[0]! });
    }),
    torchKernel('SplitV', ANY, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'x');
      const axis = util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
      const sizes = backend_util.prepareSplitSize(x, attrs.numOrSizeSplits as number[] | number, axis);
      return backend.run('split', { x, sizes, axis });
    }),
    torchKernel('Tile', ANY, ({ inputs, attrs, backend }) =>
      backend.runOne('tile', { x: input(inputs, 'x'), reps: attrs.reps as number[] }),
    ),
    torchKernel('PadV2', ANY, ({ inputs, attrs, backend }) =>
      backend.runOne('pad', {
        x: input(inputs, 'x'),
        pads: (attrs.paddings as [number, number][]).flat(),
        value: Number(attrs.constantValue ?? 0),
      }),
    ),
    torchKernel('MirrorPad', ANY, ({ inputs, attrs, backend }) =>
      backend.runOne('mirrorPad', {
        x: input(inputs, 'x'),
        pads: (attrs.paddings as [number, number][]).flat(),
        symmetric: attrs.mode === 'symmetric',
      }),
    ),
    torchKernel('GatherV2', ANY, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'x');
      if (Number(attrs.batchDims ?? 0) !== 0) {
        throw new Error("the torch backend has no implementation of kernel 'GatherV2' with batchDims > 0");
      }
      const axis = util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
      return backend.runOne('gather', { x, indices: input(inputs, 'indices'), axis });
    }),
    torchKernel('Reverse', ANY, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'x');
      return backend.runOne('reverse', { x, axes: util.parseAxisParam(attrs.dims as number[], x.shape) });
    }),
    torchKernel('Fill', ANY, ({ attrs, backend }) => {
      const dtype = (attrs.dtype as DataType) ?? 'float32';
      return backend.runOne('fill', { shape: attrs.shape as number[], value: Number(attrs.value), dtype });
    }),
    torchKernel('Range', ANY, ({ attrs, backend }) => {
      const [start, stop, step] = [Number(attrs.start), Number(attrs.stop), Number(attrs.step)];
      const dtype = (attrs.dtype as DataType) ?? 'float32';
      return backend.runOne('range', { count: rangeCount(start, stop, step), start, step, dtype });
    }),
    torchKernel('OneHot', NUMERIC, ({ inputs, attrs, backend }) =>
      backend.runOne('oneHot', {
        indices: input(inputs, 'indices'),
        depth: Number(attrs.depth),
        onValue: Number(attrs.onValue ?? 1),
        offValue: Number(attrs.offValue ?? 0),
        dtype: (attrs.dtype as DataType) ?? 'int32',
      }),
    ),
    torchKernel('ResizeNearestNeighbor', NUMERIC, ({ inputs, attrs, backend }) => {
      const [height, width] = attrs.size as [number, number];
      return backend.runOne('resizeNearest', {
        images: input(inputs, 'images'),
        height,
        width,
        alignCorners: Boolean(attrs.alignCorners),
        halfPixelCenters: Boolean(attrs.halfPixelCenters),
      });
    }),
  ];
}
