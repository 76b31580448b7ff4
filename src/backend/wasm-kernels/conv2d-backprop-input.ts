/**
 * Conv2DBackpropInput for the wasm backend on its XNNPACK Conv2D (the stock kernel is a scalar loop), by sub-pixel
 * decomposition: for stride s, the input rows h with (h + padTop) % s == r receive gradient only from the filter
 * taps i = r, r + s, r + 2s, ... . For each phase (r, c) the gradient at those positions is a stride-1 convolution of
 * dy with that sub-filter, flipped and with in/out channels swapped:
 *
 *   dx[b, m*s + r - padTop, ...] = sum_t dy[b, m - t, ...] * W[r + s*t, ...]^T
 *
 * so the total work equals one forward convolution (no zero-inserted dy). Stride 1 is the single phase (0, 0), whose
 * convolution output is already dx. For stride > 1 the phase outputs are interleaved into dx.
 */
import { backend_util, Conv2DBackpropInput } from '@tensorflow/tfjs';
import type { Conv2DBackpropInputAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { conv2dInfo, heapF32, release, runWasm, type WasmBackend } from './wasm-backend.ts';

interface Phase {
  /** Filter taps of this phase along the axis: r, r + s, ..., count `taps`. */
  r: number;
  taps: number;
  /** First and count of the sub-grid indices m whose positions m*s + r - pad fall inside the input. */
  m0: number;
  count: number;
}

function phasesOf(kernel: number, stride: number, pad: number, inSize: number): Phase[] {
  const phases: Phase[] = [];
  for (let r = 0; r < stride; r++) {
    const taps = r < kernel ? Math.ceil((kernel - r) / stride) : 0;
    const m0 = Math.ceil((pad - r) / stride);
    const m1 = Math.floor((inSize - 1 + pad - r) / stride);
    phases.push({ r, taps, m0, count: Math.max(0, m1 - m0 + 1) });
  }
  return phases;
}

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

/**
 * dy padded/cropped so that the phase's stride-1 convolution yields exactly its `count` rows: returns the (possibly
 * sliced) dy and the remaining non-negative paddings [before, after] per axis.
 */
function phaseWindow(
  p: Phase,
  outSize: number,
): { cropBefore: number; cropAfter: number; before: number; after: number } {
  const before = p.taps - 1 - p.m0;
  const after = p.count + p.taps - 1 - outSize - before;
  return {
    cropBefore: Math.max(0, -before),
    cropAfter: Math.max(0, -after),
    before: Math.max(0, before),
    after: Math.max(0, after),
  };
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
    const { batchSize, inHeight, inWidth, outHeight, outWidth, outChannels } = conv;
    const { filterHeight, filterWidth, strideHeight: sh, strideWidth: sw } = conv;
    const rowPhases = phasesOf(filterHeight, sh, conv.padInfo.top, inHeight);
    const colPhases = phasesOf(filterWidth, sw, conv.padInfo.left, inWidth);

    let dx: TensorInfo | undefined;
    if (rowPhases.some((p) => p.taps === 0 && p.count > 0) || colPhases.some((p) => p.taps === 0 && p.count > 0)) {
      dx = backend.makeOutput(inputShape, 'float32');
      (backend.typedArrayFromHeap(dx) as Float32Array).fill(0);
    }
    for (const ph of rowPhases) {
      if (ph.taps === 0 || ph.count === 0) continue;
      for (const pw of colPhases) {
        if (pw.taps === 0 || pw.count === 0) continue;
        const rowsWin = phaseWindow(ph, outHeight);
        const colsWin = phaseWindow(pw, outWidth);
        let dyUsed = dy;
        if (rowsWin.cropBefore || rowsWin.cropAfter || colsWin.cropBefore || colsWin.cropAfter) {
          dyUsed = runWasm(
            'Slice',
            backend,
            { x: dy },
            {
              begin: [0, rowsWin.cropBefore, colsWin.cropBefore, 0],
              size: [
                batchSize,
                outHeight - rowsWin.cropBefore - rowsWin.cropAfter,
                outWidth - colsWin.cropBefore - colsWin.cropAfter,
                outChannels,
              ],
            },
          );
        }
        const subFilter = flippedSubFilter(backend, filter, ph, pw, sh, sw);
        const part = conv2dInfo(backend, dyUsed, subFilter, [
          rowsWin.before,
          rowsWin.after,
          colsWin.before,
          colsWin.after,
        ]);
        release(backend, subFilter);
        if (dyUsed !== dy) release(backend, dyUsed);
        if (sh === 1 && sw === 1 && dx === undefined) return part;
        dx ??= backend.makeOutput(inputShape, 'float32');
        interleave(backend, part, dx, ph, pw, sh, sw, conv.padInfo.top, conv.padInfo.left);
        release(backend, part);
      }
    }
    return dx ?? backend.makeOutput(inputShape, 'float32');
  };
}

/** Writes a phase's [B, countH, countW, C] result to dx rows (m0+i)*sh + r - padTop, columns likewise. */
function interleave(
  backend: WasmBackend,
  part: TensorInfo,
  dx: TensorInfo,
  ph: Phase,
  pw: Phase,
  sh: number,
  sw: number,
  padTop: number,
  padLeft: number,
): void {
  const [batch, height, width, channels] = dx.shape;
  const { heap, offset: src0 } = heapF32(backend, part);
  const dst0 = heapF32(backend, dx).offset;
  let s = src0;
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < ph.count; i++) {
      const h = (ph.m0 + i) * sh + ph.r - padTop;
      const rowBase = dst0 + (b * height + h) * width * channels;
      for (let j = 0; j < pw.count; j++) {
        const w = (pw.m0 + j) * sw + pw.r - padLeft;
        heap.copyWithin(rowBase + w * channels, s, s + channels);
        s += channels;
      }
    }
  }
}

export function conv2dBackpropInputConfig(original: KernelConfig): KernelConfig {
  return {
    kernelName: Conv2DBackpropInput,
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    kernelFunc: makeConv2dBackpropInput(original.kernelFunc) as unknown as KernelFunc,
  };
}
