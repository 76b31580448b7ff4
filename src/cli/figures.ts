/**
 * npm run figures -- <experiment dir | figures dir> [--current-claims] [--x minibatches|compute|wall] [--charge-teacher]
 * Draws the paper-style accuracy figures (SVG + PNG) and the summary table of an experiment folder into its figures/,
 * or redraws a figures folder in place from its seed-curves.json.
 * Exit status: 0 done, 2 bad arguments or not an experiment folder, 1 anything else.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { selectBackend } from '../backend/backend.ts';
import { drawExperimentFigures } from '../figures/draw-experiment.ts';
import { applyCurrentClaims } from './current-claims.ts';
import { UsageError } from '../usage-error.ts';
import type { FigureAxis } from '../analysis/compute-cost.ts';
import { FIGURE_AXES } from '../analysis/compute-cost.ts';

async function main(argv: string[]): Promise<number> {
  const args = await yargs(argv)
    .scriptName('npm run figures --')
    .usage(
      '$0 <experiment dir | figures dir>\n\nDraws figures/<experiment>-{validation,training,validation-zoom}.{svg,png}, ' +
        'figures/summary.{md,json} and figures/seed-curves.json; a folder that holds only a seed-curves.json ' +
        '(e.g. results/figures/wider-default) is redrawn in place from it.',
    )
    .command(
      '$0 <dir>',
      'experiment folder (experiment.json or seeds.json), or a figures folder with seed-curves.json',
      (y) =>
        y.positional('dir', { type: 'string', demandOption: true, describe: 'experiment folder, e.g. results/wider' }),
    )
    .option('quiet', { type: 'boolean', default: false, describe: 'print only the summary table' })
    .option('x', {
      choices: FIGURE_AXES,
      describe:
        'x-axis: minibatches (the paper), training multiply-adds (compute) or training wall seconds (wall); ' +
        'other than minibatches the files are <experiment>-<panel>-<x>.svg/.png. Without --x and --charge-teacher: ' +
        'minibatches and every axis the experiment lists (experiment.json figureAxes), as the run drew them',
    })
    .option('charge-teacher', {
      type: 'boolean',
      describe:
        "runs that start from the teacher's weights (Net2Net students, random pad, the teacher trained further) " +
        "start at the teacher's total training cost instead of 0 (files get -charged)",
    })
    .option('current-claims', {
      type: 'boolean',
      default: false,
      describe: "first give the folder's experiment.json files the claims the experiment's definition lists now",
    })
    .strict()
    .help()
    .exitProcess(false)
    .fail((message, error) => {
      throw new UsageError(message ?? error?.message ?? 'bad arguments');
    })
    .parseAsync();
  if (args.help) return 0;
  const dir = args.dir as string;
  const log = args.quiet ? () => {} : (line: string) => console.error(line);
  if (args['current-claims'])
    for (const folder of applyCurrentClaims(dir)) log(`[figures] ${folder}: the current claims of its experiment`);
  // Curves written before their compute columns get train_macs from a model built to count it: that needs a backend.
  await selectBackend('cpu', () => {});
  const { summaryMarkdown } = await drawExperimentFigures(dir, {
    log,
    ...(args.x === undefined ? {} : { x: args.x as FigureAxis }),
    ...(args['charge-teacher'] === undefined ? {} : { chargeTeacher: args['charge-teacher'] }),
  });
  process.stdout.write(summaryMarkdown);
  return 0;
}

main(hideBin(process.argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`figures: ${err.message}`);
      console.error(
        'usage: npm run figures -- <experiment dir> [--x minibatches|compute|wall] [--charge-teacher] [--current-claims]',
      );
      process.exitCode = 2;
    } else {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exitCode = 1;
    }
  },
);
