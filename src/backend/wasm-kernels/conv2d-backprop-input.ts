/**
 * Conv2DBackpropInput for the wasm backend on its XNNPACK Conv2D (the stock kernel is a scalar loop), by sub-pixel
 * decomposition (sub-pixel-phases.ts): one stride-1 convolution of dy per stride phase with that phase's filter taps,
 * flipped and with in/out channels swapped. Work equals the forward convolution's for every stride.
 */
import { backend_util } from '@tensorflow/tfjs';
import type { Conv2DBackpropInputAttrs, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { conv2dInfo, release, type WasmBackend } from './wasm-backend.ts';
import { transposedWindowOp, type Phase } from './sub-pixel-phases.ts';

/** Wf[u, v, co, ci] = W[rh + sh*(Th-1-u), rw + sw*(Tw-1-v), ci, co]: one phase's taps, flipped, channels swapped. */
function flippedSubFilter(
  backend: WasmBackend,
  filter: TensorInfo,
  ph: Phase,
  pw: Phase,
  sh: number,
  sw: number,
): TensorInfo {
  const [, kw, ci, co] = filter.shape;
  const out = backend.makeOutput([ph.taps, pw.taps, co, ci], 'float32');
  const src = backend.typedArrayFromHeap(filter) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  let d = 0;
  for (let u = 0; u < ph.taps; u++) {
    const i = ph.r + sh * (ph.taps - 1 - u);
    for (let v = 0; v < pw.taps; v++) {
      const j = pw.r + sw * (pw.taps - 1 - v);
      const base = (i * kw + j) * ci * co;
      for (let o = 0; o < co; o++) {
        for (let c = 0; c < ci; c++) dst[d++] = src[base + c * co + o];
      }
    }
  }
  return out;
}

export function makeConv2dBackpropInput(original: KernelFunc) {
  return function conv2dBackpropInput(args: {
    inputs: { dy: TensorInfo; filter: TensorInfo };
    backend: WasmBackend;
    attrs: Conv2DBackpropInputAttrs;
  }): TensorInfo {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs;
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
    if (dataFormat === 'NCHW' || dy.dtype !== 'float32' || filter.dtype !== 'float32') {
      return original(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const conv = backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast',
    );
    const { strideHeight, strideWidth } = conv;
    return transposedWindowOp(backend, dy, {
      inputShape: [...inputShape],
      strideHeight,
      strideWidth,
      filterHeight: conv.filterHeight,
      filterWidth: conv.filterWidth,
      padTop: conv.padInfo.top,
      padLeft: conv.padInfo.left,
      convolvePhase(dyUsed, ph, pw, phasePad) {
        const subFilter = flippedSubFilter(backend, filter, ph, pw, strideHeight, strideWidth);
        const part = conv2dInfo(backend, dyUsed, subFilter, phasePad);
        release(backend, subFilter);
        return part;
      },
    });
  };
}
