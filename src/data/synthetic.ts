/**
 * The `synthetic` dataset: images generated in memory whose class is learnable. Each class has a fixed pattern (a sum
 * of oriented sine gratings per channel, drawn from the class index); each example is its class pattern, randomly
 * shifted and scaled in contrast, plus Gaussian pixel noise.
 */
import type { InputShape } from './dataset.ts';
import type { ImageArray } from './in-memory-dataset.ts';
import { InMemoryDataset } from './in-memory-dataset.ts';
import { SeededRandom, hashSeed } from '../random/seeded-random.ts';

export interface SyntheticConfig {
  inputShape: InputShape;
  classes: number;
  numTrain: number;
  numVal: number;
  /** Standard deviation of the pixel noise, in [0, 1] pixel units. */
  noise?: number;
  /** Seed of the patterns and examples (not of the training order). */
  seed?: number;
  augment?: boolean;
  name?: string;
}

export const SYNTHETIC_DEFAULTS = { inputShape: [28, 28, 1] as InputShape, classes: 10, numTrain: 1024, numVal: 256 };

const GRATINGS_PER_CHANNEL = 3;

/** Pattern of one class in [-1, 1], HWC. */
function classPattern(shape: InputShape, classIndex: number, seed: number): Float32Array {
  const [h, w, c] = shape;
  const rng = new SeededRandom(hashSeed(seed, 1, classIndex));
  const pattern = new Float32Array(h * w * c);
  for (let ch = 0; ch < c; ch++) {
    for (let g = 0; g < GRATINGS_PER_CHANNEL; g++) {
      const angle = rng.uniform(0, Math.PI);
      const cycles = rng.uniform(1, 4);
      const phase = rng.uniform(0, 2 * Math.PI);
      const fx = (Math.cos(angle) * cycles * 2 * Math.PI) / w;
      const fy = (Math.sin(angle) * cycles * 2 * Math.PI) / h;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) pattern[(y * w + x) * c + ch]! += Math.sin(fx * x + fy * y + phase) / GRATINGS_PER_CHANNEL;
      }
    }
  }
  return pattern;
}

/**
 * A standard normal from two fresh uniforms (Box-Muller, cosine branch only): how the images have always been drawn,
 * kept so that a seed keeps giving the same images.
 */
function pixelNoise(rng: SeededRandom): number {
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function generateSplit(config: Required<Omit<SyntheticConfig, 'name' | 'augment'>>, patterns: Float32Array[], count: number, stream: number): ImageArray {
  const [h, w, c] = config.inputShape;
  const size = h * w * c;
  const pixels = new Uint8Array(count * size);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const rng = new SeededRandom(hashSeed(config.seed, stream, i));
    const label = i % config.classes;
    labels[i] = label;
    const pattern = patterns[label]!;
    const dy = rng.int(5) - 2;
    const dx = rng.int(5) - 2;
    const contrast = rng.uniform(0.25, 0.4);
    for (let y = 0; y < h; y++) {
      const sy = (y + dy + h) % h;
      for (let x = 0; x < w; x++) {
        const sx = (x + dx + w) % w;
        for (let ch = 0; ch < c; ch++) {
          const v = 0.5 + contrast * pattern[(sy * w + sx) * c + ch]! + config.noise * pixelNoise(rng);
          pixels[i * size + (y * w + x) * c + ch] = Math.max(0, Math.min(255, Math.round(v * 255)));
        }
      }
    }
  }
  return { pixels, labels };
}

export function createSyntheticDataset(config: SyntheticConfig): InMemoryDataset {
  const full = { noise: 0.1, seed: 0, ...config };
  const [h, w, c] = full.inputShape;
  if (![h, w, c].every((d) => Number.isInteger(d) && d > 0)) throw new Error(`synthetic: bad input shape ${full.inputShape.join('x')}`);
  if (!Number.isInteger(full.classes) || full.classes < 2) throw new Error(`synthetic: classes must be an integer >= 2, got ${full.classes}`);
  if (!Number.isInteger(full.numTrain) || full.numTrain < 1) throw new Error(`synthetic: numTrain must be a positive integer, got ${full.numTrain}`);
  if (!Number.isInteger(full.numVal) || full.numVal < 0) throw new Error(`synthetic: numVal must be a non-negative integer, got ${full.numVal}`);
  const patterns = Array.from({ length: full.classes }, (_, k) => classPattern(full.inputShape, k, full.seed));
  const pad = Math.max(1, Math.round(Math.min(h, w) / 14));
  return new InMemoryDataset({
    name: config.name ?? `synthetic:${h}x${w}x${c}:${full.classes}:${full.numTrain}:${full.numVal}`,
    inputShape: full.inputShape,
    classNames: Array.from({ length: full.classes }, (_, k) => `class_${k}`),
    train: generateSplit(full, patterns, full.numTrain, 2),
    val: generateSplit(full, patterns, full.numVal, 3),
    normalization: { mean: new Array<number>(c).fill(0.5), std: new Array<number>(c).fill(0.25) },
    augmentation: config.augment ? { pad, flip: false } : null,
  });
}
