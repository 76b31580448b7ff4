/**
 * Reads a run's curve.csv (one row per evaluation: step, images, epoch, train_loss, train_acc, val_loss, val_acc, lr,
 * wall_s) tolerantly: a run killed mid-way may leave no file, a header only, or a truncated last line. Every row that
 * cannot be used is skipped and described in `problems`, so the caller can draw what exists and say what it left out.
 */
import { existsSync, readFileSync } from 'node:fs';
import { CURVE_COLUMNS, type CurveColumn } from '../train/curve-log.ts';

export { CURVE_COLUMNS };

/** One evaluation. `step` is always a finite number; any other value is null when the cell was empty or not a number. */
export type CurveRow = { step: number } & { [K in Exclude<CurveColumn, 'step'>]: number | null };

export interface CurveFile {
  path: string;
  /** Rows sorted by step; when a step appears more than once (a resumed run), the row written last wins. */
  rows: CurveRow[];
  /** Human-readable reasons for anything missing or skipped; empty when the file was complete and clean. */
  problems: string[];
}

/** `shownPath` names the file in problems (e.g. relative to the experiment folder); default `path`. */
export function readCurveFile(path: string, shownPath = path): CurveFile {
  if (!existsSync(path)) return { path, rows: [], problems: [`${shownPath} does not exist (run not started?)`] };
  return { ...parseCurveCsv(readFileSync(path, 'utf8'), shownPath), path };
}

export function parseCurveCsv(text: string, path: string): CurveFile {
  const problems: string[] = [];
  const lines = text.split(/\r?\n/);
  const endsWithNewline = text.endsWith('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0 || lines[0]!.trim() === '') {
    return { path, rows: [], problems: [`${path} is empty (run killed before its first evaluation?)`] };
  }
  const header = lines[0]!.split(',').map((name) => name.trim());
  const columnIndex = new Map<string, number>(header.map((name, index) => [name, index]));
  for (const required of ['step', 'val_acc'] as const) {
    if (!columnIndex.has(required)) {
      return {
        path,
        rows: [],
        problems: [`${path}: header has no "${required}" column (header: ${lines[0]}; expected ${CURVE_COLUMNS})`],
      };
    }
  }
  const missingColumns = CURVE_COLUMNS.filter((name) => !columnIndex.has(name));
  if (missingColumns.length > 0) problems.push(`${path}: header lacks column(s) ${missingColumns.join(', ')}`);

  const byStep = new Map<number, CurveRow>();
  let replaced = 0;
  for (let lineIndex = 1; lineIndex < lines.length; lineIndex++) {
    const line = lines[lineIndex]!;
    if (line.trim() === '') continue;
    const cells = line.split(',');
    const isLastLine = lineIndex === lines.length - 1;
    if (cells.length !== header.length) {
      const why = isLastLine && !endsWithNewline ? ' (truncated last line: run killed while writing?)' : '';
      problems.push(`${path} line ${lineIndex + 1}: ${cells.length} fields, header has ${header.length}${why}`);
      continue;
    }
    const value = (name: CurveColumn): number | null => {
      const index = columnIndex.get(name);
      if (index === undefined) return null;
      const cell = cells[index]!.trim();
      if (cell === '') return null;
      const parsed = Number(cell);
      return Number.isFinite(parsed) ? parsed : null;
    };
    const step = value('step');
    if (step === null) {
      problems.push(`${path} line ${lineIndex + 1}: step "${cells[columnIndex.get('step')!]}" is not a number`);
      continue;
    }
    if (byStep.has(step)) replaced++;
    byStep.set(step, {
      step,
      images: value('images'),
      epoch: value('epoch'),
      train_loss: value('train_loss'),
      train_acc: value('train_acc'),
      val_loss: value('val_loss'),
      val_acc: value('val_acc'),
      lr: value('lr'),
      wall_s: value('wall_s'),
    });
  }
  if (replaced > 0) problems.push(`${path}: ${replaced} repeated step(s) (resumed run?); kept the rows written last`);
  const rows = [...byStep.values()].sort((a, b) => a.step - b.step);
  if (rows.length === 0 && problems.length === 0) {
    problems.push(`${path} has a header but no evaluations yet`);
  }
  return { path, rows, problems };
}
