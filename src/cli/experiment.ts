/**
 * `npm run experiment -- <wider|deeper|explore> [--preset smoke|cpu|paper] [--data <dataset>] [--backend ...]
 *  [--steps N] [--batch-size N] [--out results/<name>] [--resume] [--seed N] ...`: runs one of the paper's
 * experiments end to end (teacher, Net2Net student, baselines, curves, figures, summary).
 * Bad arguments exit with status 2 and a message naming the value and the accepted ones; runtime errors exit 1.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { BackendChoice } from '../backend/backend.ts';
import { EXPERIMENT_NAMES } from '../../experiments/definition.ts';
import type { ExperimentName } from '../../experiments/definition.ts';
import { PRESET_NAMES } from '../../experiments/presets.ts';
import type { PresetName } from '../../experiments/presets.ts';
import type { ExperimentOptions } from '../../experiments/run-experiment.ts';

// TensorFlow.js and the data modules load only after the arguments are checked, so that a bad argument fails fast.

import { UsageError } from './usage-error.ts';

/** Numbers are read as text so that an error can quote exactly what was given. */
function positiveInteger(flag: string, given: unknown): number | undefined {
  if (given === undefined) return undefined;
  const text = String(given);
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < 1)
    throw new UsageError(`--${flag} '${text}' is invalid: expected a positive integer`);
  return value;
}

function positiveNumber(flag: string, given: unknown): number | undefined {
  if (given === undefined) return undefined;
  const text = String(given);
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0)
    throw new UsageError(`--${flag} '${text}' is invalid: expected a positive number`);
  return value;
}

function integer(flag: string, given: unknown): number {
  const text = String(given);
  const value = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(value) || value < 0)
    throw new UsageError(`--${flag} '${text}' is invalid: expected an integer >= 0`);
  return value;
}

function usageExit(message: string): never {
  console.error(`error: ${message}\nrun 'npm run experiment -- --help' for usage`);
  process.exit(2);
}

const NUMERIC = ['steps', 'teacher-steps', 'batch-size', 'seed', 'workers', 'eval-every', 'checkpoint-every', 'lr'];
const NUMERIC_OPTIONAL = ['image-size', 'limit-train', 'limit-val', 'decode-threads'];

async function main(): Promise<void> {
  const parser = yargs(hideBin(process.argv))
    .scriptName('npm run experiment --')
    .usage('$0 <experiment> [options]')
    .command('$0 <experiment>', 'run one of the paper experiments end to end', (y) =>
      y.positional('experiment', {
        describe: 'which experiment',
        choices: EXPERIMENT_NAMES,
        type: 'string',
      }),
    )
    .option('preset', {
      describe: 'smoke: seconds (tests); cpu: full Fashion-MNIST, hours; paper: ImageNet at 224 (GPU); none: minutes',
      choices: PRESET_NAMES,
      type: 'string',
    })
    .option('data', { describe: "dataset spec (default: the preset's)", type: 'string' })
    .option('backend', { describe: 'auto|tensorflow-gpu|tensorflow|wasm|cpu', default: 'auto', type: 'string' })
    .option('steps', { describe: 'minibatches of every run', type: 'string' })
    .option('teacher-steps', {
      describe: "minibatches of the teacher (default: --steps or the preset's)",
      type: 'string',
    })
    .option('batch-size', { type: 'string' })
    .option('out', { describe: 'experiment folder (default results/<experiment>[-<preset>])', type: 'string' })
    .option('resume', { describe: 'continue the runs found in --out', type: 'boolean', default: false })
    .option('overwrite', { describe: 'start the runs found in --out again', type: 'boolean', default: false })
    .option('seed', { type: 'string', default: '1' })
    .option('workers', { describe: 'data-parallel worker threads (wasm/cpu backends)', type: 'string', default: '1' })
    .option('eval-every', { describe: 'evaluate every N minibatches', type: 'string' })
    .option('checkpoint-every', { describe: 'checkpoint every N minibatches', type: 'string' })
    .option('lr', { describe: "teacher's initial learning rate (students: x their multiplier)", type: 'string' })
    .option('image-size', { describe: 'image side for imagenet:/folder: data', type: 'string' })
    .option('limit-train', { describe: 'at most N training images', type: 'string' })
    .option('limit-val', { describe: 'at most N validation images', type: 'string' })
    .option('decode-threads', {
      describe:
        'imagenet:/folder: threads that read, decode and resample images (default: the cores available; 0: this thread)',
      type: 'string',
    })
    .option('runs', { describe: 'only these student runs, comma-separated (the teacher always runs)', type: 'string' })
    .option('cache-dir', { describe: 'trained-teacher cache (default <out>/../.cache)', type: 'string' })
    .option('figures', { describe: 'draw the figures at the end', type: 'boolean', default: true })
    .strict()
    .help()
    .version(false)
    .fail((message, error) => {
      usageExit(message ?? error?.message ?? 'bad arguments');
    });
  const args = await parser.parseAsync();

  const { BACKEND_CHOICES, isBackendChoice } = await import('../backend/backend.ts');
  const { DataSpecError, parseDataSpec } = await import('../data/data-spec.ts');
  const { ExperimentUsageError, runExperiment } = await import('../../experiments/run-experiment.ts');
  let options: ExperimentOptions;
  try {
    if (!isBackendChoice(String(args.backend)))
      throw new UsageError(
        `--backend '${String(args.backend)}' is invalid: accepted values are ${BACKEND_CHOICES.join(', ')}`,
      );
    for (const flag of [...NUMERIC, ...NUMERIC_OPTIONAL]) {
      if (Array.isArray(args[flag])) throw new UsageError(`--${flag} is given more than once`);
    }
    if (args.resume && args.overwrite) throw new UsageError('--resume and --overwrite exclude each other');
    if (args.data !== undefined) parseDataSpec(args.data);
    options = {
      experiment: args.experiment as ExperimentName,
      preset: (args.preset ?? 'default') as PresetName,
      data: args.data,
      backend: args.backend as BackendChoice,
      steps: positiveInteger('steps', args.steps),
      teacherSteps: positiveInteger('teacher-steps', args['teacher-steps']),
      batchSize: positiveInteger('batch-size', args['batch-size']),
      out: args.out,
      resume: args.resume,
      overwrite: args.overwrite,
      seed: integer('seed', args.seed),
      workers: positiveInteger('workers', args.workers),
      evalEvery: positiveInteger('eval-every', args['eval-every']),
      checkpointEvery: positiveInteger('checkpoint-every', args['checkpoint-every']),
      learningRate: positiveNumber('lr', args.lr),
      imageSize: positiveInteger('image-size', args['image-size']),
      limitTrain: positiveInteger('limit-train', args['limit-train']),
      limitVal: positiveInteger('limit-val', args['limit-val']),
      decodeThreads:
        args['decode-threads'] === undefined ? undefined : integer('decode-threads', args['decode-threads']),
      cacheDir: args['cache-dir'],
      only:
        args.runs === undefined
          ? undefined
          : String(args.runs)
              .split(',')
              .filter((r) => r !== ''),
      figures: args.figures,
    };
  } catch (err) {
    if (err instanceof UsageError || err instanceof DataSpecError) usageExit(err.message);
    throw err;
  }

  try {
    const result = await runExperiment(options);
    console.log(JSON.stringify({ out: result.out, wall_s: Math.round(result.wallSeconds), runs: result.statistics }));
  } catch (err) {
    if (err instanceof ExperimentUsageError) usageExit(err.message);
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}

await main();
