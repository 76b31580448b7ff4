/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, Zalando Research, MIT license) from its four IDX files, gzip or not.
 * The default is the subset committed in data/fashion-mnist/ (first 10,000 training and 2,000 test images); the full
 * 60k/10k comes from any folder holding the files, e.g. the Debian package dataset-fashion-mnist.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClassSelectionOptions } from './class-selection.ts';
import { selectClasses, selectExamples } from './class-selection.ts';
import type { ImageArray } from './in-memory-dataset.ts';
import { InMemoryDataset } from './in-memory-dataset.ts';
import { readIdx } from './idx-file.ts';
import type { Normalization } from './pixel-normalization.ts';

/** The committed subset, resolved from this file's location (not the working directory). */
export const FASHION_MNIST_SUBSET_DIR = fileURLToPath(new URL('../../data/fashion-mnist/', import.meta.url));
/** Where the Debian package dataset-fashion-mnist installs the full dataset. */
export const FASHION_MNIST_DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** Pixel mean and standard deviation of the full 60,000-image training set (used for subsets too). */
export const FASHION_MNIST_NORMALIZATION: Normalization = { mean: [0.28604], std: [0.35302] };

export const FASHION_MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export interface FashionMnistOptions extends ClassSelectionOptions {
  limitTrain?: number;
  limitVal?: number;
  /** Random 2-pixel shift (zero padding) and horizontal flip for training batches. */
  augment?: boolean;
  /** Name reported by the dataset. */
  name?: string;
}

/** Path of one of the four files in `dir`, with or without .gz. */
export function fashionMnistFile(dir: string, base: string): string {
  for (const candidate of [`${base}.gz`, base]) {
    const path = join(dir, candidate);
    if (existsSync(path)) return path;
  }
  throw new Error(
    `fashion-mnist: ${join(dir, base)}(.gz) not found; the folder must hold ${Object.values(FASHION_MNIST_FILES).join(', ')} ` +
      `(gz or not). The full dataset: apt-get install -y dataset-fashion-mnist (${FASHION_MNIST_DEBIAN_DIR})`,
  );
}

async function readSplit(dir: string, imagesBase: string, labelsBase: string): Promise<ImageArray> {
  const imagesPath = fashionMnistFile(dir, imagesBase);
  const labelsPath = fashionMnistFile(dir, labelsBase);
  const [images, labels] = await Promise.all([readIdx(imagesPath), readIdx(labelsPath)]);
  if (images.dims.length !== 3 || images.dims[1] !== 28 || images.dims[2] !== 28) {
    throw new Error(`${imagesPath}: expected [n, 28, 28] images, got [${images.dims.join(', ')}]`);
  }
  if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
    throw new Error(`${labelsPath}: ${labels.dims[0]} labels for ${images.dims[0]} images in ${imagesPath}`);
  }
  const bad = labels.data.findIndex((l) => l > 9);
  if (bad >= 0) throw new Error(`${labelsPath}: label ${labels.data[bad]} at index ${bad} is outside 0..9`);
  return { pixels: images.data, labels: Int32Array.from(labels.data) };
}

function subset(data: ImageArray, remap: Int32Array, limit: number | undefined, what: string): ImageArray {
  const keep = selectExamples(data.labels, remap, limit, what);
  const size = 28 * 28;
  const pixels = new Uint8Array(keep.length * size);
  const labels = new Int32Array(keep.length);
  keep.forEach((index, i) => {
    pixels.set(data.pixels.subarray(index * size, (index + 1) * size), i * size);
    labels[i] = remap[data.labels[index]!]!;
  });
  return { pixels, labels };
}

export async function loadFashionMnist(dir: string, options: FashionMnistOptions = {}): Promise<InMemoryDataset> {
  if (!existsSync(dir)) {
    throw new Error(`fashion-mnist: folder ${dir} does not exist (the full dataset: apt-get install -y dataset-fashion-mnist)`);
  }
  const [train, test] = await Promise.all([
    readSplit(dir, FASHION_MNIST_FILES.trainImages, FASHION_MNIST_FILES.trainLabels),
    readSplit(dir, FASHION_MNIST_FILES.testImages, FASHION_MNIST_FILES.testLabels),
  ]);
  const name = options.name ?? `fashion-mnist:${dir}`;
  const { names, remap } = selectClasses(FASHION_MNIST_CLASSES, options, name);
  return new InMemoryDataset({
    name,
    inputShape: [28, 28, 1],
    classNames: names,
    train: subset(train, remap, options.limitTrain, `${name} train`),
    val: subset(test, remap, options.limitVal, `${name} val`),
    normalization: FASHION_MNIST_NORMALIZATION,
    augmentation: options.augment ? { pad: 2, flip: true } : null,
  });
}
