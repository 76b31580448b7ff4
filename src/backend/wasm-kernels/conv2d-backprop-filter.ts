/**
 * Conv2DBackpropFilter for the wasm backend (tfjs-backend-wasm 4.22 has none), computed as one convolution on the
 * backend's XNNPACK Conv2D:
 *
 *   dW[i, j, ci, co] = sum_{b, p, q} xpad[b, p*sh + i, q*sw + j, ci] * dy[b, p, q, co]
 *
 * is a convolution whose batch is ci, whose channels are b, and whose Ho x Wo "filter" is dy dilated by the stride:
 * input x^T [Ci, H, W, B], filter dy^T [Ho, Wo, B, Co], dilation (sh, sw), stride 1, padding (top, left) of the forward
 * conv and whatever bottom/right padding makes the output exactly kh x kw. Its result [Ci, kh, kw, Co] is transposed to
 * [kh, kw, Ci, Co]. The cost equals the forward convolution's multiply-adds.
 */
import { backend_util } from '@tensorflow/tfjs';
import type { Conv2DBackpropFilterAttrs, TensorInfo } from '@tensorflow/tfjs';
import { conv2dInfo, release, reshapeInfo, runWasm, transposeInfo, type WasmBackend } from './wasm-backend.ts';

/**
 * x [B, H, W, C] -> [C, H, W, B]. Done as a 2D transpose [B, HWC] -> [HWC, B] and a move of contiguous B-runs
 * [HW, C, B] -> [C, HW, B]: about twice as fast as the wasm Transpose kernel's general 4D path.
 */
function channelsToBatch(backend: WasmBackend, x: TensorInfo): TensorInfo {
  const [batch, height, width, channels] = x.shape;
  const flat = reshapeInfo(backend, x, [batch, height * width * channels]);
  const flatT = transposeInfo(backend, flat, [1, 0]);
  const runs = reshapeInfo(backend, flatT, [height * width, channels, batch]);
  const moved = transposeInfo(backend, runs, [1, 0, 2]);
  const out = reshapeInfo(backend, moved, [channels, height, width, batch]);
  release(backend, flat, flatT, runs, moved);
  return out;
}

export function conv2dBackpropFilter(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: WasmBackend;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (dataFormat === 'NCHW') {
    throw new Error(`Conv2DBackpropFilter on wasm: dataFormat 'NCHW' is not supported (the wasm Conv2D is NHWC only)`);
  }
  const conv = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = conv;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = conv;
  const { top, left } = conv.padInfo;
  const rows = batchSize * outHeight * outWidth;

  if (filterHeight === 1 && filterWidth === 1 && strideHeight === 1 && strideWidth === 1 && top === 0 && left === 0) {
    // 1x1, stride 1: dW = x^T dy, a fully connected layer over the B*H*W positions.
    const x2d = reshapeInfo(backend, x, [rows, inChannels]);
    const xT = transposeInfo(backend, x2d, [1, 0]);
    const xIn = reshapeInfo(backend, xT, [inChannels, 1, 1, rows]);
    const dyFilter = reshapeInfo(backend, dy, [1, 1, rows, outChannels]);
    const out = conv2dInfo(backend, xIn, dyFilter, [0, 0, 0, 0]);
    const dW = reshapeInfo(backend, out, [1, 1, inChannels, outChannels]);
    release(backend, x2d, xT, xIn, dyFilter, out);
    return dW;
  }

  // Padding after the last row/column that keeps the output at kh x kw; negative means x has unused trailing
  // rows/columns (a stride that does not divide the extent), which are cut off.
  const bottom = filterHeight + (outHeight - 1) * strideHeight - inHeight - top;
  const right = filterWidth + (outWidth - 1) * strideWidth - inWidth - left;
  let xUsed = x;
  if (bottom < 0 || right < 0) {
    xUsed = runWasm(
      'Slice',
      backend,
      { x },
      {
        begin: [0, 0, 0, 0],
        size: [batchSize, inHeight + Math.min(0, bottom), inWidth + Math.min(0, right), inChannels],
      },
    );
  }
  const xT = channelsToBatch(backend, xUsed);
  const dyT = transposeInfo(backend, dy, [1, 2, 0, 3]);
  const out = conv2dInfo(
    backend,
    xT,
    dyT,
    [top, Math.max(0, bottom), left, Math.max(0, right)],
    [strideHeight, strideWidth],
  );
  const dW = transposeInfo(backend, out, [1, 2, 0, 3]);
  release(backend, xT, dyT, out);
  if (xUsed !== x) release(backend, xUsed);
  return dW;
}
