/**
 * Small deterministic random numbers: the data pipeline's shuffles, crops and generated images (each a function of
 * (seed, epoch) or (seed, position), so a resumed or differently-parallel run sees the same examples) and the net2net
 * operators' mappings and noise (so a transform reproduces from its recorded seed).
 */

/** The murmur3 32-bit finalizer: a bijective mix of one uint32. */
export function mix32(value: number): number {
  let x = value >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Hashes non-negative integers (each up to 2^53) into one uint32 seed. */
export function hashSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    if (!Number.isSafeInteger(part)) throw new Error(`hashSeed: ${part} is not a safe integer`);
    const lo = part >>> 0;
    const hi = Math.floor(part / 0x100000000) >>> 0;
    h = mix32((h ^ lo) + 0x7f4a7c15);
    h = mix32((h ^ hi) + 0x165667b1);
  }
  return h;
}

/**
 * The uint32 step: 'splitmix32' (a counter run through a bijective mix) for the data pipeline, 'mulberry32' for the
 * net2net operators. Both are good enough for shuffles, crops and noise; each is kept so that a seed keeps giving the
 * examples and transforms it always gave.
 */
export type RandomAlgorithm = 'splitmix32' | 'mulberry32';

export class SeededRandom {
  private state: number;
  private spareNormal: number | null = null;

  constructor(
    readonly seed: number,
    readonly algorithm: RandomAlgorithm = 'splitmix32',
  ) {
    this.state = seed >>> 0;
  }

  nextUint32(): number {
    if (this.algorithm === 'mulberry32') {
      this.state = (this.state + 0x6d2b79f5) >>> 0;
      let t = this.state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return (t ^ (t >>> 14)) >>> 0;
    }
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x100000000;
  }

  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }

  /** Standard normal (Box-Muller): each pair of uniforms gives two, the second returned by the next call. */
  normal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A new 32-bit seed for a sub-stream (e.g. one layer's noise), so streams do not depend on visiting order. */
  derive(label: string): number {
    let h = (this.seed ^ 0x9e3779b9) >>> 0;
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
    return h;
  }
}

/** A Fisher-Yates permutation of 0..n-1 drawn from `seed`. */
export function seededPermutation(n: number, seed: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const rng = new SeededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}
