/**
 * `imagenet:<dir>` / `folder:<dir>`: images decoded from files with sharp, read and decoded concurrently through one
 * p-queue, `prefetchBatches` batches ahead of the trainer (memory: that many batches of decoded bytes, plus the files
 * being decoded).
 *
 * Training: Inception-style random-resized crop + horizontal flip, both drawn from (seed, position), so the images
 * of a position do not depend on concurrency or on resuming. A file that cannot be decoded is recorded (once) and its
 * slot takes the next example of the same epoch's permutation instead, so batches stay full and deterministic.
 * Validation: shorter side to size / valCropFraction, centre crop; bad files are left out (a batch is then filled
 * from the following files, so only the last batch is short).
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import PQueue from 'p-queue';
import type { Batch, Dataset, InputShape, TrainBatchOptions } from '../dataset.ts';
import { BadFileLog } from '../bad-files.ts';
import type { ClassSelectionOptions } from '../class-selection.ts';
import { selectClasses, selectExamples } from '../class-selection.ts';
import { orderedPrefetch } from '../ordered-prefetch.ts';
import type { Normalization } from '../pixel-normalization.ts';
import { IMAGENET_NORMALIZATION, PixelNormalizer, backendCopiesOnCreate, makeBatch } from '../pixel-normalization.ts';
import { hashSeed } from '../../random/seeded-random.ts';
import { TrainOrder, checkTrainBatchOptions } from '../train-order.ts';
import type { RandomResizedCropConfig } from './decode-image.ts';
import { DEFAULT_VAL_CROP_FRACTION, INCEPTION_CROP, configureSharpForDatasets, describeDecodeError } from './decode-image.ts';
import { DecodePool } from './decode-pool.ts';
import type { DecodeResult, DecodeSettings } from './example-decoder.ts';
import { ExampleDecoder } from './example-decoder.ts';
import { DirectoryLister } from './directory-listing.ts';
import type { FileList, FolderIndex } from './folder-index.ts';
import { indexImageFolder } from './folder-index.ts';

export interface ImageFolderOptions extends ClassSelectionOptions {
  kind: 'imagenet' | 'folder';
  /** Output side (default 224). */
  imageSize?: number;
  limitTrain?: number;
  limitVal?: number;
  /** Random-resized crop + flip for training (default true); false: the validation transform. */
  augment?: boolean;
  crop?: RandomResizedCropConfig;
  flip?: boolean;
  valCropFraction?: number;
  normalization?: Normalization;
  /** Files read and decoded at once (default 4). */
  concurrency?: number;
  /** Worker threads that read, decode and resample (default: the cores available); 0 decodes on the calling thread. */
  decodeThreads?: number;
  /** Batches decoded ahead of the consumer (default 3). */
  prefetchBatches?: number;
  /** Stop with an error when more than this fraction of the files are bad (default 0.05). */
  maxBadFraction?: number;
  log?: (line: string) => void;
  /** Where the file-list cache goes; null disables it. */
  cacheDir?: string | null;
  /** Labels file for a flat val/ (default: searched, see folder-index.ts). */
  valLabels?: string;
}

/**
 * Default decode threads: the cores available to this process. A GPU trainer leaves them idle, and the loader has to
 * keep up with it; on a CPU trainer the threads only run while prefetched batches are missing.
 */
export function defaultDecodeThreads(): number {
  return Math.max(1, availableParallelism());
}

interface DecodedExample {
  /** size x size x 3 normalized values */
  values: Float32Array;
  label: number;
}

export class ImageFolderDataset implements Dataset {
  readonly name: string;
  readonly inputShape: InputShape;
  readonly classNames: readonly string[];
  readonly numTrain: number;
  readonly numVal: number;
  readonly normalization: Normalization;
  readonly index: FolderIndex;
  private readonly train: FileList;
  private readonly val: FileList;
  private readonly size: number;
  private readonly bad: BadFileLog;
  private readonly queue: PQueue;
  private readonly decoder: DecodePool | ExampleDecoder;
  private readonly prefetchBatches: number;
  private readonly augment: boolean;
  private readonly crop: RandomResizedCropConfig;
  private readonly flip: boolean;
  private readonly valCropFraction: number;
  private readonly openStreams = new Set<AsyncGenerator<unknown>>();

