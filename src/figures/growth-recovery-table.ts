/** summary.md's "After growth" section: each run's dip, recovery and loss slope (src/analysis/growth-recovery.ts). */
import type { ExperimentSummary } from '../analysis/experiment-summary.ts';
import type { GrowthRecovery, MethodGrowthRecovery } from '../analysis/growth-recovery.ts';
import type { MethodSummary } from '../analysis/seed-statistics.ts';
import type { Spread } from '../analysis/spread.ts';

const points = (value: number) => `${(value * 100).toFixed(2)} pt`;
/** Loss slopes are shown per 100 minibatches. */
const slope = (value: number | null) => (value === null ? '—' : (value * 100).toFixed(4));
const steps = (value: number | null) => (value === null ? 'never' : value.toLocaleString('en-US'));
const escapeCell = (text: string) => text.replace(/\|/g, '\\|');

const DEFINITIONS =
  'First evaluations: those at steps up to a quarter of the run (at least its first 3). Dip: the largest drop of ' +
  "validation accuracy below the teacher's final one among them (at the step given). Recovered: the first step at " +
  "or after the dip with validation accuracy back at the teacher's (0: no dip; never: not within the run). Loss " +
  'slopes: least-squares slope of validation loss over the first evaluations, per 100 minibatches, beside the ' +
  "teacher trained further's in the same seed.";

function runCells(r: GrowthRecovery): string[] {
  return [
    `${points(r.dip)} (step ${r.dipStep})`,
    steps(r.stepsToRecover),
    slope(r.lossSlope),
    slope(r.referenceLossSlope),
  ];
}

function spreadPoints(value: Spread | null): string {
  if (value === null) return '—';
  return value.n === 1 || value.min === value.max
    ? points(value.mean)
    : `${points(value.mean)} (${points(value.min)}–${points(value.max)})`;
}

function spreadSlope(value: Spread | null): string {
  if (value === null) return '—';
  return value.n === 1 || value.min === value.max
    ? slope(value.mean)
    : `${slope(value.mean)} (${slope(value.min)} to ${slope(value.max)})`;
}

function methodCells(m: MethodGrowthRecovery): string[] {
  if (m.perSeed.length === 1) return m.perSeed[0] ? runCells(m.perSeed[0]) : ['—', '—', '—', '—'];
  const perSeed = (pick: (r: GrowthRecovery) => string) => m.perSeed.map((r) => (r ? pick(r) : '—')).join(' / ');
  return [
    `${spreadPoints(m.dip)}; ${perSeed((r) => `${points(r.dip)} @${r.dipStep}`)}`,
    m.stepsToRecover.map(steps).join(' / '),
    m.lossSlope === null ? '—' : `${spreadSlope(m.lossSlope)}; ${perSeed((r) => slope(r.lossSlope))}`,
    spreadSlope(m.referenceLossSlope),
  ];
}

/** One seed: a row per run; several (`methods`): a row per run with the mean (min–max) and the per-seed values. */
export function growthRecoverySection(summary: ExperimentSummary, methods?: readonly MethodSummary[]): string[] {
  const rows = methods
    ? methods.flatMap((m) => (m.growthRecovery ? [[escapeCell(m.label), ...methodCells(m.growthRecovery)]] : []))
    : summary.runs.flatMap((r) => (r.growthRecovery ? [[escapeCell(r.label), ...runCells(r.growthRecovery)]] : []));
  if (rows.length === 0) return [];
  const seedsNote =
    methods && methods.some((m) => (m.growthRecovery?.perSeed.length ?? 0) > 1)
      ? ' Over seeds: mean (min–max), then each seed in order.'
      : '';
  return [
    '## After growth',
    '',
    DEFINITIONS + seedsNote,
    '',
    '| Run | Dip below teacher | Minibatches to recover | Val loss slope /100 minibatches | Teacher trained further |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows.map((cells) => `| ${cells.join(' | ')} |`),
  ];
}
