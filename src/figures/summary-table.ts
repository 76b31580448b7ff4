/** The experiment's summary as a markdown table: one row per run, the teacher first. */
import type { ClaimResult } from '../analysis/claims.ts';
import type { ExperimentSummary, FiguresSummary } from '../analysis/experiment-summary.ts';
import type { RunStatistics, TeacherReference } from '../analysis/run-statistics.ts';
import type { MethodSummary } from '../analysis/seed-statistics.ts';
import type { Spread } from '../analysis/spread.ts';
import { growthRecoverySection } from './growth-recovery-table.ts';
import type { Saving } from '../analysis/compute-cost.ts';
import { formatMultiplyAdds } from '../analysis/compute-cost.ts';

export function formatAccuracy(value: number | null): string {
  return value === null ? '—' : `${(value * 100).toFixed(2)}%`;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '—';
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m ${String(s).padStart(2, '0')}s`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

function formatCount(value: number | null): string {
  return value === null ? '—' : Math.round(value).toLocaleString('en-US');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function stepsToTeacherCell(run: RunStatistics, teacher: TeacherReference | null): string {
  if (run.role === 'teacher') return '(teacher)';
  if (teacher === null || teacher.finalValAcc === null) return 'no teacher accuracy';
  if (run.stepsToTeacherValAcc === null) {
    return run.evaluations === 0 ? 'no evaluations' : `not reached (in ${formatCount(run.finalStep)})`;
  }
  return formatCount(run.stepsToTeacherValAcc);
}

export interface SeedSections {
  seeds: readonly (number | null)[];
  methods: readonly MethodSummary[];
  claims: readonly ClaimResult[];
  claimMargin: number;
}

function spreadCell(value: Spread | null): string {
  if (value === null) return '—';
  if (value.n === 1 || value.min === value.max) return formatAccuracy(value.mean);
  return `${formatAccuracy(value.mean)} (${formatAccuracy(value.min)}–${formatAccuracy(value.max)})`;
}

const stepsCell = (steps: readonly (number | null)[]) =>
  steps.length === 0 ? '—' : steps.map((s) => (s === null ? 'never' : formatCount(s))).join(' / ');

/** Each method over the seeds: mean (min–max) accuracies, minibatches per seed, accuracy after N minibatches. */
function methodsSection(sections: SeedSections): string[] {
  const margin = formatAccuracy(sections.claimMargin);
  const lines = [
    `## Convergence over seeds ${sections.seeds.map((s) => s ?? '?').join(', ')}`,
    '',
    `Accuracies are the mean (min–max) over seeds; minibatches are per seed, in seed order ("never": not within the run). ` +
      `The target of the last two minibatch columns is each seed's teacher's final validation accuracy, then that plus ${margin}.`,
    '',
    `| Method | Final val acc | Val acc at step 0 | Val acc after N minibatches | Minibatches to teacher | Minibatches to teacher + ${margin} |`,
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const m of sections.methods) {
    const after = m.accuracyAfter.map((a) => `${formatCount(a.steps)}: ${spreadCell(a.accuracy)}`).join('; ');
    lines.push(
      `| ${escapeCell(m.label)} | ${spreadCell(m.finalValAcc)} | ${spreadCell(m.stepZeroValAcc)} | ${after || '—'} | ` +
        `${m.role === 'teacher' ? '(teacher)' : stepsCell(m.stepsToTeacher)} | ` +
        `${m.role === 'teacher' ? '(teacher)' : stepsCell(m.stepsToTeacherPlusMargin)} |`,
    );
  }
  return lines;
}

const costCell = (values: readonly (number | null)[], format: (v: number) => string) =>
  values.length === 0 ? '—' : values.map((v) => (v === null ? 'never' : format(v))).join(' / ');

const savingCell = (savings: readonly Saving[]) =>
  savings
    .map((s) =>
      s.run === null
        ? 'never'
        : s.saved === null || (s.atLeast && s.saved <= 0)
          ? 'unknown'
          : `${s.atLeast ? '≥ ' : ''}${s.saved < 0 ? '−' : ''}${formatMultiplyAdds(Math.abs(s.saved))}`,
    )
    .join(' / ');

