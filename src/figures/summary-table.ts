/** The experiment's summary as a markdown table: one row per run, the teacher first. */
import type { ExperimentSummary } from '../run-folder/experiment-summary.ts';
import type { RunStatistics, TeacherReference } from '../run-folder/run-statistics.ts';

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

export function summaryMarkdown(summary: ExperimentSummary): string {
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
      escapeCell(run.label) + (run.problems.length > 0 ? ' *' : ''),
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
  const problems = summary.runs.flatMap((run) => run.problems.map((problem) => `${run.label}: ${problem}`));
  if (problems.length > 0 || summary.notes.length > 0) {
    lines.push('', '\\* incomplete or partly unreadable data:', '');
    for (const note of [...summary.notes, ...problems]) lines.push(`- ${escapeCell(note)}`);
  }
  return lines.join('\n') + '\n';
}
