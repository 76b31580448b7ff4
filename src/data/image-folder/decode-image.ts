/**
 * Decoding one image file with sharp: the crop box is chosen on the upright image (EXIF orientation applied) and cut
 * out while decoding (libvips decodes only the rows it needs), converted to sRGB (grey and CMYK inputs too) with any
 * alpha flattened onto grey. Crop choice: Inception's random-resized crop, or the validation centre crop.
 */
import sharp from 'sharp';
import type { SeededRandom } from '../../random/seeded-random.ts';
import { readImageHeader } from './image-header.ts';

export interface CropBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface RandomResizedCropConfig {
  /** Range of the crop's area as a fraction of the image's (Inception: [0.08, 1]). */
  area: readonly [number, number];
  /** Range of the crop's width / height (Inception: [3/4, 4/3]); sampled log-uniformly. */
  aspect: readonly [number, number];
}

export const INCEPTION_CROP: RandomResizedCropConfig = { area: [0.08, 1], aspect: [3 / 4, 4 / 3] };

/** Resize shorter side to size / fraction, then centre crop size: fraction 224/256. */
export const DEFAULT_VAL_CROP_FRACTION = 0.875;

/**
 * Inception-style random crop: up to 10 tries of (area, aspect) that fit; otherwise the largest centred crop whose
 * aspect is within range (as torchvision's RandomResizedCrop).
 */
export function randomResizedCrop(width: number, height: number, rng: SeededRandom, config: RandomResizedCropConfig): CropBox {
  const total = width * height;
  const logLow = Math.log(config.aspect[0]);
  const logHigh = Math.log(config.aspect[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const area = total * rng.uniform(config.area[0], config.area[1]);
    const aspect = Math.exp(rng.uniform(logLow, logHigh));
    const w = Math.round(Math.sqrt(area * aspect));
    const h = Math.round(Math.sqrt(area / aspect));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      return { left: rng.int(width - w + 1), top: rng.int(height - h + 1), width: w, height: h };
    }
  }
  const ratio = width / height;
  let w = width;
  let h = height;
  if (ratio < config.aspect[0]) h = Math.max(1, Math.round(w / config.aspect[0]));
  else if (ratio > config.aspect[1]) w = Math.max(1, Math.round(h * config.aspect[1]));
  return { left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h };
}

/** The centred square whose side is `fraction` of the shorter side. */
export function centreCrop(width: number, height: number, fraction: number): CropBox {
  const side = Math.max(1, Math.min(width, height, Math.round(Math.min(width, height) * fraction)));
  return { left: Math.floor((width - side) / 2), top: Math.floor((height - side) / 2), width: side, height: side };
}

/**
 * Why the bytes cannot be a whole image, or null. libvips reads JPEG and PNG sequentially and stops once the
 * requested rows are decoded, so a file cut short can decode when the crop lies above the cut; checking for the end
 * markers rejects it every time.
 */
export function checkImageBytes(bytes: Uint8Array): string | null {
  if (bytes.length === 0) return 'zero-byte file';
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    const from = Math.max(2, bytes.length - 4096);
    for (let i = bytes.length - 2; i >= from; i--) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return null;
    return 'truncated JPEG (no end-of-image marker)';
  }
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    const tail = Buffer.from(bytes.subarray(Math.max(0, bytes.length - 64))).toString('latin1');
    return tail.includes('IEND') ? null : 'truncated PNG (no IEND chunk)';
  }
  return null;
}

/**
 * Upright size of an encoded image (width and height swapped for EXIF orientations 5 to 8): from the JPEG/PNG
 * header when it can be read here, else from sharp (`useSharp` forces sharp).
 */
export async function uprightSize(bytes: Uint8Array, useSharp = false): Promise<{ width: number; height: number }> {
  const header = useSharp ? null : readImageHeader(bytes);
  const meta = header ?? (await sharp(bytes, { failOn: 'truncated' }).metadata());
  if (!meta.width || !meta.height) throw new Error(`no image size in the ${'format' in meta ? meta.format : 'image'} header`);
  const swap = (meta.orientation ?? 1) >= 5;
  return swap ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
}

/**
 * libvips settings for decoding many files at once, in every thread that loads sharp (loading sharp in a worker
 * resets them): no operation cache (each file is decoded once per epoch, a cache only costs memory), and one libvips
 * thread per image (several files are in flight; threads within one image only add synchronisation).
 */
export function configureSharpForDatasets(): void {
  sharp.cache(false);
  sharp.concurrency(1);
}

/** RGB bytes (HWC) of a decoded region. */
export interface DecodedRegion {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Region `box` of the upright image as sRGB bytes at its own size (the resize is CropResampler's: libvips' resize
 * of a crop costs more than its decode). Grey and CMYK are converted, alpha is flattened onto grey.
 */
export async function decodeRegion(bytes: Uint8Array, box: CropBox): Promise<DecodedRegion> {
  const { data, info } = await sharp(bytes, { failOn: 'truncated' })
    .autoOrient()
    .extract(box)
    .flatten({ background: { r: 124, g: 116, b: 104 } })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.width !== box.width || info.height !== box.height || info.channels !== 3 || data.length !== box.width * box.height * 3) {
    throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${box.width}x${box.height}x3`);
  }
  return { data, width: info.width, height: info.height };
}

/** Reason text for a decode error. */
export function describeDecodeError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]!.trim() || 'decode failed';
}
