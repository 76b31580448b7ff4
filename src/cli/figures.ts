/**
 * npm run figures -- <experiment dir>
 * Draws the paper-style accuracy figures (SVG + PNG) and the summary table of an experiment folder into its figures/.
 * Exit status: 0 done, 2 bad arguments or not an experiment folder, 1 anything else.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { drawExperimentFigures } from '../figures/draw-experiment.ts';
import { UsageError } from '../usage-error.ts';

async function main(argv: string[]): Promise<number> {
  const args = await yargs(argv)
    .scriptName('npm run figures --')
    .usage(
      '$0 <experiment dir>\n\nDraws figures/<experiment>-{validation,training,validation-zoom}.{svg,png} and figures/summary.{md,json}.',
    )
    .command('$0 <dir>', 'experiment folder (holds experiment.json and one folder per run with curve.csv)', (y) =>
      y.positional('dir', { type: 'string', demandOption: true, describe: 'experiment folder, e.g. results/wider' }),
    )
    .option('quiet', { type: 'boolean', default: false, describe: 'print only the summary table' })
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
  const { summaryMarkdown } = await drawExperimentFigures(dir, { log });
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
      console.error('usage: npm run figures -- <experiment dir>');
      process.exitCode = 2;
    } else {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exitCode = 1;
    }
  },
);
