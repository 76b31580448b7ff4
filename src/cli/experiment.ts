/**
 * `npm run experiment -- <wider|deeper|explore|growth> [--preset smoke|cpu|paper] [--data <dataset>] [--backend ...]
 *  [--steps N] [--batch-size N] [--out results/<name>] [--resume] [--seed N] ...`: runs one of the paper's
 * experiments end to end (teacher, Net2Net student, baselines, curves, figures, summary).
 * `npm run experiment -- cache list|prune [--cache-dir D] [--unfinished]`: the trained-teacher cache.
 * Bad arguments exit with status 2 and a message naming the value and the accepted ones; runtime errors exit 1.
 */
import { existsSync } from 'node:fs';
import yargs from 'yargs';
import type { Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EXPERIMENT_NAMES } from '../../experiments/names.ts';
import type { ExperimentName } from '../../experiments/names.ts';
import { PRESET_NAMES, PRESETS } from '../../experiments/presets.ts';
import type { PresetName } from '../../experiments/presets.ts';
import type { ExperimentOptions } from '../experiment/options.ts';
import type { NoiseSpec } from '../net2net/noise.ts';
import { OPTIMIZER_STATE_CHOICES, parseNoiseText } from '../run-folder/run-name.ts';
import { UsageError } from '../usage-error.ts';
import { choiceArgument, integerArgument, listArgument, positiveNumberArgument } from './arguments.ts';
import { experimentReport } from './experiment-report.ts';

// TensorFlow.js and the data modules load only after the arguments are checked, so that a bad argument fails fast.

const CACHE_DIR_HELP = 'trained-teacher cache (default results/cache)';

/** Where the images come from (the preset's dataset unless given). */
function dataOptions<T>(y: Argv<T>) {
  return y
    .option('data', { describe: "dataset spec (default: the preset's)", type: 'string' })
    .option('image-size', { describe: 'image side for imagenet:/folder: data', type: 'string' })
    .option('limit-train', { describe: 'at most N training images', type: 'string' })
    .option('limit-val', { describe: 'at most N validation images', type: 'string' })
    .option('decode-threads', {
      describe:
        'imagenet:/folder: threads that read, decode and resample images (default: the cores available; 0: this thread)',
      type: 'string',
    })
    .option('val-labels', { describe: 'imagenet:/folder: labels file of a flat val/ folder', type: 'string' });
}

/** What is swept over one teacher (learning rates, state and noise at growth) and over seeds, and the claims' margin. */
function sweepOptions<T>(y: Argv<T>) {
  return y
    .option('student-lr', {
      describe: 'learning rates that Net2Net and random pad each run at, e.g. 0.002,0.005,0.01 (fig. 4)',
      type: 'string',
    })
    .option('noise', {
      describe:
        "Net2WiderNet's symmetry breaking: zero-sum (exact), none, or a Gaussian scale such as 0.01 (the paper's); " +
        'a list (none,zero-sum,0.01) runs it once per value (net2wider@noise=none, ...)',
      type: 'string',
    })
    .option('optimizer-state', {
      describe:
        "grown students' (Net2Net, random pad) RMSProp state: fresh (default) or transfer (the teacher's, mapped); " +
        'fresh,transfer runs them once each (net2wider@state=transfer, ...)',
      type: 'string',
    })
    .option('seeds', {
      describe: 'run once per seed (e.g. 1,2,3) under one folder: seed-<s>/ each, figures and claims over all',
      type: 'string',
    })
    .option('claim-margin', {
      describe: "accuracy above the teacher's that the converges-faster claim asks for (default 0.01)",
      type: 'string',
    });
}

