/**
 * `npm run models -- summary <name> [--width W] [--width-scope modules|all] [--factorized] [--extra-pairs N]
 *  [--top-pairs N] [--input HxWxC] [--classes K] [--json]`: layers, output shapes, parameter and multiply-add counts of
 * a registered model, built on the cpu backend without a forward pass. Bad arguments exit with status 2.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { selectBackend } from '../backend/backend.ts';
import { summarize } from '../models/counts.ts';
import type { ModelSummary } from '../models/counts.ts';
import { MODEL_NAMES, buildModel, isModelName, modelFamily, resolveModelOptions } from '../models/registry.ts';
import type { ModelOptions } from '../models/registry.ts';
import { WIDTH_SCOPES } from '../models/width.ts';

import { UsageError } from './usage-error.ts';
import { choiceArgument, integerArgument, positiveNumberArgument } from './arguments.ts';

function parseInputShape(text: string): [number, number, number] {
  const match = /^(\d+)x(\d+)x(\d+)$/.exec(text);
  if (!match) throw new UsageError(`--input '${text}' is invalid: expected HxWxC with positive integers, e.g. 28x28x1`);
  const dims = match.slice(1).map(Number) as [number, number, number];
  if (dims.some((d) => d < 1)) throw new UsageError(`--input '${text}' is invalid: every dimension must be >= 1`);
  return dims;
}

interface SummaryArgs {
  name: string;
  width: string;
  widthScope: string;
  factorized: boolean;
  extraPairs: string;
  topPairs: string;
  input?: string;
  classes?: string;
  seed?: string;
  json: boolean;
}

function modelOptionsFrom(args: SummaryArgs): ModelOptions {
  if (!isModelName(args.name)) {
    throw new UsageError(`unknown model '${args.name}': accepted models are ${MODEL_NAMES.join(', ')}`);
  }
  const widthScope = choiceArgument('width-scope', args.widthScope, WIDTH_SCOPES)!;
  const extraPairs = integerArgument('extra-pairs', args.extraPairs, 0)!;
  if (extraPairs > 0 && !args.factorized) {
    throw new UsageError(
      `--extra-pairs ${extraPairs} needs --factorized (extra pairs follow each factorized 3x3 pair)`,
    );
  }
  const options: ModelOptions = {
    width: positiveNumberArgument('width', args.width)!,
    widthScope,
    factorized: args.factorized,
    extraPairs,
    topPairs: integerArgument('top-pairs', args.topPairs, 0)!,
  };
  if (args.input !== undefined) options.inputShape = parseInputShape(args.input);
  if (args.classes !== undefined) options.classes = integerArgument('classes', args.classes);
  if (args.seed !== undefined) options.seed = integerArgument('seed', args.seed, 0);
  // Let the registry reject anything else with its own message before building.
  try {
    resolveModelOptions(modelFamily(args.name), options);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return options;
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(3)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(3)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

function printTable(summary: ModelSummary): void {
  const rows = summary.layers.map((l) => [
    l.name,
    l.className,
    `[${l.outputShape.join(', ')}]`,
    String(l.params),
    String(l.multiplyAdds),
  ]);
  const header = ['layer', 'class', 'output shape', 'params', 'multiply-adds'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

async function runSummary(args: SummaryArgs): Promise<void> {
  const options = modelOptionsFrom(args);
  await selectBackend('cpu', () => {});
  const summary = summarizeModel(args.name, options);
  // The parameter ratio against the same architecture at width 1 (the paper's "0.3x" and "2x" are such ratios).
  const reference = options.width === 1 ? summary : summarizeModel(args.name, { ...options, width: 1 });
  const resolved = resolveModelOptions(modelFamily(args.name), options);
  const report = {
    model: args.name,
    options: { ...resolved, width: resolved.width.width, widthScope: resolved.width.scope },
    channelFactor: resolved.width.width,
    paramRatio: summary.params / reference.params,
    multiplyAddRatio: summary.multiplyAdds / reference.multiplyAdds,
    params: summary.params,
    batchNormParams: summary.batchNormParams,
    multiplyAdds: summary.multiplyAdds,
    layers: summary.layers,
  };
  if (args.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  printTable(summary);
  console.log('');
  console.log(`model: ${args.name}  input ${resolved.inputShape.join('x')}  classes ${resolved.classes}`);
  console.log(
    `width: channel factor ${resolved.width.width} (${resolved.width.scope}),` +
      ` parameter ratio ${report.paramRatio.toFixed(4)} and multiply-add ratio ${report.multiplyAddRatio.toFixed(4)} vs width 1`,
  );
  console.log(
    `params: ${formatCount(summary.params)} (${summary.params}; BatchNormalization adds ${summary.batchNormParams})`,
  );
  console.log(`multiply-adds per image: ${formatCount(summary.multiplyAdds)} (${summary.multiplyAdds})`);
}

function summarizeModel(name: string, options: ModelOptions): ModelSummary {
  const model = buildModel(name, options);
  const summary = summarize(model);
  model.dispose();
  return summary;
}

await yargs(hideBin(process.argv))
  .scriptName('npm run models --')
  .command(
    'summary <name>',
    'print layers, output shapes, parameter count and multiply-adds of a model',
    (y) =>
      y
        .positional('name', { type: 'string', demandOption: true, describe: `one of ${MODEL_NAMES.join(', ')}` })
        .option('width', {
          type: 'string',
          default: '1',
          describe: 'channel factor (sqrt(0.3) = 0.5477 for 0.3x params)',
        })
        .option('width-scope', { type: 'string', default: 'modules', describe: `one of ${WIDTH_SCOPES.join(', ')}` })
        .option('factorized', { type: 'boolean', default: false, describe: 'stride-1 3x3 convs as 3x1 -> 1x3 pairs' })
        .option('extra-pairs', { type: 'string', default: '0', describe: 'C -> C pairs after each factorized pair' })
        .option('top-pairs', { type: 'string', default: '0', describe: 'C -> C pairs on top of every module' })
        .option('input', { type: 'string', describe: 'input shape HxWxC (default per model)' })
        .option('classes', { type: 'string', describe: 'class count (default per model)' })
        .option('seed', { type: 'string', describe: 'initialization seed' })
        .option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
    (argv) => runSummary(argv as unknown as SummaryArgs),
  )
  .demandCommand(1, 'a command is needed: summary <name>')
  .strict()
  .fail((message, err) => {
    // Usage errors (yargs' own or ours) exit 2; anything else is a bug or a build failure and exits 1.
    console.error(err ? err.message : message);
    process.exit(err && !(err instanceof UsageError) ? 1 : 2);
  })
  .help()
  .parseAsync();
