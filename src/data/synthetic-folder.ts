/**
 * Writing a synthetic image folder in the ILSVRC-2012 layout (`train/<wnid>/*.JPEG`, `val/`) for tests and
 * benchmarks: JPEGs of varied sizes whose class is visible (a class colour and stripe direction, plus noise), and
 * optionally the odd and bad files a real crawl contains.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { SeededRandom, hashSeed } from '../random/seeded-random.ts';

export type MakeFolderValLayout = 'class-folders' | 'flat-txt' | 'flat-csv';

export interface MakeFolderOptions {
  classes: number;
  perClass: number;
  /** Validation images per class (default max(1, perClass / 5)). */
  valPerClass?: number;
  /** Nominal width and height; each image is 70..100% of it per side, and one in four is portrait. */
  width: number;
  height: number;
  valLayout?: MakeFolderValLayout;
  /** Add grey, CMYK, PNG-named-.JPEG and EXIF-rotated images (good), zero-byte, truncated and text files (bad), an empty class folder, a non-image file, and in a flat val an unknown label. */
  oddFiles?: boolean;
  seed?: number;
  quality?: number;
}

export interface OddFile {
  /** Relative to the folder. */
  path: string;
  kind: 'grey' | 'cmyk' | 'png-named-jpeg' | 'exif-orientation-6' | 'zero-byte' | 'truncated' | 'text' | 'unknown-label';
  /** Whether the pipeline must decode it (true) or skip it (false). */
  decodable: boolean;
}

export interface MadeFolder {
  dir: string;
  classNames: string[];
  /** Decodable images with a usable label, per split. */
  goodTrain: number;
  goodVal: number;
  /** All image-named files written, per split. */
  trainFiles: number;
  valFiles: number;
  oddFiles: OddFile[];
  emptyClassFolder: string | null;
  labelsFile: string | null;
}

/** n01440764-style names. */
export function syntheticWnid(k: number): string {
  return `n${String(1440764 + 1000 * k).padStart(8, '0')}`;
}

/** RGB bytes of one image of class k: class colour, stripes at a class angle, Gaussian-ish noise. */
function classImage(k: number, classes: number, width: number, height: number, rng: SeededRandom): Buffer {
  const hue = (k / classes) * 2 * Math.PI;
  const base = [128 + 90 * Math.cos(hue), 128 + 90 * Math.cos(hue + 2.094), 128 + 90 * Math.cos(hue + 4.189)];
  const angle = (k * Math.PI) / classes;
  const fx = (Math.cos(angle) * 2 * Math.PI) / rng.uniform(12, 24);
  const fy = (Math.sin(angle) * 2 * Math.PI) / rng.uniform(12, 24);
  const phase = rng.uniform(0, 2 * Math.PI);
  const out = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const stripe = 50 * Math.sin(fx * x + fy * y + phase);
      const noise = (rng.next() + rng.next() + rng.next() - 1.5) * 30;
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = Math.max(0, Math.min(255, Math.round(base[c]! + stripe + noise)));
    }
  }
  return out;
}

function jpegOf(raw: Buffer, width: number, height: number, quality: number): Promise<Buffer> {
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality }).toBuffer();
}

/** Stored 2:3 landscape, left half red and right half blue, tagged orientation 6: upright it is portrait, red on top. */
export async function exifRotatedJpeg(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw[(y * width + x) * 3 + (x < width / 2 ? 0 : 2)] = 255;
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
}

/** The options with their defaults, checked. */
function resolvedOptions(options: MakeFolderOptions) {
  const { classes, perClass, width, height } = options;
  for (const [what, v] of Object.entries({ classes, perClass, width, height })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`make-folder: ${what} must be a positive integer, got ${v}`);
  }
  if (width < 16 || height < 16) throw new Error(`make-folder: size ${width}x${height} is below 16x16`);
  return {
    classes,
    perClass,
    width,
    height,
    valPerClass: options.valPerClass ?? Math.max(1, Math.round(perClass / 5)),
    valLayout: options.valLayout ?? 'class-folders',
    quality: options.quality ?? 90,
    seed: options.seed ?? 0,
  };
}

