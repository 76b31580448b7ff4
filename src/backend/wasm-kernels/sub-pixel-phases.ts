/**
 * Transposed (input-gradient) convolutions by sub-pixel decomposition, shared by Conv2DBackpropInput and AvgPoolGrad.
 *
 * For a forward window op with kernel k, stride s and leading padding p along an axis, the input positions h with
 * (h + p) % s == r receive gradient only from the taps i = r, r + s, r + 2s, ... (a "phase"). On those positions the
 * gradient is a stride-1 convolution of dy with that phase's taps, flipped:
 *
 *   dx[m*s + r - p] = sum_t dy[m - t] * tap[r + s*t]
 *
 * so the total work equals one forward convolution (no zero-inserted dy). Stride 1 has the single phase (0, 0), whose
 * convolution output already is dx. For stride > 1 the phase outputs are interleaved into dx here.
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import { heapF32, release, runWasm, type WasmBackend } from './wasm-backend.ts';

export interface Phase {
  /** First filter tap of this phase along the axis; its taps are r, r + s, ..., `taps` of them. */
  r: number;
  taps: number;
  /** First sub-grid index m and how many m have their position m*s + r - pad inside the input. */
  m0: number;
  count: number;
}

export function phasesOf(kernel: number, stride: number, pad: number, inSize: number): Phase[] {
  const phases: Phase[] = [];
  for (let r = 0; r < stride; r++) {
    const taps = r < kernel ? Math.ceil((kernel - r) / stride) : 0;
    const m0 = Math.ceil((pad - r) / stride);
    const m1 = Math.floor((inSize - 1 + pad - r) / stride);
    phases.push({ r, taps, m0, count: Math.max(0, m1 - m0 + 1) });
  }
  return phases;
}

/**
 * Padding of dy ([before, after], never negative) and rows to crop from it so that the phase's stride-1 convolution
 * yields exactly its `count` positions, the first being m0.
 */
function phaseWindow(p: Phase, dySize: number) {
  const before = p.taps - 1 - p.m0;
  const after = p.count + p.taps - 1 - dySize - before;
  return {
    cropBefore: Math.max(0, -before),
    cropAfter: Math.max(0, -after),
    before: Math.max(0, before),
    after: Math.max(0, after),
  };
}

export interface TransposedWindowOp {
  /** dx's shape [B, H, W, C]. */
  inputShape: number[];
  strideHeight: number;
  strideWidth: number;
  filterHeight: number;
  filterWidth: number;
  padTop: number;
  padLeft: number;
  /**
   * The stride-1 convolution of (cropped) dy for one phase, with the given [top, bottom, left, right] padding;
   * returns [B, ph.count, pw.count, C] owned by the caller.
   */
  convolvePhase(dy: TensorInfo, ph: Phase, pw: Phase, pad: [number, number, number, number]): TensorInfo;
}

export function transposedWindowOp(backend: WasmBackend, dy: TensorInfo, op: TransposedWindowOp): TensorInfo {
  const [batch, inHeight, inWidth] = op.inputShape;
  const [, outHeight, outWidth, dyChannels] = dy.shape;
  const { strideHeight: sh, strideWidth: sw } = op;
  const rowPhases = phasesOf(op.filterHeight, sh, op.padTop, inHeight);
  const colPhases = phasesOf(op.filterWidth, sw, op.padLeft, inWidth);

  let dx: TensorInfo | undefined;
  if (rowPhases.some((p) => p.taps === 0 && p.count > 0) || colPhases.some((p) => p.taps === 0 && p.count > 0)) {
    dx = backend.makeOutput(op.inputShape, 'float32');
    (backend.typedArrayFromHeap(dx) as Float32Array).fill(0);
  }
  for (const ph of rowPhases) {
    if (ph.taps === 0 || ph.count === 0) continue;
    for (const pw of colPhases) {
      if (pw.taps === 0 || pw.count === 0) continue;
      const rows = phaseWindow(ph, outHeight);
      const cols = phaseWindow(pw, outWidth);
      let dyUsed = dy;
      if (rows.cropBefore || rows.cropAfter || cols.cropBefore || cols.cropAfter) {
        dyUsed = runWasm(
          'Slice',
          backend,
          { x: dy },
          {
            begin: [0, rows.cropBefore, cols.cropBefore, 0],
            size: [
              batch,
              outHeight - rows.cropBefore - rows.cropAfter,
              outWidth - cols.cropBefore - cols.cropAfter,
              dyChannels,
            ],
          },
        );
      }
      const part = op.convolvePhase(dyUsed, ph, pw, [rows.before, rows.after, cols.before, cols.after]);
      if (dyUsed !== dy) release(backend, dyUsed);
      if (sh === 1 && sw === 1 && dx === undefined) return part;
      dx ??= backend.makeOutput(op.inputShape, 'float32');
      interleave(backend, part, dx, ph, pw, sh, sw, op.padTop, op.padLeft);
      release(backend, part);
    }
  }
  if (dx === undefined) {
    dx = backend.makeOutput(op.inputShape, 'float32');
    (backend.typedArrayFromHeap(dx) as Float32Array).fill(0);
  }
  return dx;
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
