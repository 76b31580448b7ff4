/**
 * What a person sees when an experiment ends: the teacher, each method's final validation accuracy over the seeds,
 * the paper's claims with their verdicts, and where the figures and summaries are. The JSON is in summary.json
 * (and on stdout with --json).
 */
import { join } from 'node:path';
import type { ExperimentAnalysis } from '../analysis/experiment-analysis.ts';
import type { Spread } from '../analysis/spread.ts';
import { formatDuration } from '../figures/summary-table.ts';

const pct = (value: number) => `${(value * 100).toFixed(1)}%`;

function spreadText(value: Spread | null): string {
  if (value === null) return 'no evaluation';
  return value.n > 1 && value.min !== value.max
    ? `${pct(value.mean)} (${pct(value.min)}-${pct(value.max)})`
    : pct(value.mean);
}

function methodLines(analysis: ExperimentAnalysis): string[] {
  const width = Math.max(...analysis.methods.map((m) => m.label.length));
  return analysis.methods.map(
    (m) =>
      `  ${m.label.padEnd(width)}  ${spreadText(m.finalValAcc)}` +
      (m.role === 'teacher' ? '' : `, first evaluation ${spreadText(m.stepZeroValAcc)}`),
  );
}

function claimLines(analysis: ExperimentAnalysis): string[] {
  return analysis.claims.flatMap((claim) => [
    `  ${claim.verdict}: ${claim.claim}`,
    ...(claim.beat !== undefined || claim.verdict === 'not tested' ? [`    ${claim.detail}`] : []),
    ...(claim.control ? [`    the same for ${claim.control.run}: ${claim.control.verdict}`] : []),
  ]);
}

export interface ReportInput {
  out: string;
  wallSeconds: number;
  analysis?: ExperimentAnalysis;
  figuresDir?: string;
}

export function experimentReport({ out, wallSeconds, analysis, figuresDir }: ReportInput): string {
  if (analysis === undefined) return `Done in ${formatDuration(wallSeconds)}; runs in ${out} (no figures drawn)\n`;
  const { summary, seeds } = analysis;
  const seedText = `${seeds.length > 1 ? 'seeds' : 'seed'} ${seeds.map((s) => s ?? '?').join(', ')}`;
  const lines = [
    `${summary.experiment}${summary.preset ? ` (preset ${summary.preset})` : ''}, ${seedText}: ` +
      `done in ${formatDuration(wallSeconds)}`,
    '',
    `Final validation accuracy${seeds.length > 1 ? ', mean (min-max) over seeds' : ''}:`,
    ...methodLines(analysis),
  ];
  if (analysis.claims.length > 0) lines.push('', "The paper's claims:", ...claimLines(analysis));
  lines.push('', `Runs: ${out}`);
  if (figuresDir !== undefined)
    lines.push(
      `Figures: ${join(figuresDir, `${summary.experiment}-validation.png`)} (and -training, -validation-zoom)`,
      `Summary: ${join(figuresDir, 'summary.md')} (numbers per seed: summary.json)`,
    );
  return lines.join('\n') + '\n';
}
