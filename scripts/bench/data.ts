/**
 * `npm run bench -- data [--data imagenet:<dir>] [--concurrency N] [--images N] [--batch-size N] [--size S]`
 *
 * Throughput of the image-folder training pipeline (read + sharp decode of a random-resized crop + resample to SxS
 * with flip and normalization in decode workers + batch tensors, prefetched through p-queue) against two baselines
 * on the same files, cores and concurrency:
 *   raw-sharp   readFile + full sharp decode to RGB bytes (no crop, resize, normalization, batching),
 *   pil         the Pillow peer /work/shared/peers/pil_decode.py (decode, resize, crop, flip, normalize; one thread).
 * Also: sharp-region (sharp decoding the same kind of crop regions to bytes: the floor of the pipeline's design),
 * sharp-crop-resize (libvips cutting and resizing the same kind of crops itself, bytes out: how the pipeline worked
 * before it resampled in wasm), CPU seconds per image (process user + system: libvips' threads and the decode
 * workers included) and peak RSS. Without --data a folder of ImageNet-sized JPEGs (about 500x375) is generated once
 * in the system temp folder. Files the pipeline skips (unreadable, truncated, not an image) are found first with the
 * pipeline's own decoder, left out of every baseline and counted (`bad_files_skipped`).
 * Prints one JSON object per measurement, then a summary with the ratios.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import PQueue from 'p-queue';
import sharp from 'sharp';
import yargs from 'yargs';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/backend.ts';
import type { BackendChoice } from '../../src/backend/backend.ts';
import { openDataset } from '../../src/data/open-dataset.ts';
import { ImageFolderDataset, defaultDecodeThreads } from '../../src/data/image-folder/image-folder-dataset.ts';
import type { CropBox } from '../../src/data/image-folder/decode-image.ts';
import {
  INCEPTION_CROP,
  decodeRegion,
  randomResizedCrop,
  uprightSize,
} from '../../src/data/image-folder/decode-image.ts';
import { SeededRandom, hashSeed } from '../../src/random/seeded-random.ts';
import { makeImageFolder } from '../../src/data/synthetic-folder.ts';
import { ExampleDecoder } from '../../src/data/image-folder/example-decoder.ts';
import { IMAGENET_NORMALIZATION, PixelNormalizer } from '../../src/data/pixel-normalization.ts';
import { DEFAULT_VAL_CROP_FRACTION } from '../../src/data/image-folder/decode-image.ts';

const PIL_PEER = '/work/shared/peers/pil_decode.py';

interface Measurement {
  name: string;
  images: number;
  seconds: number;
  img_per_s: number;
  cpu_s_per_img: number | null;
  img_per_cpu_s: number | null;
  [extra: string]: unknown;
}

function report(m: Measurement): Measurement {
  console.log(JSON.stringify(m));
  return m;
}

async function timed(
  name: string,
  images: number,
  body: () => Promise<Record<string, unknown> | void>,
): Promise<Measurement> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const extra = (await body()) ?? {};
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return report({
    name,
    images,
    seconds: round(seconds),
    img_per_s: round(images / seconds),
    cpu_s_per_img: round(cpuSeconds / images, 5),
    img_per_cpu_s: round(images / cpuSeconds),
    ...extra,
  });
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

async function defaultFolder(log: (l: string) => void): Promise<string> {
  const dir = join(tmpdir(), 'n2n-bench-imagenet-10x100-500x375');
  if (!existsSync(join(dir, 'done'))) {
    log(`bench data: generating ${dir} (10 classes x 100 JPEGs, about 500x375)`);
    await makeImageFolder(dir, { classes: 10, perClass: 100, valPerClass: 5, width: 500, height: 375, seed: 0 });
    writeFileSync(join(dir, 'done'), '');
  }
  return dir;
}

interface PeerRun {
  files: number;
  seconds: number;
  img_per_s: number;
  cpuSeconds: number;
}

function runPeer(dir: string, limit: number, log: (l: string) => void): PeerRun | null {
  const result = spawnSync('/usr/bin/time', ['-f', '%U %S', '/usr/bin/python3', PIL_PEER, dir, String(limit)], {
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    log(`bench data: the Pillow peer failed (status ${result.status}): ${result.stderr.slice(0, 500)}`);
    return null;
  }
  const peer = JSON.parse(result.stdout.trim().split('\n').pop()!) as {
    files: number;
    seconds: number;
    img_per_s: number;
  };
  const [user, system] = result.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { ...peer, cpuSeconds: user! + system! };
}

/**
 * The files the pipeline can use and why the others are bad, found as the pipeline finds them: each file read,
 * checked and decoded (its centre crop) by the pipeline's own decoder, on the calling thread.
 */
