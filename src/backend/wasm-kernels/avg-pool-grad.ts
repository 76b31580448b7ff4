/**
 * AvgPoolGrad for the wasm backend (the stock kernel is a scalar loop, many times slower than its forward pool). As on
 * the cpu backend, dx[h, w] = sum of dy over the windows that contain (h, w), divided by the full window size; that is
 * the transposed depthwise convolution of dy with a constant filter, computed by sub-pixel phases (sub-pixel-phases.ts)
 * on the backend's XNNPACK DepthwiseConv2dNative.
 */
import { backend_util } from '@tensorflow/tfjs';
import type { AvgPoolGradAttrs, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { release, runWasm, type WasmBackend } from './wasm-backend.ts';
import { transposedWindowOp } from './sub-pixel-phases.ts';

export function makeAvgPoolGrad(original: KernelFunc) {
  return function avgPoolGrad(args: {
    inputs: { dy: TensorInfo; input: TensorInfo };
    backend: WasmBackend;
    attrs: AvgPoolGradAttrs;
  }): TensorInfo {
    const { inputs, backend, attrs } = args;
    const { dy, input } = inputs;
    if (input.dtype !== 'float32' || dy.dtype !== 'float32') {
      return original(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const info = backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      attrs.filterSize,
      attrs.strides,
      1,
      attrs.pad,
    );
    const channels = info.inChannels;
    const weight = 1 / (info.filterHeight * info.filterWidth);
    return transposedWindowOp(backend, dy, {
      inputShape: [...input.shape],
      strideHeight: info.strideHeight,
      strideWidth: info.strideWidth,
      filterHeight: info.filterHeight,
      filterWidth: info.filterWidth,
      padTop: info.padInfo.top,
      padLeft: info.padInfo.left,
      convolvePhase(dyUsed, ph, pw, [top, bottom, left, right]) {
        const filter = backend.makeOutput([ph.taps, pw.taps, channels, 1], 'float32');
        (backend.typedArrayFromHeap(filter) as Float32Array).fill(weight);
        const part = runWasm(
          'DepthwiseConv2dNative',
          backend,
          { x: dyUsed, filter },
          {
            strides: [1, 1],
            pad: [
              [0, 0],
              [top, bottom],
              [left, right],
              [0, 0],
            ],
            dilations: [1, 1],
            dataFormat: 'NHWC',
            dimRoundingMode: undefined,
          },
        );
        release(backend, filter);
        return part;
      },
    });
  };
}
