/**
 * Symmetry breaking for replicated units. Noise only ever touches the divided OUTGOING weights of replicated units
 * (the input axis of the consumers' kernels); incoming weights stay exact copies.
 *
 * - 'none': every copy gets w / k (exact).
 * - 'zero-sum': copies of one unit get w / k + e_i with sum(e_i) = 0; the last copy takes exactly what is left,
 *   w - sum(others), so the copies add up to w in float32 (exact, and the copies differ).
 * - a number s: copies other than the first get w / k + N(0, (s * rms)^2), rms being the root mean square of the
 *   consumer's old kernel, as the paper does (not function-preserving).
 */
export type NoiseSpec = 'none' | 'zero-sum' | number;

/** Whether a noise keeps the student's function exact ('none', 'zero-sum'); a Gaussian scale does not. */
export function isExactNoise(noise: NoiseSpec): boolean {
  return typeof noise !== 'number';
}

/** Standard deviation of the zero-sum offsets, relative to rms(kernel) / k. */
export const ZERO_SUM_RELATIVE_SCALE = 0.1;

export function validateNoise(noise: unknown): NoiseSpec {
  if (noise === undefined) return 'none';
  if (noise === 'none' || noise === 'zero-sum') return noise;
  if (typeof noise === 'number' && Number.isFinite(noise) && noise >= 0) return noise;
  throw new Error(`noise must be 'none', 'zero-sum' or a non-negative number; got ${JSON.stringify(noise)}`);
}

export function rootMeanSquare(values: Float32Array): number {
  let s = 0;
  for (const v of values) s += v * v;
  return values.length > 0 ? Math.sqrt(s / values.length) : 0;
}