async function screenFiles(
  files: readonly string[],
  size: number,
  queue: PQueue,
): Promise<{ good: string[]; bad: { path: string; reason: string }[] }> {
  const decoder = new ExampleDecoder({
    size,
    crop: INCEPTION_CROP,
    flip: false,
    centreFraction: DEFAULT_VAL_CROP_FRACTION,
    affine: new PixelNormalizer(IMAGENET_NORMALIZATION, 3).affine3(),
  });
  const results = await Promise.all(files.map((path) => queue.add(() => decoder.decode({ path, seed: null }))));
  const good: string[] = [];
  const bad: { path: string; reason: string }[] = [];
  results.forEach((result, i) => {
    if (result !== undefined && 'values' in result) good.push(files[i]!);
    else bad.push({ path: files[i]!, reason: result === undefined ? 'not decoded' : result.bad });
  });
  return { good, bad };
}

/** A folder of links to `files` (numbered, extensions kept): what the Pillow peer reads, so it sees the same files. */
function linkFolder(files: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'n2n-bench-data-files-'));
  files.forEach((file, i) => symlinkSync(file, join(dir, `${String(i).padStart(6, '0')}-${basename(file)}`)));
  return dir;
}

/** Time to open an image folder of many files: no cache, first run with the cache (writes it), and from the cache. */
async function benchScan(shape: string, log: (l: string) => void): Promise<void> {
  const match = /^(\d+)x(\d+)$/.exec(shape);
  if (!match) throw new Error(`--scan '${shape}' must be <classes>x<files per class>, e.g. 1000x1280`);
  const [classes, perClass] = [Number(match[1]), Number(match[2])];
  const dir = join(tmpdir(), `n2n-bench-scan-${classes}x${perClass}`);
  if (!existsSync(join(dir, 'done'))) {
    log(`bench data: creating ${classes * perClass} empty files in ${dir}`);
    for (let c = 0; c < classes; c++) {
      const classDir = join(dir, 'train', `n${String(c).padStart(8, '0')}`);
      mkdirSync(classDir, { recursive: true });
      for (let i = 0; i < perClass; i++) writeFileSync(join(classDir, `n${String(c).padStart(8, '0')}_${i}.JPEG`), '');
    }
    writeFileSync(join(dir, 'done'), '');
  }
  const cacheDir = mkdtempSync(join(tmpdir(), 'n2n-bench-scan-cache-'));
  for (const [name, cache] of [
    ['no-cache', null],
    ['cache-first', cacheDir],
    ['cache-warm', cacheDir],
  ] as const) {
    const t0 = performance.now();
    const dataset = await openDataset(`imagenet:${dir}`, { cacheDir: cache, log: () => {} });
    const seconds = (performance.now() - t0) / 1000;
    console.log(JSON.stringify({ name: `scan-${name}`, files: dataset.numTrain, classes, seconds: round(seconds, 3) }));
    await dataset.close();
  }
  rmSync(cacheDir, { recursive: true, force: true });
}

