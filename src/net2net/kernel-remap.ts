/**
 * Remapping one weight array for a widening, on plain Float32Arrays. Every weight is viewed as [S, IN, OUT]:
 * conv kernels [kh, kw, in, out] and dense kernels [in, out] directly; per-channel vectors as [1, 1, n];
 * depthwise kernels [kh, kw, in, multiplier] as [kh * kw, in, multiplier] with no output mapping.
 */
import type { SeededRandom } from '../random/seeded-random.ts';
import type { UnitMapping } from './mapping.ts';
import { replicaCounts, replicaRanks } from './mapping.ts';
import type { NoiseSpec } from './noise.ts';
import { rootMeanSquare, ZERO_SUM_RELATIVE_SCALE } from './noise.ts';

export type KernelView = [s: number, inputs: number, outputs: number];

export type FillMode =
  /** Net2WiderNet: copies; `divideInput` divides by the input unit's replica count (outgoing weights). */
  | { kind: 'replicate'; divideInput: boolean; noise: NoiseSpec; random: SeededRandom }
  /** Random pad: original units keep their weights, every weight touching a new unit comes from `fresh`. */
  | { kind: 'random-pad'; fresh: Float32Array };

export function remapKernel(
  values: Float32Array,
  [S, IN, OUT]: KernelView,
  inMap: UnitMapping | undefined,
  outMap: UnitMapping | undefined,
  mode: FillMode,
): Float32Array {
  if (values.length !== S * IN * OUT)
    throw new Error(`kernel of ${values.length} values does not match view ${[S, IN, OUT]}`);
  if (inMap && inMap.oldWidth !== IN)
    throw new Error(`input mapping of ${inMap.oldWidth} units for a kernel with ${IN}`);
  if (outMap && outMap.oldWidth !== OUT) throw new Error(`output mapping of ${outMap.oldWidth} units for ${OUT}`);
  const gIn = inMap?.g ?? identityIndex(IN);
  const gOut = outMap?.g ?? identityIndex(OUT);
  const IN2 = gIn.length;
  const OUT2 = gOut.length;
  const out = new Float32Array(S * IN2 * OUT2);
  const inRanks = inMap ? replicaRanks(inMap) : new Int32Array(IN2);
  const outRanks = outMap ? replicaRanks(outMap) : new Int32Array(OUT2);

  if (mode.kind === 'random-pad') {
    for (let s = 0; s < S; s++)
      for (let i = 0; i < IN2; i++)
        for (let j = 0; j < OUT2; j++) {
          const at = (s * IN2 + i) * OUT2 + j;
          out[at] = inRanks[i] === 0 && outRanks[j] === 0 ? values[(s * IN + gIn[i]) * OUT + gOut[j]] : mode.fresh[at];
        }
    return out;
  }

  const counts = mode.divideInput && inMap ? replicaCounts(inMap) : new Int32Array(IN).fill(1);
  const noise = mode.noise;
  const random = mode.random;
  const rms = noise === 'none' ? 0 : rootMeanSquare(values);
  const zeroSumScale = ZERO_SUM_RELATIVE_SCALE * rms;
  const gaussianScale = typeof noise === 'number' ? noise * rms : 0;
  for (let s = 0; s < S; s++)
    for (let i = 0; i < IN2; i++) {
      const k = counts[gIn[i]];
      const rank = inRanks[i];
      const src = (s * IN + gIn[i]) * OUT;
      const dst = (s * IN2 + i) * OUT2;
      if (k === 1 && !outMap) {
        out.set(values.subarray(src, src + OUT), dst);
      } else if (k > 1 && noise === 'zero-sum' && rank < k - 1) {
        for (let j = 0; j < OUT2; j++) out[dst + j] = values[src + gOut[j]] / k + (zeroSumScale * random.normal()) / k;
      } else if (k > 1 && gaussianScale > 0 && rank > 0) {
        for (let j = 0; j < OUT2; j++) out[dst + j] = values[src + gOut[j]] / k + gaussianScale * random.normal();
      } else {
        for (let j = 0; j < OUT2; j++) out[dst + j] = values[src + gOut[j]] / k;
      }
    }
  if (noise === 'zero-sum' && inMap && mode.divideInput) {
    // The last copy of each unit takes exactly what the others leave of the original weight.
    const copies: number[][] = Array.from({ length: IN }, () => []);
    for (let i = 0; i < IN2; i++) copies[gIn[i]].push(i);
    for (let s = 0; s < S; s++)
      for (let u = 0; u < IN; u++) {
        const positions = copies[u];
        if (positions.length < 2) continue;
        const src = (s * IN + u) * OUT;
        const last = (s * IN2 + positions[positions.length - 1]) * OUT2;
        const others = positions.slice(0, -1).map((i) => (s * IN2 + i) * OUT2);
        for (let j = 0; j < OUT2; j++) {
          let sum = 0;
          for (const row of others) sum = Math.fround(sum + out[row + j]);
          out[last + j] = values[src + gOut[j]] - sum;
        }
      }
  }
  return out;
}

function identityIndex(n: number): Int32Array {
  const g = new Int32Array(n);
  for (let j = 0; j < n; j++) g[j] = j;
  return g;
}
