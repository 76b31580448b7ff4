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

function pads(info: Conv2DInfo): number[] {
  const p = info.padInfo;
  return [p.top, p.bottom, p.left, p.right];
}

function convGeometry(info: Conv2DInfo): [number[], number[], number[]] {
  return [[info.strideHeight, info.strideWidth], pads(info), [info.dilationHeight, info.dilationWidth]];
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
    const [strides, padding, dilations] = convGeometry(info);
    return backend.runOne(
      'conv2d',
      backend.id(x),
      backend.id(filter),
      strides,
      padding,
      dilations,
      depthwise,
      fused ? backend.optionalId(inputs.bias) : -1,
      fused ? String(attrs.activation ?? 'linear') : 'linear',
      Number(attrs.leakyreluAlpha ?? 0.2),
      fused ? backend.optionalId(inputs.preluActivationWeights) : -1,
    );
  });
}

function convGradInput(kernelName: string, depthwise: boolean): KernelConfig {
  return torchKernel(kernelName, FLOAT, ({ inputs, attrs, backend }) => {
    const dy = input(inputs, 'dy');
    const filter = input(inputs, 'filter');
    const inputShape = attrs.inputShape as number[];
    const info = convInfo(kernelName, inputShape, filter.shape, attrs, depthwise);
    const [strides, padding, dilations] = convGeometry(info);
    return backend.runOne(
      'conv2dGradInput',
      backend.id(dy),
      backend.id(filter),
      inputShape,
      strides,
      padding,
      dilations,
      depthwise,
    );
  });
}

function convGradFilter(kernelName: string, depthwise: boolean): KernelConfig {
  return torchKernel(kernelName, FLOAT, ({ inputs, attrs, backend }) => {
    const x = input(inputs, 'x');
    const dy = input(inputs, 'dy');
    const filterShape = attrs.filterShape as number[];
    const info = convInfo(kernelName, x.shape, filterShape, attrs, depthwise);
    const [strides, padding, dilations] = convGeometry(info);
    return backend.runOne(
      'conv2dGradFilter',
      backend.id(x),
      backend.id(dy),
      filterShape,
      strides,
      padding,
      dilations,
      depthwise,
    );
  });
}

function poolGeometry(x: TensorInfo, attrs: TorchKernelArgs['attrs']): [number[], number[], number[]] {
  const info = backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding,
  );
  return [[info.filterHeight, info.filterWidth], [info.strideHeight, info.strideWidth], pads(info)];
}

function matMul(backend: TorchBackend, args: TorchKernelArgs, fused: boolean): TensorInfo {
  const { inputs, attrs } = args;
  return backend.runOne(
    'matMul',
    backend.id(input(inputs, 'a')),
    backend.id(input(inputs, 'b')),
    Boolean(attrs.transposeA),
    Boolean(attrs.transposeB),
    fused ? backend.optionalId(inputs.bias) : -1,
    fused ? String(attrs.activation ?? 'linear') : 'linear',
    Number(attrs.leakyreluAlpha ?? 0.2),
    fused ? backend.optionalId(inputs.preluActivationWeights) : -1,
  );
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
      return backend.runOne('maxPool', backend.id(x), ...poolGeometry(x, attrs));
    }),
    torchKernel('MaxPoolGrad', FLOAT, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'input');
      return backend.runOne(
        'maxPoolGrad',
        backend.id(input(inputs, 'dy')),
        backend.id(x),
        backend.id(input(inputs, 'output')),
        ...poolGeometry(x, attrs),
      );
    }),
    torchKernel('AvgPool', FLOAT, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'x');
      return backend.runOne('avgPool', backend.id(x), ...poolGeometry(x, attrs));
    }),
    torchKernel('AvgPoolGrad', FLOAT, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'input');
      return backend.runOne('avgPoolGrad', backend.id(input(inputs, 'dy')), backend.id(x), ...poolGeometry(x, attrs));
    }),
  ];
}