async function parseArgs(argv: string[]) {
  return yargs(argv)
    .option('data', { type: 'string', describe: 'imagenet:<dir> or folder:<dir> (default: a generated folder)' })
    .option('concurrency', { type: 'number', default: 4 })
    .option('prefetch-batches', { type: 'number', default: 3 })
    .option('decode-threads', {
      type: 'number',
      describe: 'decode worker threads (default: the cores available; 0: main thread)',
    })
    .option('images', { type: 'number', default: 1000, describe: 'images per measurement' })
    .option('long-images', { type: 'number', default: 4000, describe: 'images in the memory run (RSS sampled)' })
    .option('batch-size', { type: 'number', default: 32 })
    .option('size', { type: 'number', default: 224 })
    .option('repeats', { type: 'number', default: 2, describe: 'interleaved repeats of each measurement (best kept)' })
    .option('scan', {
      type: 'string',
      describe:
        'only time opening (listing) a folder of <classes>x<files> empty .JPEG files, without and with the file-list cache',
    })
    .option('pil', { type: 'boolean', default: true, describe: `also run the Pillow peer ${PIL_PEER}` })
    .option('cache-dir', {
      type: 'string',
      describe: 'file-list cache folder of the image folder (default .cache/data-index in the repository)',
    })
    .option('backend', {
      type: 'string',
      default: 'wasm',
      describe: 'backend that receives the batch tensors (wasm copies them into its heap, as in training here)',
    })
    .strict()
    .parseAsync();
}

type BenchArgs = Awaited<ReturnType<typeof parseArgs>>;

interface BenchFiles {
  dataset: ImageFolderDataset;
  /** The files every measurement uses: the first --images of the training list that the pipeline can decode. */
  files: string[];
  bad: { path: string; reason: string }[];
}

/** Opens the image folder, screens its first files and prints the setup line. */
async function openBenchFiles(args: BenchArgs, queue: PQueue, log: (line: string) => void): Promise<BenchFiles> {
  const spec = args.data ?? `imagenet:${await defaultFolder(log)}`;
  const dataset = await openDataset(spec, {
    imageSize: args.size,
    concurrency: args.concurrency,
    prefetchBatches: args['prefetch-batches'],
    decodeThreads: args['decode-threads'],
    cacheDir: args['cache-dir'],
    log,
  });
  if (!(dataset instanceof ImageFolderDataset))
    throw new Error(`bench data: ${spec} is not an image folder (imagenet:<dir> or folder:<dir>)`);
  const candidates = dataset.index.train.paths
    .slice(0, Math.min(args.images, dataset.numTrain))
    .map((p) => join(dataset.index.dataRoot, p));
  // also warms the page cache and sharp for every measurement alike
  const { good: files, bad } = await screenFiles(candidates, args.size, queue);
  for (const { path, reason } of bad) log(`bench data: skipped ${path}: ${reason} (the pipeline skips it too)`);
  if (files.length === 0)
    throw new Error(`bench data: none of the first ${candidates.length} files of ${spec} decodes`);
  const setup = {
    spec,
    cores: cpus().length,
    concurrency: args.concurrency,
    decode_threads: args['decode-threads'] ?? defaultDecodeThreads(),
    backend: tf.getBackend(),
    libvips_threads_per_image: sharp.concurrency(),
    uv_threadpool_size: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
    size: args.size,
    batch_size: args['batch-size'],
    files: files.length,
    bad_files_skipped: bad.length,
  };
  console.log(JSON.stringify({ name: 'setup', ...setup }));
  return { dataset, files, bad };
}

