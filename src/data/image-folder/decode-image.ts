/**
 * Decoding one image file with sharp into `size` x `size` RGB bytes (HWC): the crop box is chosen on the upright
 * image (EXIF orientation applied), cut out before resizing (so libvips decodes and resamples only what is needed),
 * resized, optionally mirrored, converted to sRGB (grey and CMYK inputs too) with any alpha flattened onto grey.
 */
import sharp from 'sharp';
import type { SeededRandom } from '../seeded-random.ts';
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

/** Crops `box` of the upright image, resizes it to size x size, mirrors when `flip`: RGB bytes, HWC. */
export async function decodeCrop(bytes: Uint8Array, box: CropBox, size: number, flip: boolean): Promise<Uint8Array> {
  let pipeline = sharp(bytes, { failOn: 'truncated' })
    .autoOrient()
    .extract(box)
    .resize(size, size, { fit: 'fill', kernel: 'linear' });
  if (flip) pipeline = pipeline.flop();
  const { data, info } = await pipeline
    .flatten({ background: { r: 124, g: 116, b: 104 } })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.width !== size || info.height !== size || info.channels !== 3 || data.length !== size * size * 3) {
    throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`);
  }
  return data;
}

/** Reason text for a decode error. */
export function describeDecodeError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]!.trim() || 'decode failed';
}