export async function makeImageFolder(dir: string, options: MakeFolderOptions): Promise<MadeFolder> {
  const { classes, perClass, width, height, valPerClass, valLayout, quality, seed } = resolvedOptions(options);
  const classNames = Array.from({ length: classes }, (_, k) => syntheticWnid(k));
  const oddFiles: OddFile[] = [];
  const labelLines: string[] = [];
  let trainFiles = 0;
  let valFiles = 0;

  const write = (rel: string, bytes: Uint8Array | string): void => {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), bytes);
  };
  const image = async (k: number, split: number, i: number): Promise<Buffer> => {
    const rng = new SeededRandom(hashSeed(seed, split, k, i));
    let w = Math.round(width * rng.uniform(0.7, 1));
    let h = Math.round(height * rng.uniform(0.7, 1));
    if (rng.next() < 0.25) [w, h] = [h, w];
    return jpegOf(classImage(k, classes, w, h, rng), w, h, quality);
  };

  for (let k = 0; k < classes; k++) {
    const wnid = classNames[k]!;
    for (let i = 0; i < perClass; i++) {
      write(join('train', wnid, `${wnid}_${i + 1}.JPEG`), await image(k, 0, i));
      trainFiles++;
    }
    for (let i = 0; i < valPerClass; i++) {
      const bytes = await image(k, 1, i);
      const name = `ILSVRC2012_val_${String(k * valPerClass + i + 1).padStart(8, '0')}.JPEG`;
      if (valLayout === 'class-folders') write(join('val', wnid, name), bytes);
      else {
        write(join('val', name), bytes);
        // the text format gets a mix of wnids and 0-based indices, as both occur in the wild
        const label = valLayout === 'flat-txt' && i % 2 === 1 ? String(k) : wnid;
        labelLines.push(valLayout === 'flat-csv' ? `${name.replace('.JPEG', '')},${wnid} 1 1 20 20` : `${name} ${label}`);
      }
      valFiles++;
    }
  }

  let emptyClassFolder: string | null = null;
  if (options.oddFiles) {
    const [w0, w1, w2] = [classNames[0]!, classNames[Math.min(1, classes - 1)]!, classNames[Math.min(2, classes - 1)]!];
    const sample = await image(0, 2, 0);
    const add = (rel: string, kind: OddFile['kind'], decodable: boolean, bytes: Uint8Array | string): void => {
      write(rel, bytes);
      oddFiles.push({ path: rel, kind, decodable });
      trainFiles++;
    };
    add(join('train', w0, `${w0}_grey.JPEG`), 'grey', true, await sharp(sample).toColourspace('b-w').jpeg().toBuffer());
    add(join('train', w0, `${w0}_cmyk.JPEG`), 'cmyk', true, await sharp(sample).toColourspace('cmyk').jpeg().toBuffer());
    add(join('train', w0, `${w0}_png.JPEG`), 'png-named-jpeg', true, await sharp(sample).png().toBuffer());
    add(join('train', w0, `${w0}_exif6.JPEG`), 'exif-orientation-6', true, await exifRotatedJpeg(60, 40));
    add(join('train', w1, `${w1}_empty.JPEG`), 'zero-byte', false, new Uint8Array(0));
    add(join('train', w1, `${w1}_truncated.JPEG`), 'truncated', false, sample.subarray(0, Math.floor(sample.length / 2)));
    add(join('train', w2, `${w2}_text.JPEG`), 'text', false, 'this is not an image\n');
    write(join('train', w0, 'README.txt'), 'a non-image file among the images: ignored by its extension\n');
    emptyClassFolder = join('train', 'n09999999');
    mkdirSync(join(dir, emptyClassFolder), { recursive: true });
    const truncatedVal = `ILSVRC2012_val_${String(classes * valPerClass + 1).padStart(8, '0')}.JPEG`;
    const truncatedValPath = valLayout === 'class-folders' ? join('val', w0, truncatedVal) : join('val', truncatedVal);
    write(truncatedValPath, sample.subarray(0, Math.floor(sample.length / 3)));
    oddFiles.push({ path: truncatedValPath, kind: 'truncated', decodable: false });
    valFiles++;
    if (valLayout !== 'class-folders') {
      labelLines.push(valLayout === 'flat-csv' ? `${truncatedVal.replace('.JPEG', '')},${w0} 1 1 9 9` : `${truncatedVal} ${w0}`);
      const unknown = `ILSVRC2012_val_${String(classes * valPerClass + 2).padStart(8, '0')}.JPEG`;
      write(join('val', unknown), sample);
      labelLines.push(valLayout === 'flat-csv' ? `${unknown.replace('.JPEG', '')},n00000001 1 1 9 9` : `${unknown} n00000001`);
      oddFiles.push({ path: join('val', unknown), kind: 'unknown-label', decodable: false });
      valFiles++;
    }
  }

  const labelsFile = valLayout === 'flat-txt' ? 'val_labels.txt' : valLayout === 'flat-csv' ? 'LOC_val_solution.csv' : null;
  const header = valLayout === 'flat-csv' ? ['ImageId,PredictionString'] : [];
  if (labelsFile) write(labelsFile, [...header, ...labelLines].join('\n') + '\n');
  const badTrain = oddFiles.filter((f) => !f.decodable && f.path.startsWith('train')).length;
  const badVal = oddFiles.filter((f) => !f.decodable && f.path.startsWith('val')).length;
  return {
    dir,
    classNames,
    goodTrain: trainFiles - badTrain,
    goodVal: valFiles - badVal,
    trainFiles,
    valFiles,
    oddFiles,
    emptyClassFolder,
    labelsFile,
  };
}
