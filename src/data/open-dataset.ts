/**
 * Opening any dataset from its `--data` spec (fashion-mnist, synthetic, imagenet:, folder:): what the experiment
 * runner, `npm run data` and the benchmarks call. The trainer never opens one; it is handed the opened Dataset.
 */
import { fileURLToPath } from 'node:url';
import type { Dataset } from './dataset.ts';
import { parseDataSpec } from './data-spec.ts';
import { loadFashionMnist } from './fashion-mnist.ts';
import type { RandomResizedCropConfig } from './image-folder/decode-image.ts';
import { openImageFolder } from './image-folder/image-folder-dataset.ts';
import type { Normalization } from './pixel-normalization.ts';
import { createSyntheticDataset } from './synthetic.ts';

export { parseDataSpec, ACCEPTED_DATA_SPECS, DataSpecError } from './data-spec.ts';
export type { DataSpec } from './data-spec.ts';

/** Default file-list cache folder: .cache/data-index in the repository (git-ignored). */
export const DEFAULT_CACHE_DIR = fileURLToPath(new URL('../../.cache/data-index/', import.meta.url));

export interface OpenDatasetOptions {
  /** Image side for image folders (default 224); other datasets have a fixed shape and reject a different one. */
  imageSize?: number;
  /** Class subset: the first N classes. */
  classes?: number;
  /** Class subset by name (its order gives the new class indices). */
  classList?: string[];
  /** At most this many training / validation images, balanced over classes. */
  limitTrain?: number;
  limitVal?: number;
  /** Training augmentation: image folders random-resized crop + flip (default on); in-memory sets pad-crop + flip (default off). */
  augment?: boolean;
  /** Image folders: files read and decoded at once (default 4). */
  concurrency?: number;
  /** Image folders: decode worker threads (default: the cores available); 0 decodes on the calling thread. */
  decodeThreads?: number;
  /** Image folders: batches decoded ahead of the trainer (default 3). */
  prefetchBatches?: number;
  /** Image folders: stop with an error when more than this fraction of files are bad (default 0.05). */
  maxBadFraction?: number;
  log?: (line: string) => void;
  /** Image folders: file-list cache folder (default .cache/data-index in the repo); null disables it. */
  cacheDir?: string | null;
  /** Image folders: random-resized-crop area and aspect ranges (default Inception: [0.08, 1], [3/4, 4/3]). */
  crop?: RandomResizedCropConfig;
  /** Image folders: validation centre crop as a fraction of the shorter side (default 0.875 = 224/256). */
  valCropFraction?: number;
  /** Image folders: per-channel mean/std in [0, 1] units (default ImageNet's). */
  normalization?: Normalization;
  /** Image folders: labels file of a flat val/ (default: searched for). */
  valLabels?: string;
  /** Synthetic: seed of the generated images (default 0). */
  dataSeed?: number;
}

export async function openDataset(spec: string, options: OpenDatasetOptions = {}): Promise<Dataset> {
  const parsed = parseDataSpec(spec);
  const log = options.log ?? (() => {});
  switch (parsed.kind) {
    case 'fashion-mnist': {
      checkFixedSize(spec, options.imageSize, 28);
      const dataset = await loadFashionMnist(parsed.dir, { ...options, name: spec });
      log(`data: ${spec}: ${dataset.numTrain} train and ${dataset.numVal} val images, ${dataset.classNames.length} classes, from ${parsed.dir}`);
      return dataset;
    }
    case 'synthetic': {
      checkFixedSize(spec, options.imageSize, parsed.inputShape[0], parsed.inputShape[1]);
      if (options.classList) throw new Error(`${spec}: synthetic classes are class_0..class_${parsed.classes - 1}; use the classes option, not classList`);
      const classes = options.classes ?? parsed.classes;
      if (classes > parsed.classes) throw new Error(`${spec}: classes ${classes} is more than the ${parsed.classes} of the spec`);
      const dataset = createSyntheticDataset({
        inputShape: parsed.inputShape,
        classes,
        numTrain: Math.min(parsed.numTrain, options.limitTrain ?? Infinity),
        numVal: Math.min(parsed.numVal, options.limitVal ?? Infinity),
        seed: options.dataSeed ?? 0,
        augment: options.augment ?? false,
        name: spec,
      });
      log(`data: ${spec}: ${dataset.numTrain} train and ${dataset.numVal} val images, ${classes} classes, generated`);
      return dataset;
    }
    case 'imagenet':
    case 'folder':
      return openImageFolder(parsed.dir, spec, {
        ...options,
        kind: parsed.kind,
        cacheDir: options.cacheDir === undefined ? DEFAULT_CACHE_DIR : options.cacheDir,
      });
  }
}

function checkFixedSize(spec: string, imageSize: number | undefined, height: number, width = height): void {
  if (imageSize !== undefined && (imageSize !== height || imageSize !== width)) {
    throw new Error(`${spec}: images are ${height}x${width}; imageSize ${imageSize} is not supported (leave it unset)`);
  }
}
