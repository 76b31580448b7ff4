/**
 * `npm run data -- <command>`: dataset helpers.
 *   make-folder <dir> --classes N --per-class M --size WxH   a synthetic JPEG folder in the ILSVRC-2012 layout
 *   fashion-mnist-subset [--from dir] [--to dir]             rewrite the committed Fashion-MNIST subset
 *   inspect <spec>                                           open a dataset, print counts and skipped files as JSON
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { FASHION_MNIST_DEBIAN_DIR, FASHION_MNIST_SUBSET_DIR } from '../data/fashion-mnist.ts';
import { writeFashionMnistSubset } from '../data/fashion-mnist-subset.ts';
import { openDataset } from '../data/open-dataset.ts';
import type { MakeFolderValLayout } from '../data/synthetic-folder.ts';
import { makeImageFolder } from '../data/synthetic-folder.ts';

const VAL_LAYOUTS: readonly MakeFolderValLayout[] = ['class-folders', 'flat-txt', 'flat-csv'];

import { UsageError } from './usage-error.ts';
import { choiceArgument, integerArgument } from './arguments.ts';

function parseSize(text: string): { width: number; height: number } {
  const match = /^(\d+)x(\d+)$/.exec(text);
  if (!match) throw new UsageError(`--size '${text}' must be WxH, e.g. 500x375`);
  return { width: Number(match[1]), height: Number(match[2]) };
}

await yargs(hideBin(process.argv))
  .scriptName('npm run data --')
  .command(
    'make-folder <dir>',
    'write a synthetic JPEG folder: train/<wnid>/*.JPEG and val/ (varied image sizes)',
    (y) =>
      y
        .positional('dir', { type: 'string', demandOption: true })
        .option('classes', { type: 'number', default: 10 })
        .option('per-class', { type: 'number', default: 20, describe: 'training images per class' })
        .option('val-per-class', { type: 'number', describe: 'validation images per class (default per-class / 5)' })
        .option('size', {
          type: 'string',
          default: '500x375',
          describe: 'nominal WxH; images vary 70-100% per side, 1 in 4 portrait',
        })
        .option('val-layout', { type: 'string', default: 'class-folders', describe: VAL_LAYOUTS.join(' | ') })
        .option('odd-files', {
          type: 'boolean',
          default: false,
          describe:
            'add grey, CMYK, PNG-named, EXIF-rotated, zero-byte, truncated, text files and an empty class folder',
        })
        .option('seed', { type: 'number', default: 0 })
        .option('quality', { type: 'number', default: 90, describe: 'JPEG quality' }),
    async (argv) => {
      const layout = choiceArgument('val-layout', argv['val-layout'], VAL_LAYOUTS)!;
      const started = Date.now();
      const made = await makeImageFolder(argv.dir, {
        classes: integerArgument('classes', argv.classes)!,
        perClass: integerArgument('per-class', argv['per-class'])!,
        valPerClass:
          argv['val-per-class'] === undefined ? undefined : integerArgument('val-per-class', argv['val-per-class'])!,
        ...parseSize(argv.size),
        valLayout: layout,
        oddFiles: argv['odd-files'],
        seed: argv.seed,
        quality: integerArgument('quality', argv.quality)!,
      });
      console.log(
        JSON.stringify({ ...made, classNames: made.classNames.length, seconds: (Date.now() - started) / 1000 }),
      );
    },
  )
  .command(
    'fashion-mnist-subset',
    'write the first N training and M test images of Fashion-MNIST as gzip IDX files (the committed subset)',
    (y) =>
      y
        .option('from', { type: 'string', default: FASHION_MNIST_DEBIAN_DIR })
        .option('to', { type: 'string', default: FASHION_MNIST_SUBSET_DIR })
        .option('train', { type: 'number', default: 10000 })
        .option('test', { type: 'number', default: 2000 }),
    async (argv) => {
      const written = await writeFashionMnistSubset(
        argv.from,
        argv.to,
        integerArgument('train', argv.train)!,
        integerArgument('test', argv.test)!,
      );
      console.log(JSON.stringify({ written, train: argv.train, test: argv.test }));
    },
  )
  .command(
    'inspect <spec>',
    'open a dataset (building the file-list cache of a folder) and print its counts, classes and skipped files',
    (y) =>
      y
        .positional('spec', { type: 'string', demandOption: true })
        .option('decode', { type: 'number', default: 0, describe: 'also decode this many validation images' }),
    async (argv) => {
      const started = Date.now();
      const dataset = await openDataset(argv.spec, { log: (line) => console.error(line), maxBadFraction: 1 });
      let decoded = 0;
      if (argv.decode > 0) {
        for await (const batch of dataset.valBatches(32)) {
          decoded += batch.y.shape[0];
          batch.x.dispose();
          batch.y.dispose();
          if (decoded >= argv.decode) break;
        }
      }
      console.log(
        JSON.stringify({
          name: dataset.name,
          inputShape: dataset.inputShape,
          classes: dataset.classNames.length,
          firstClasses: dataset.classNames.slice(0, 10),
          numTrain: dataset.numTrain,
          numVal: dataset.numVal,
          decoded,
          skipped: dataset.skipped,
          seconds: (Date.now() - started) / 1000,
        }),
      );
      await dataset.close();
    },
  )
  .demandCommand(1, 'a command is needed: make-folder <dir> | fashion-mnist-subset | inspect <spec>')
  .strict()
  .fail((message, err) => {
    console.error(err ? err.message : message);
    process.exit(err && !(err instanceof UsageError) ? 1 : 2);
  })
  .help()
  .parseAsync();