/** Training compute per method (only when the curves carry it): totals, cost to the targets, saved against random init. */
function computeSection(sections: SeedSections): string[] {
  const withCompute = sections.methods.filter((m) => m.compute !== undefined);
  if (withCompute.length === 0) return [];
  const margin = formatAccuracy(sections.claimMargin);
  const macs = (v: number) => formatMultiplyAdds(v);
  const seconds = (v: number) => `${v.toFixed(1)} s`;
  // Curves from before the compute columns have multiply-adds (recounted from config.json) but no wall seconds.
  const wallRecorded = withCompute.some((m) => m.compute!.totalWallSeconds.perSeed.some((v) => v !== null));
  const wallCell = (values: readonly (number | null)[]) => (wallRecorded ? costCell(values, seconds) : '—');
  const lines = [
    '## Training compute',
    '',
    "Per seed, in seed order: training multiply-adds (3 x the model's forward multiply-adds per image trained) and " +
      "training wall seconds (evaluations left out), each run's own (from 0). Saved against random init: random " +
      `init's multiply-adds to teacher + ${margin} less the run's, without and with the teacher's training added to the ` +
      'run\'s ("≥": random init never got there, its whole training counted; negative: the run cost more)' +
      (wallRecorded ? '.' : '. Wall seconds: not recorded (curves written before the compute columns).'),
    '',
    `| Method | Training multiply-adds | Training wall s | Multiply-adds to teacher | to teacher + ${margin} | Wall s to teacher + ${margin} | Saved vs random init | Saved, teacher counted |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const m of withCompute) {
    const c = m.compute!;
    const saved = c.savedAgainstRandomInit;
    const teacher = m.role === 'teacher';
    lines.push(
      `| ${escapeCell(m.label)} | ${costCell(c.totalMacs.perSeed, macs)} | ${wallCell(c.totalWallSeconds.perSeed)} | ` +
        `${teacher ? '(teacher)' : costCell(c.macsToTeacher.perSeed, macs)} | ` +
        `${teacher ? '(teacher)' : costCell(c.macsToTeacherPlusMargin.perSeed, macs)} | ` +
        `${teacher ? '(teacher)' : wallCell(c.wallSecondsToTeacherPlusMargin.perSeed)} | ` +
        `${saved ? `${savingCell(saved.uncharged)} (vs ${escapeCell(saved.against)})` : '—'} | ` +
        `${saved ? savingCell(saved.charged) : '—'} |`,
    );
  }
  return lines;
}

/** A summary.json written before `verdict` existed has only `held`. */
function verdictOf(claim: ClaimResult): string {
  return claim.verdict ?? (claim.held === null ? 'not tested' : claim.held ? 'held' : 'did not hold');
}

function claimsSection(claims: readonly ClaimResult[]): string[] {
  if (claims.length === 0) return [];
  const lines = ['## Paper claims', ''];
  for (const claim of claims) {
    lines.push(`- **${verdictOf(claim)}**: ${escapeCell(claim.claim)}`);
    if (claim.detail) lines.push(`  - ${escapeCell(claim.detail)}`);
    for (const line of claim.evidence) lines.push(`  - ${escapeCell(line)}`);
    if (claim.control) {
      lines.push(`  - beside it, the same claim for ${claim.control.run}: **${claim.control.verdict}**`);
      for (const line of claim.control.evidence) lines.push(`    - ${escapeCell(line)}`);
    }
  }
  return lines;
}

/** The markdown of a figures folder's summary.json: the runs' table, and the sections over seeds when it has them. */
export function figuresSummaryMarkdown(summary: FiguresSummary): string {
  const { seeds, methods, claims, claimMargin } = summary;
  if (seeds === undefined || methods === undefined) return summaryMarkdown(summary);
  return summaryMarkdown(summary, { seeds, methods, claims: claims ?? [], claimMargin: claimMargin ?? 0.01 });
}

export function summaryMarkdown(summary: ExperimentSummary, sections?: SeedSections): string {
  const lines: string[] = [];
  lines.push(`# ${summary.experiment}${summary.preset ? ` (preset ${summary.preset})` : ''}: summary`, '');
  const teacher = summary.teacher;
  if (teacher === null) {
    lines.push('No teacher run: minibatches to reach the teacher are not computed.', '');
  } else if (teacher.finalStep === null) {
    lines.push(`Teacher: ${teacher.label} — no evaluations yet.`, '');
  } else {
    lines.push(
      `Teacher: ${teacher.label} — final validation accuracy ${formatAccuracy(teacher.finalValAcc)}, ` +
        `final training accuracy ${formatAccuracy(teacher.finalTrainAcc)}, after ${formatCount(teacher.finalStep)} minibatches.`,
      '',
    );
  }
  lines.push(
    'Students count minibatches from the transform (step 0 is their evaluation right after it, before training). ' +
      '"Minibatches to teacher" is the step of the first evaluation at or above the teacher\'s final validation accuracy.',
    '',
  );
  const header = [
    'Method',
    'Role',
    'Final val acc',
    'Best val acc (step)',
    'Val acc at step 0',
    "Minibatches to teacher's val acc",
    'Minibatches run',
    'Images',
    'Wall time',
  ];
  lines.push(`| ${header.join(' | ')} |`);
  lines.push(`| ${header.map((_, index) => (index < 2 ? '---' : '---:')).join(' | ')} |`);
  for (const run of summary.runs) {
    const best = run.bestValAcc === null ? '—' : `${formatAccuracy(run.bestValAcc)} (${formatCount(run.bestValStep)})`;
    const cells = [
      escapeCell(run.label) +
        (run.seed !== undefined ? ` (seed ${run.seed ?? '?'})` : '') +
        (run.problems.length > 0 ? ' *' : ''),
      run.role,
      formatAccuracy(run.finalValAcc),
      best,
      formatAccuracy(run.stepZeroValAcc),
      stepsToTeacherCell(run, teacher),
      formatCount(run.finalStep),
      formatCount(run.images),
      formatDuration(run.wallSeconds),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const recovery = growthRecoverySection(summary, sections?.methods);
  if (recovery.length > 0) lines.push('', ...recovery);
  if (sections) {
    const compute = computeSection(sections);
    lines.push('', ...methodsSection(sections), ...(compute.length > 0 ? ['', ...compute] : []));
    lines.push('', ...claimsSection(sections.claims));
  }
  const problems = summary.runs.flatMap((run) => run.problems.map((problem) => `${run.label}: ${problem}`));
  if (problems.length > 0 || summary.notes.length > 0) {
    lines.push('', '\\* incomplete or partly unreadable data:', '');
    for (const note of [...summary.notes, ...problems]) lines.push(`- ${escapeCell(note)}`);
  }
  return lines.join('\n') + '\n';
}
