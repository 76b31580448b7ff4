/**
 * One example from one file: read, check, choose the crop on the upright image, decode the region with sharp, and
 * resample it (flip and normalization included) to size x size float32 values. Runs in a decode worker
 * (decode-pool.ts) or, with `decodeThreads: 0`, on the calling thread; a request carries everything random as a
 * seed, so the values never depend on where or when they were decoded.
 */
import { readFile as readFileCallback, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { CropBox, RandomResizedCropConfig } from './decode-image.ts';
import { centreCrop, checkImageBytes, decodeRegion, describeDecodeError, randomResizedCrop, uprightSize } from './decode-image.ts';
import type { ChannelAffine } from './resample-crop.ts';
import { CropResampler } from './resample-crop.ts';
import { SeededRandom } from '../../random/seeded-random.ts';

/** The callback readFile: about half the main-thread cost of fs/promises' readFile per file (Node 20). */
const readFile = promisify(readFileCallback);

/** What every example of one dataset shares; sent to a decode worker once. */
export interface DecodeSettings {
  /** Output side. */
  size: number;
  /** Training crops: Inception's random-resized crop with these ranges. */
  crop: RandomResizedCropConfig;
  /** Training crops: mirror half of them. */
  flip: boolean;
  /** Validation (and unaugmented training): the centred square of this fraction of the shorter side. */
  centreFraction: number;
  /** Normalization of the resampled 0..255 values. */
  affine: ChannelAffine;
}

export interface DecodeRequest {
  path: string;
  /** Seed of the training crop (mirror drawn first, then the crop, from SeededRandom(seed)); null: the centre crop. */
  seed: number | null;
}

/** size x size x 3 normalized values, or why the file is bad. */
export type DecodeResult = { values: Float32Array } | { bad: string };

/** Output buffers kept for reuse (at most as many as were ever in flight: the prefetch window plus the decodes). */
const MAX_SPARE_BUFFERS = 128;

export class ExampleDecoder {
  private readonly resampler = new CropResampler();
  private readonly spare: Float32Array[] = [];

  /**
   * `readSynchronously`: for a decode worker, whose thread has nothing else to do. An asynchronous readFile is four
   * libuv thread-pool round trips (open, fstat, read, close), each waking a pool thread that sharp keeps busy: a
   * noticeable share of the whole decode's CPU in a profile.
   */
  constructor(
    readonly settings: DecodeSettings,
    private readonly readSynchronously = false,
  ) {}

  /**
   * Hands a result's buffer back once its values are copied: reusing the buffers saves the allocation and, more,
   * the garbage collections that ~600 KB of fresh external memory per image triggers (measured: GC was the largest
   * main-thread cost of the pipeline).
   */
  recycle(values: Float32Array): void {
    const { size } = this.settings;
    if (values.length === size * size * 3 && this.spare.length < MAX_SPARE_BUFFERS) this.spare.push(values);
  }

  async decode(request: DecodeRequest): Promise<DecodeResult> {
    try {
      const bytes = this.readSynchronously ? readFileSync(request.path) : await readFile(request.path);
      const problem = checkImageBytes(bytes);
      if (problem !== null) return { bad: problem };
      try {
        return { values: await this.decodeBytes(bytes, request.seed, false) };
      } catch {
        // the size read from the header disagreed with libvips' view of the file: ask libvips itself
        return { values: await this.decodeBytes(bytes, request.seed, true) };
      }
    } catch (err) {
      return { bad: describeDecodeError(err) };
    }
  }

  private async decodeBytes(bytes: Uint8Array, seed: number | null, sizeFromSharp: boolean): Promise<Float32Array> {
    const { width, height } = await uprightSize(bytes, sizeFromSharp);
    const { box, flip } = this.chooseCrop(seed, width, height);
    const region = await decodeRegion(bytes, box);
    const { size, affine } = this.settings;
    const values = this.spare.pop() ?? new Float32Array(size * size * 3);
    this.resampler.resample(region.data, region.width, region.height, size, flip, affine, values, 0);
    return values;
  }

  private chooseCrop(seed: number | null, width: number, height: number): { box: CropBox; flip: boolean } {
    if (seed === null) return { box: centreCrop(width, height, this.settings.centreFraction), flip: false };
    const rng = new SeededRandom(seed);
    const flip = this.settings.flip ? rng.next() < 0.5 : false;
    return { box: randomResizedCrop(width, height, rng, this.settings.crop), flip };
  }
}