function experimentOptions(y: Argv) {
  return sweepOptions(dataOptions(y))
    .positional('experiment', { describe: 'which experiment', choices: EXPERIMENT_NAMES, type: 'string' })
    .option('preset', {
      describe:
        'smoke: seconds (tests); cpu: full Fashion-MNIST, ~1 h for 3 seeds on torch; paper: ImageNet at 224 (GPU); none: minutes',
      choices: PRESET_NAMES,
      type: 'string',
    })
    .option('backend', {
      describe: 'auto (the first that loads), torch, tensorflow-gpu, tensorflow, wasm or cpu',
      default: 'auto',
      type: 'string',
    })
    .option('precision', {
      describe:
        "training precision: fp32, bf16 (torch), tf32 (torch on CUDA) or auto (default: NET2NET_PRECISION, else the preset's)",
      type: 'string',
    })
    .option('capture', {
      describe:
        'torch: replay each training step natively after recording it once (--no-capture: every step via TF.js)',
      type: 'boolean',
    })
    .option('cudnn-benchmark', {
      describe: 'cuDNN picks the fastest convolution algorithms (speed runs; default off: NET2NET_CUDNN_BENCHMARK)',
      type: 'boolean',
    })
    .option('threads', {
      describe: 'intra-op threads of the torch backend (default: the cores available)',
      type: 'string',
    })
    .option('steps', { describe: 'minibatches of every run', type: 'string' })
    .option('teacher-steps', {
      describe: "minibatches of the teacher (default: --steps or the preset's)",
      type: 'string',
    })
    .option('batch-size', { type: 'string' })
    .option('out', { describe: 'experiment folder (default results/<experiment>[-<preset>])', type: 'string' })
    .option('resume', { describe: 'continue the runs found in --out', type: 'boolean', default: false })
    .option('overwrite', { describe: 'start the runs found in --out again', type: 'boolean', default: false })
    .option('seed', { describe: 'the experiment seed (default 1)', type: 'string' })
    .option('workers', { describe: 'data-parallel worker threads (wasm/cpu backends)', type: 'string', default: '1' })
    .option('eval-every', { describe: 'evaluate every N minibatches', type: 'string' })
    .option('checkpoint-every', { describe: 'checkpoint every N minibatches', type: 'string' })
    .option('lr', { describe: "teacher's initial learning rate (students: x their multiplier)", type: 'string' })
    .option('runs', {
      describe: 'only these student runs or methods, comma-separated (the teacher always runs)',
      type: 'string',
    })
    .option('bn-momentum', {
      describe: "BatchNorm moving-average momentum of the built networks, in (0, 1) (default: the preset's, 0.99)",
      type: 'string',
    })
    .option('allow-cpu', {
      describe: 'run a GPU-sized preset (paper) on a CPU anyway',
      type: 'boolean',
      default: false,
    })
    .option('cache-dir', { describe: CACHE_DIR_HELP, type: 'string' })
    .option('figures', { describe: 'draw the figures at the end', type: 'boolean', default: true })
    .option('json', {
      describe: 'print the result as one JSON line on stdout instead of the summary (it is in summary.json too)',
      type: 'boolean',
      default: false,
    });
}

type ExperimentArgs = Awaited<ReturnType<ReturnType<typeof experimentOptions>['parseAsync']>>;

/** The command line as the runner's options; every check that needs no TensorFlow.js. */
async function toOptions(args: ExperimentArgs): Promise<ExperimentOptions> {
  const { EXPERIMENTS } = await import('../../experiments/registry.ts');
  const { parseDataSpec } = await import('../data/data-spec.ts');
  const { BACKEND_CHOICES } = await import('../backend/backend.ts');
  const { PRECISION_CHOICES, precisionFromEnv } = await import('../backend/precision.ts');
  if (args.resume && args.overwrite) throw new UsageError('--resume and --overwrite exclude each other');
  if (args.data !== undefined) parseDataSpec(args.data);
  if (args['val-labels'] !== undefined && !existsSync(args['val-labels']))
    throw new UsageError(`--val-labels '${args['val-labels']}' does not exist`);
  const steps = integerArgument('steps', args.steps);
  // The torch backend reads its thread count from NET2NET_THREADS when selectBackend loads it.
  const threads = integerArgument('threads', args.threads, 1);
  if (threads !== undefined) process.env.NET2NET_THREADS = String(threads);
  return {
    experiment: EXPERIMENTS[args.experiment as ExperimentName],
    preset: PRESETS[(args.preset ?? 'default') as PresetName],
    overrides: {
      data: args.data,
      teacherSteps: integerArgument('teacher-steps', args['teacher-steps']) ?? steps,
      studentSteps: steps,
      batchSize: integerArgument('batch-size', args['batch-size']),
      evalEvery: integerArgument('eval-every', args['eval-every']),
      checkpointEvery: integerArgument('checkpoint-every', args['checkpoint-every']),
      learningRate: positiveNumberArgument('lr', args.lr),
      imageSize: integerArgument('image-size', args['image-size']),
      limitTrain: integerArgument('limit-train', args['limit-train']),
      limitVal: integerArgument('limit-val', args['limit-val']),
      batchNormMomentum: momentumArgument(args['bn-momentum']),
      studentLearningRates: listArgument('student-lr', args['student-lr'])?.map((rate) =>
        positiveNumberArgument('student-lr', rate)!,
      ),
    },
    noise: oneOrList('noise', args.noise, noiseArgument),
    optimizerState: oneOrList('optimizer-state', args['optimizer-state'], (value) =>
      choiceArgument('optimizer-state', value, OPTIMIZER_STATE_CHOICES),
    ),
    allowCpu: args['allow-cpu'],
    claimMargin: positiveNumberArgument('claim-margin', args['claim-margin']),
    valLabels: args['val-labels'],
    backend: choiceArgument('backend', args.backend, BACKEND_CHOICES) ?? 'auto',
    precision: choiceArgument('precision', args.precision, PRECISION_CHOICES) ?? precisionFromEnv(),
    cudnnBenchmark: args['cudnn-benchmark'],
    capture: args.capture,
    out: args.out,
    resume: args.resume,
    overwrite: args.overwrite,
    seed: integerArgument('seed', args.seed, 0) ?? 1,
    workers: integerArgument('workers', args.workers),
    decodeThreads: integerArgument('decode-threads', args['decode-threads'], 0),
    cacheDir: args['cache-dir'],
    only: listArgument('runs', args.runs),
    figures: args.figures,
  };
}