  constructor(name: string, index: FolderIndex, options: ImageFolderOptions) {
    const log = options.log ?? (() => {});
    this.name = name;
    this.index = index;
    this.size = options.imageSize ?? 224;
    if (!Number.isInteger(this.size) || this.size < 8) throw new Error(`${name}: imageSize must be an integer >= 8, got ${this.size}`);
    this.inputShape = [this.size, this.size, 3];
    const { names, remap } = selectClasses(index.classNames, options, name);
    this.classNames = names;
    this.train = pick(index.train, remap, options.limitTrain, `${name} train`);
    this.val = pick(index.val, remap, options.limitVal, `${name} val`);
    this.numTrain = this.train.paths.length;
    this.numVal = this.val.paths.length;
    if (this.numTrain === 0) throw new Error(`${name}: no training images in the selected classes`);
    this.normalization = options.normalization ?? IMAGENET_NORMALIZATION;
    this.bad = new BadFileLog(name, this.numTrain + this.numVal, options.maxBadFraction ?? 0.05, log);
    for (const p of index.problems) this.bad.addProblem(p.path, p.reason);
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`${name}: concurrency must be a positive integer, got ${concurrency}`);
    const threads = options.decodeThreads ?? defaultDecodeThreads();
    if (!Number.isInteger(threads) || threads < 0) throw new Error(`${name}: decodeThreads must be an integer >= 0, got ${threads}`);
    // with decode threads the workers queue the requests themselves (see decode-pool.ts): the whole prefetch window
    // is handed over at once and `concurrency` is split among the threads
    this.queue = new PQueue({ concurrency: threads === 0 ? concurrency : Infinity });
    this.prefetchBatches = options.prefetchBatches ?? 3;
    if (!Number.isInteger(this.prefetchBatches) || this.prefetchBatches < 1) {
      throw new Error(`${name}: prefetchBatches must be a positive integer, got ${this.prefetchBatches}`);
    }
    this.augment = options.augment ?? true;
    this.crop = options.crop ?? INCEPTION_CROP;
    checkCropConfig(this.crop, name);
    this.flip = options.flip ?? true;
    this.valCropFraction = options.valCropFraction ?? DEFAULT_VAL_CROP_FRACTION;
    if (!(this.valCropFraction > 0 && this.valCropFraction <= 1)) {
      throw new Error(`${name}: valCropFraction must be in (0, 1], got ${this.valCropFraction}`);
    }
    const settings: DecodeSettings = {
      size: this.size,
      crop: this.crop,
      flip: this.flip,
      centreFraction: this.valCropFraction,
      affine: new PixelNormalizer(this.normalization, 3).affine3(),
    };
    this.decoder =
      threads === 0 ? new ExampleDecoder(settings) : new DecodePool(threads, settings, name, Math.ceil(concurrency / threads));
  }

  get skipped(): readonly { path: string; reason: string }[] {
    return this.bad.skipped;
  }

  /** Bad image files met so far (index problems such as empty folders not included). */
  get badFileCount(): number {
    return this.bad.badFileCount;
  }

  trainBatches(options: TrainBatchOptions): AsyncIterableIterator<Batch> {
    const { batchSize, seed } = options;
    const start = options.start ?? 0;
    checkTrainBatchOptions(batchSize, seed, start);
    const order = new TrainOrder(this.numTrain, seed);
    function* positions(): Iterator<number> {
      for (let p = start; ; p++) yield p;
    }
    const examples = orderedPrefetch(positions(), (p) => this.trainExample(order, seed, p), this.queue, this.prefetchBatches * batchSize);
    return this.track((onEnd) => this.assemble(examples, batchSize, false, onEnd));
  }

  valBatches(batchSize: number): AsyncIterableIterator<Batch> {
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`valBatches: batchSize must be a positive integer, got ${batchSize}`);
    function* indices(n: number): Iterator<number> {
      for (let i = 0; i < n; i++) yield i;
    }
    const examples = orderedPrefetch(indices(this.numVal), (i) => this.valExample(i), this.queue, this.prefetchBatches * batchSize);
    return this.track((onEnd) => this.assemble(examples, batchSize, true, onEnd));
  }

  async close(): Promise<void> {
    const streams = [...this.openStreams];
    this.openStreams.clear();
    for (const stream of streams) await stream.return(undefined);
    this.queue.clear();
    await this.queue.onIdle();
    if (this.decoder instanceof DecodePool) await this.decoder.close();
  }

  private track(make: (onEnd: () => void) => AsyncGenerator<Batch, void, undefined>): AsyncGenerator<Batch, void, undefined> {
    const stream = make(() => this.openStreams.delete(stream));
    this.openStreams.add(stream);
    return stream;
  }

  /** Groups decoded examples (null: a bad validation file) into normalized batches of `batchSize`. */
  private async *assemble(
    examples: AsyncGenerator<DecodedExample | null, void, undefined>,
    batchSize: number,
    allowShortLast: boolean,
    onEnd: () => void,
  ): AsyncGenerator<Batch, void, undefined> {
    const valuesPerImage = this.size * this.size * 3;
    let x = uninitializedFloat32(batchSize * valuesPerImage);
    let y = new Int32Array(batchSize);
    let n = 0;
    try {
      for await (const example of examples) {
        if (example === null) continue;
        x.set(example.values, n * valuesPerImage);
        this.decoder.recycle(example.values);
        y[n++] = example.label;
        if (n === batchSize) {
          const copied = backendCopiesOnCreate(); // the backend that makes this batch's tensors
          yield makeBatch(x, y, this.inputShape);
          if (!copied) x = uninitializedFloat32(batchSize * valuesPerImage);
          y = new Int32Array(batchSize);
          n = 0;
        }
      }
      if (allowShortLast && n > 0) yield makeBatch(x.slice(0, n * valuesPerImage), y.slice(0, n), this.inputShape);
    } finally {
      onEnd();
      await examples.return(undefined);
    }
  }

  /** Decodes training position p; a bad file is replaced by the next good example of the same epoch. */
  private async trainExample(order: TrainOrder, seed: number, position: number): Promise<DecodedExample> {
    const epoch = order.epochOf(position);
    const offset = position % this.numTrain;
    const cropSeed = this.augment ? hashSeed(seed, position) : null;
    for (let step = 0; step < this.numTrain; step++) {
      const example = order.exampleIn(epoch, offset + step);
      const path = join(this.index.dataRoot, this.train.paths[example]!);
      if (this.bad.isBad(path)) continue;
      const values = await this.decodeFile(path, cropSeed);
      if (values) return { values, label: this.train.labels[example]! };
    }
    throw new Error(`${this.name}: no decodable training image among its ${this.numTrain} files`);
  }

  private async valExample(index: number): Promise<DecodedExample | null> {
    const path = join(this.index.dataRoot, this.val.paths[index]!);
    if (this.bad.isBad(path)) return null;
    const values = await this.decodeFile(path, null);
    return values ? { values, label: this.val.labels[index]! } : null;
  }

  /** The example's normalized values, or null after recording why the file is bad. */
  private async decodeFile(path: string, cropSeed: number | null): Promise<Float32Array | null> {
    let result: DecodeResult;
    try {
      result = await this.decoder.decode({ path, seed: cropSeed });
    } catch (err) {
      // the decode worker itself died: the file is not known to be bad, so the run stops with the reason
      throw new Error(describeDecodeError(err));
    }
    if ('bad' in result) {
      this.bad.recordBad(path, result.bad);
      return null;
    }
    this.bad.recordGood();
    return result.values;
  }
}