/** The sharp baselines on `files`, each a timed measurement through the bench's queue (its concurrency). */
function sharpBaselines(files: readonly string[], size: number, queue: PQueue) {
  const n = files.length;
  /** Runs `work` on every file's bytes through the queue. */
  const eachFile = (work: (bytes: Buffer, index: number) => Promise<void>): Promise<void> =>
    Promise.all(files.map((f, i) => queue.add(async () => work(await readFile(f), i)))).then(() => {});

  /** The same kind of random-resized crop and flip as the pipeline draws for file `index`. */
  const randomCrop = async (bytes: Buffer, index: number): Promise<{ box: CropBox; flip: boolean }> => {
    const { width, height } = await uprightSize(bytes);
    const rng = new SeededRandom(hashSeed(0, index));
    const flip = rng.next() < 0.5;
    return { box: randomResizedCrop(width, height, rng, INCEPTION_CROP), flip };
  };

  return {
    raw: (): Promise<Measurement> =>
      timed('raw-sharp', n, async () => {
        let bytes = 0;
        await eachFile(async (file) => {
          const decoded = await sharp(file).toColourspace('srgb').raw().toBuffer();
          bytes += decoded.length;
        });
        return { mean_decoded_pixels: Math.round(bytes / 3 / n) };
      }),
    // the floor of the pipeline's design: sharp decoding the same crop regions to bytes, nothing else
    region: (): Promise<Measurement> =>
      timed('sharp-region', n, () =>
        eachFile(async (file, i) => {
          await decodeRegion(file, (await randomCrop(file, i)).box);
        }),
      ),
    // libvips cutting and resizing the crops itself, bytes out, on the main thread's queue: no ordering,
    // normalization, batching or tensors
    crop: (): Promise<Measurement> =>
      timed('sharp-crop-resize', n, () =>
        eachFile(async (file, i) => {
          const { box, flip } = await randomCrop(file, i);
          let image = sharp(file).autoOrient().extract(box).resize(size, size, { fit: 'fill', kernel: 'linear' });
          if (flip) image = image.flop();
          await image.toColourspace('srgb').raw().toBuffer();
        }),
      ),
  };
}

/** `batches` training batches of the pipeline, timed (`name`); `sampleRss` also samples RSS and counts tensors. */
function pipelineRun(
  dataset: ImageFolderDataset,
  name: string,
  batches: number,
  batchSize: number,
  seed: number,
  sampleRss = false,
): Promise<Measurement> {
  const rssSamples: number[] = [];
  const tensorsBefore = tf.memory().numTensors;
  return timed(name, batches * batchSize, async () => {
    const iterator = dataset.trainBatches({ batchSize, seed });
    for (let i = 0; i < batches; i++) {
      const { value } = await iterator.next();
      tf.dispose([value!.x, value!.y]);
      if (sampleRss && i % Math.max(1, Math.floor(batches / 8)) === 0)
        rssSamples.push(Math.round(process.memoryUsage().rss / 2 ** 20));
    }
    await iterator.return?.(undefined);
    if (!sampleRss) return;
    return {
      rss_mb_samples: rssSamples,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      tensors_leaked: tf.memory().numTensors - tensorsBefore,
    };
  });
}

/** The Pillow peer on the `n` files linked in `dir`, with its CPU per image net of its start-up (`startup`). */
function pilRun(dir: string, n: number, startup: PeerRun, log: (line: string) => void): Measurement | null {
  const full = runPeer(dir, n, log);
  if (!full) return null;
  // CPU per image from /usr/bin/time, without the interpreter start and imports (a run on 1 file)
  const cpuPerImage = (full.cpuSeconds - startup.cpuSeconds) / (full.files - startup.files);
  return report({
    name: 'pil',
    images: full.files,
    seconds: full.seconds,
    img_per_s: full.img_per_s,
    cpu_s_per_img: round(cpuPerImage, 5),
    img_per_cpu_s: round(1 / cpuPerImage),
    process_cpu_s: round(full.cpuSeconds),
    startup_cpu_s: round(startup.cpuSeconds),
    note: 'one process, one thread; img/s is wall time on a shared machine, img_per_cpu_s is per core',
  });
}

type RunName = 'raw' | 'region' | 'crop' | 'pipeline' | 'pil';

