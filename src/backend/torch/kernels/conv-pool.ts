/** Matrix products, convolutions (plain, depthwise, fused, and their gradients) and pooling, NHWC. */
import { backend_util } from '@tensorflow/tfjs';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import type { TorchBackend } from '../torch-backend.ts';
import { FLOAT, input, torchKernel } from './kernel.ts';
import type { TorchKernelArgs } from './kernel.ts';

type Conv2DInfo = backend_util.Conv2DInfo;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;

function requireNhwc(kernelName: string, dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`the torch backend has no ${String(dataFormat)} implementation of kernel '${kernelName}'`);
  }
}

/**
 * [top, bottom, left, right] for an output of `out` [height, width]. With dimRoundingMode 'ceil' (or 'round')
 * TensorFlow.js counts a last window that runs past the padded input; the bottom and right pads grow to hold it, as
 * ATen counts whole windows only. Gradients take `out` from dy: TensorFlow.js's gradients do not pass the rounding on.
 */
function pads(info: Conv2DInfo, out = [info.outHeight, info.outWidth]): number[] {
  const p = info.padInfo;
  const reach = (size: number, stride: number, filter: number) => (size - 1) * stride + filter;
  const bottom = reach(out[0]!, info.strideHeight, info.effectiveFilterHeight) - info.inHeight - p.top;
  const right = reach(out[1]!, info.strideWidth, info.effectiveFilterWidth) - info.inWidth - p.left;
  return [p.top, Math.max(p.bottom, bottom), p.left, Math.max(p.right, right)];
}

function convGeometry(info: Conv2DInfo, dy?: TensorInfo): { strides: number[]; pads: number[]; dilations: number[] } {
  return {
    strides: [info.strideHeight, info.strideWidth],
    pads: pads(info, dy?.shape.slice(1, 3)),
    dilations: [info.dilationHeight, info.dilationWidth],
  };
}

function convInfo(
  kernelName: string,
  inShape: number[],
  filterShape: number[],
  attrs: TorchKernelArgs['attrs'],
  depthwise: boolean,
): Conv2DInfo {
  requireNhwc(kernelName, attrs.dataFormat);
  return backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    (attrs.dilations as [number, number] | number) ?? 1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding,
    depthwise,
  );
}

/** Conv2D, FusedConv2D, DepthwiseConv2dNative, FusedDepthwiseConv2D. */
function convForward(kernelName: string, depthwise: boolean, fused: boolean): KernelConfig {
  return torchKernel(kernelName, FLOAT, ({ inputs, attrs, backend }) => {
    const x = input(inputs, 'x');
    const filter = input(inputs, 'filter');
    const info = convInfo(kernelName, x.shape, filter.shape, attrs, depthwise);
    return backend.runOne('conv2d', {
      x,
      filter,
      ...convGeometry(info),
      depthwise,
      bias: fused ? (inputs.bias ?? null) : null,
      activation: fused ? String(attrs.activation ?? 'linear') : 'linear',
      alpha: Number(attrs.leakyreluAlpha ?? 0.2),
      prelu: fused ? (inputs.preluActivationWeights ?? null) : null,
    });
  });
}

function convGradInput(kernelName: string, depthwise: boolean): KernelConfig {
  return torchKernel(kernelName, FLOAT, ({ inputs, attrs, backend }) => {
    const dy = input(inputs, 'dy');
    const filter = input(inputs, 'filter');
    const inputShape = attrs.inputShape as number[];
    const info = convInfo(kernelName, inputShape, filter.shape, attrs, depthwise);
    return backend.runOne('conv2dGradInput', { dy, filter, inputShape, ...convGeometry(info, dy), depthwise });
  });
}

function convGradFilter(kernelName: string, depthwise: boolean): KernelConfig {
  return torchKernel(kernelName, FLOAT, ({ inputs, attrs, backend }) => {
    const x = input(inputs, 'x');
    const dy = input(inputs, 'dy');
    const filterShape = attrs.filterShape as number[];
    const info = convInfo(kernelName, x.shape, filterShape, attrs, depthwise);
    return backend.runOne('conv2dGradFilter', { x, dy, filterShape, ...convGeometry(info, dy), depthwise });
  });
}

interface PoolGeometry {
  filterSize: number[];
  strides: number[];
  pads: number[];
}

function poolGeometry(x: TensorInfo, attrs: TorchKernelArgs['attrs'], dy?: TensorInfo): PoolGeometry {
  const info = backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding,
  );
  return {
    filterSize: [info.filterHeight, info.filterWidth],
    strides: [info.strideHeight, info.strideWidth],
    pads: pads(info, dy?.shape.slice(1, 3)),
  };
}

function matMul(backend: TorchBackend, args: TorchKernelArgs, fused: boolean): TensorInfo {
  const { inputs, attrs } = args;
  return backend.runOne('matMul', {
    a: input(inputs, 'a'),
    b: input(inputs, 'b'),
    transposeA: Boolean(attrs.transposeA),
    transposeB: Boolean(attrs.transposeB),
    bias: fused ? (inputs.bias ?? null) : null,
    activation: fused ? String(attrs.activation ?? 'linear') : 'linear',
    alpha: Number(attrs.leakyreluAlpha ?? 0.2),
    prelu: fused ? (inputs.preluActivationWeights ?? null) : null,
  });
}

export function convPoolKernels(): KernelConfig[] {
  return [
    torchKernel('BatchMatMul', FLOAT, (args) => matMul(args.backend, args, false)),
    torchKernel('_FusedMatMul', FLOAT, (args) => matMul(args.backend, args, true)),
    convForward('Conv2D', false, false),
    convForward('FusedConv2D', false, true),
    convForward('DepthwiseConv2dNative', true, false),
    convForward('FusedDepthwiseConv2D', true, true),
    convGradInput('Conv2DBackpropInput', false),
    convGradInput('DepthwiseConv2dNativeBackpropInput', true),
    convGradFilter('Conv2DBackpropFilter', false),
    convGradFilter('DepthwiseConv2dNativeBackpropFilter', true),
    torchKernel('MaxPool', FLOAT, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'x');
      return backend.runOne('maxPool', { x, ...poolGeometry(x, attrs) });
    }),
    torchKernel('MaxPoolGrad', FLOAT, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'input');
      const dy = input(inputs, 'dy');
      return backend.runOne('maxPoolGrad', { dy, x, output: input(inputs, 'output'), ...poolGeometry(x, attrs, dy) });
    }),
    torchKernel('AvgPool', FLOAT, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'x');
      return backend.runOne('avgPool', { x, ...poolGeometry(x, attrs) });
    }),
    torchKernel('AvgPoolGrad', FLOAT, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'input');
      const dy = input(inputs, 'dy');
      return backend.runOne('avgPoolGrad', { dy, x, ...poolGeometry(x, attrs, dy) });
    }),
  ];
}