/** A batch buffer that every example overwrites: skipping the zero fill of ~19 MB per batch saves a pass over it. */
function uninitializedFloat32(length: number): Float32Array {
  const bytes = Buffer.allocUnsafeSlow(length * 4);
  return new Float32Array(bytes.buffer, bytes.byteOffset, length);
}

function pick(files: FileList, remap: Int32Array, limit: number | undefined, what: string): FileList {
  const everything = remap.every((to, from) => to === from) && (limit === undefined || limit >= files.paths.length);
  if (everything) return files;
  const keep = selectExamples(files.labels, remap, limit, what);
  return {
    paths: Array.from(keep, (i) => files.paths[i]!),
    labels: Int32Array.from(keep, (i) => remap[files.labels[i]!]!),
  };
}

function checkCropConfig(crop: RandomResizedCropConfig, name: string): void {
  const [a0, a1] = crop.area;
  const [r0, r1] = crop.aspect;
  if (!(a0 > 0 && a0 <= a1 && a1 <= 1)) throw new Error(`${name}: crop area range must satisfy 0 < min <= max <= 1, got [${a0}, ${a1}]`);
  if (!(r0 > 0 && r0 <= r1)) throw new Error(`${name}: crop aspect range must satisfy 0 < min <= max, got [${r0}, ${r1}]`);
}

/** Scans (or reads from the cache) the folder, logs what was found, and opens the dataset. */
export async function openImageFolder(dir: string, name: string, options: ImageFolderOptions): Promise<ImageFolderDataset> {
  const log = options.log ?? (() => {});
  configureSharpForDatasets();
  let lister: DirectoryLister;
  try {
    lister = await DirectoryLister.open(dir, options.cacheDir ?? null);
  } catch (err) {
    throw new Error(`${name}: folder ${dir} cannot be read: ${describeDecodeError(err)}`);
  }
  const index = await indexImageFolder(lister, { kind: options.kind, valLabels: options.valLabels });
  lister.save();
  log(
    `data: ${name}: ${index.classNames.length} classes, ${index.train.paths.length} train and ${index.val.paths.length} val images ` +
      `(val: ${index.valLayout}${index.labelsFile ? ` from ${index.labelsFile}` : ''}); directories ${lister.counts.read} read, ` +
      `${lister.counts.cached} from the cache${lister.cachePath ? ` ${lister.cachePath}` : ''}`,
  );
  for (const note of index.notes) log(`data: ${name}: ${note}`);
  return new ImageFolderDataset(name, index, options);
}