function printSummary(runs: Record<RunName, Measurement[]>, long: Measurement, badFiles: number): void {
  const best = (ms: Measurement[]): Measurement => ms.reduce((a, b) => (b.img_per_s > a.img_per_s ? b : a));
  const bestCpu = (ms: Measurement[]): number => Math.max(...ms.map((m) => m.img_per_cpu_s ?? 0));
  const raw = best(runs.raw);
  const crop = best(runs.crop);
  const pipeline = best(runs.pipeline);
  const hasPil = runs.pil.length > 0;
  console.log(
    JSON.stringify({
      name: 'summary',
      note: 'best of the interleaved repeats; img_per_cpu_s counts this process user+system CPU (libvips threads included)',
      pipeline_img_per_s: pipeline.img_per_s,
      raw_sharp_img_per_s: raw.img_per_s,
      sharp_crop_resize_img_per_s: crop.img_per_s,
      pil_img_per_s: hasPil ? best(runs.pil).img_per_s : null,
      pipeline_vs_raw_sharp: round(pipeline.img_per_s / raw.img_per_s, 3),
      pipeline_vs_sharp_crop_resize: round(pipeline.img_per_s / crop.img_per_s, 3),
      pipeline_img_per_cpu_s: bestCpu(runs.pipeline),
      raw_sharp_img_per_cpu_s: bestCpu(runs.raw),
      sharp_region_img_per_cpu_s: bestCpu(runs.region),
      sharp_crop_resize_img_per_cpu_s: bestCpu(runs.crop),
      pil_img_per_cpu_s: hasPil ? bestCpu(runs.pil) : null,
      pipeline_vs_raw_sharp_per_cpu_s: round(bestCpu(runs.pipeline) / bestCpu(runs.raw), 3),
      pipeline_vs_sharp_region_per_cpu_s: round(bestCpu(runs.pipeline) / bestCpu(runs.region), 3),
      pipeline_vs_sharp_crop_resize_per_cpu_s: round(bestCpu(runs.pipeline) / bestCpu(runs.crop), 3),
      pipeline_vs_pil_per_core: hasPil ? round(bestCpu(runs.pipeline) / bestCpu(runs.pil), 3) : null,
      bad_files_skipped: badFiles,
      peak_rss_mb: long.peak_rss_mb,
      rss_mb_samples: long.rss_mb_samples,
    }),
  );
}

export async function run(argv: string[]): Promise<void> {
  const args = await parseArgs(argv);
  const log = (line: string): void => console.error(line);
  await selectBackend(args.backend as BackendChoice, () => {});
  if (args.scan !== undefined) {
    await benchScan(args.scan, log);
    return;
  }
  const queue = new PQueue({ concurrency: args.concurrency });
  const { dataset, files, bad } = await openBenchFiles(args, queue, log);
  const baselines = sharpBaselines(files, args.size, queue);
  const batchSize = args['batch-size'];
  const batches = Math.max(1, Math.floor(files.length / batchSize));

  // interleaved repeats, best of each: the machine is shared and its load drifts; the Pillow peer in every repeat
  // too, so it sees the same machine load as the measurements next to it
  const runs: Record<RunName, Measurement[]> = { raw: [], region: [], crop: [], pipeline: [], pil: [] };
  const peerDir = args.pil && existsSync(PIL_PEER) ? linkFolder(files) : null;
  const peerStartup = peerDir ? runPeer(peerDir, 1, log) : null;
  for (let r = 0; r < args.repeats; r++) {
    runs.raw.push(await baselines.raw());
    runs.region.push(await baselines.region());
    runs.crop.push(await baselines.crop());
    runs.pipeline.push(await pipelineRun(dataset, 'pipeline', batches, batchSize, 0));
    const pil = peerDir && peerStartup ? pilRun(peerDir, files.length, peerStartup, log) : null;
    if (pil) runs.pil.push(pil);
  }
  if (peerDir) rmSync(peerDir, { recursive: true, force: true });

  // a longer run (several epochs of the files when the folder is small): RSS must stay flat
  const longBatches = Math.max(1, Math.floor(args['long-images'] / batchSize));
  const long = await pipelineRun(dataset, 'pipeline-long', longBatches, batchSize, 1, true);
  await dataset.close();
  printSummary(runs, long, bad.length);
}
