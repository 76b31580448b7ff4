/** The batch's final summary: one row per job of the jobs file (name, status, exit code, duration, log). */
import type { JobStatus } from './batch-state.ts';

export interface BatchSummaryRow {
  name: string;
  status: JobStatus;
  /** False for a job skipped because an earlier batch run finished it. */
  ranThisTime: boolean;
  attempts: number;
  exitCode: number | null;
  signal: string | null;
  durationSeconds: number | null;
  log: string;
  error: string | null;
}

function duration(seconds: number | null): string {
  if (seconds === null) return '—';
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0
    ? `${h}h${String(m).padStart(2, '0')}m${String(s).padStart(2, '0')}s`
    : m > 0
      ? `${m}m${String(s).padStart(2, '0')}s`
      : `${s}s`;
}

function statusCell(row: BatchSummaryRow): string {
  const base = row.status === 'done' && !row.ranThisTime ? 'done (earlier run)' : row.status;
  return row.error ? `${base}: ${row.error}` : base;
}

function exitCell(row: BatchSummaryRow): string {
  if (row.exitCode !== null) return String(row.exitCode);
  return row.signal ?? '—';
}

/** A markdown table whose columns are padded, so it reads the same in a terminal. */
export function batchSummaryTable(rows: readonly BatchSummaryRow[]): string {
  const header = ['Job', 'Status', 'Exit code', 'Attempts', 'Duration', 'Log'];
  const body = rows.map((row) => [
    row.name,
    statusCell(row).replace(/\|/g, '\\|'),
    exitCell(row),
    String(row.attempts),
    duration(row.durationSeconds),
    row.log,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((cells) => cells[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.status, (counts.get(row.status) ?? 0) + 1);
  const tally = [...counts].map(([status, count]) => `${count} ${status}`).join(', ');
  return [
    line(header),
    `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`,
    ...body.map(line),
    '',
    `${rows.length} job(s): ${tally}`,
  ].join('\n');
}