/** --bn-momentum: a number in (0, 1). */
function momentumArgument(given: string | undefined): number | undefined {
  const value = positiveNumberArgument('bn-momentum', given);
  if (value !== undefined && value >= 1)
    throw new UsageError(`--bn-momentum '${given}' is invalid: expected a number in (0, 1)`);
  return value;
}

/** --noise: 'zero-sum', 'none' or a Gaussian scale > 0. */
function noiseArgument(given: string): NoiseSpec {
  const noise = parseNoiseText(given);
  if (noise === null)
    throw new UsageError(`--noise '${given}' is invalid: accepted values are zero-sum, none, or a positive number`);
  return noise;
}

/**
 * A flag that takes one value or a comma-separated list of distinct values (a sweep): one value as it is, several as
 * a list; undefined when absent.
 */
function oneOrList<T>(flag: string, given: unknown, parse: (item: string) => T | undefined): T | T[] | undefined {
  const items = listArgument(flag, given);
  if (items === undefined) return undefined;
  const repeated = items.find((item, index) => items.indexOf(item) !== index);
  if (repeated !== undefined) throw new UsageError(`--${flag} '${String(given)}' lists '${repeated}' twice`);
  const values = items.map((item) => parse(item)!);
  return values.length === 1 ? values[0] : values;
}

async function runExperimentCommand(args: ExperimentArgs): Promise<void> {
  const options = await toOptions(args);
  const seeds = listArgument('seeds', args.seeds)?.map((seed) => integerArgument('seeds', seed, 0)!);
  if (seeds !== undefined) {
    if (args.seed !== undefined) throw new UsageError('--seed and --seeds exclude each other');
    const { runExperimentSeeds } = await import('../experiment/run-seeds.ts');
    const result = await runExperimentSeeds(options, seeds);
    if (args.json) console.log(JSON.stringify({ out: result.out, seeds, figures: result.figures }));
    else process.stdout.write(experimentReport(result));
    return;
  }
  const { runExperiment } = await import('../experiment/run-experiment.ts');
  const result = await runExperiment(options);
  if (args.json)
    console.log(JSON.stringify({ out: result.out, wall_s: Math.round(result.wallSeconds), runs: result.statistics }));
  else process.stdout.write(experimentReport(result));
}

async function cacheCommand(action: string, cacheDirArg: string | undefined, unfinished: boolean): Promise<void> {
  const { DEFAULT_CACHE_DIR, listCachedTeachers, pruneCachedTeachers } = await import('../experiment/teacher-cache.ts');
  const cacheDir = cacheDirArg ?? DEFAULT_CACHE_DIR;
  if (action === 'prune') {
    const removed = pruneCachedTeachers(cacheDir, { unfinishedOnly: unfinished });
    for (const teacher of removed) console.error(`removed ${teacher.dir}`);
    console.log(JSON.stringify({ cacheDir, removed: removed.map((t) => t.key) }));
    return;
  }
  if (unfinished) throw new UsageError('--unfinished is for cache prune');
  const teachers = listCachedTeachers(cacheDir);
  for (const t of teachers)
    console.error(
      `${t.key}  ${t.experiment ?? '?'}/${t.preset ?? '?'}  ${t.stepsDone ?? 0}/${t.steps ?? '?'} steps` +
        `${t.finished ? '' : ' (unfinished)'}  ${(t.bytes / 1e6).toFixed(1)} MB${t.inUseBy ? `  in use by ${t.inUseBy}` : ''}`,
    );
  console.log(JSON.stringify({ cacheDir, teachers }));
}

async function main(): Promise<void> {
  await yargs(hideBin(process.argv))
    .scriptName('npm run experiment --')
    .usage('$0 <experiment> [options]\n$0 cache list|prune [--cache-dir D] [--unfinished]')
    .command(
      'cache <action>',
      'list the trained-teacher cache, or prune it (every cached teacher not in use, or --unfinished ones)',
      (y) =>
        y
          .positional('action', { choices: ['list', 'prune'] as const, type: 'string', demandOption: true })
          .option('cache-dir', { describe: CACHE_DIR_HELP, type: 'string' })
          .option('unfinished', {
            describe: 'prune only teachers that never finished',
            type: 'boolean',
            default: false,
          }),
      (args) => cacheCommand(args.action, args['cache-dir'], args.unfinished),
    )
    .command('$0 <experiment>', 'run one of the paper experiments end to end', experimentOptions, runExperimentCommand)
    .strict()
    .help()
    .version(false)
    .fail((message, error) => {
      throw error ?? new UsageError(message ?? 'bad arguments');
    })
    .parseAsync();
}

try {
  await main();
} catch (err) {
  const { DataSpecError } = await import('../data/data-spec.ts');
  if (err instanceof UsageError || err instanceof DataSpecError) {
    console.error(`error: ${err.message}\nrun 'npm run experiment -- --help' for usage`);
    process.exit(2);
  }
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
