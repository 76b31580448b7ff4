/**
 * The learning curve of one run, `curve.csv`: one row per evaluation. This module is its only codec: `CurveLog`
 * writes it (appending row by row; on resume it first cuts the file back to the rows the checkpoint recorded, so rows
 * written after that checkpoint by a killed process are neither lost nor duplicated), and `readCurveFile` reads it,
 * tolerantly: a run killed mid-way may leave no file, a header only, or a truncated last line. Every row that cannot
 * be used is skipped and described in `problems`, so a reader can use what exists and say what it left out.
 */
import { createObjectCsvWriter } from 'csv-writer';
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic-file.ts';

export const CURVE_CSV = 'curve.csv';

/** The compute columns (appended after running_acc); null where a curve written before them has none. */
export const COMPUTE_COLUMNS = ['train_macs', 'train_wall_s', 'eval_macs', 'eval_wall_s'] as const;

export const CURVE_COLUMNS = [
  'step',
  'images',
  'epoch',
  'train_loss',
  'train_acc',
  'val_loss',
  'val_acc',
  'lr',
  'wall_s',
  'running_loss',
  'running_acc',
  ...COMPUTE_COLUMNS,
] as const;

export type CurveColumn = (typeof CURVE_COLUMNS)[number];

/** Columns that curves written by earlier versions lack: read as empty, not reported. */
const ADDED_LATER: ReadonlySet<string> = new Set(['running_loss', 'running_acc', ...COMPUTE_COLUMNS]);

export type ComputeColumn = (typeof COMPUTE_COLUMNS)[number];

/**
 * One evaluation. `step` is always a finite number; any other value is null when its cell was empty or not a number
 * (the trainer writes every cell except the training loss and accuracy of the row before training).
 * - train_loss, train_acc: the fixed training sample in inference mode (the paper's "accuracy on the training set"),
 *   or, for a run configured without a sample, the same as running_loss/running_acc;
 * - running_loss, running_acc: mean over the minibatches since the previous row, in training mode on augmented data;
 * - lr: the learning rate of the last step before this row (of the first step, for a row at step 0);
 * - wall_s: seconds of this run's wall-clock time, summed over resumed sessions.
 * - train_macs: multiply-adds of training so far, images trained x 3 x the model's forward multiply-adds per image
 *   (forward pass, plus two for the backward pass: input and weight gradients; src/models/counts.ts);
 * - eval_macs: multiply-adds of every evaluation so far, this row's included: forward passes only, one per image
 *   evaluated (the validation set, the fixed training sample, and the sample again for the precise-BatchNorm
 *   re-estimation when the run uses it);
 * - eval_wall_s: wall seconds of those evaluations (summed over resumed sessions);
 * - train_wall_s: wall_s - eval_wall_s: everything else (steps, waiting for data, checkpoints).
 * Curves written before the compute columns read them as null (see run-folder/experiment-curves.ts for train_macs
 * recomputed from a run's config.json).
 */
export type CurveRow = { step: number } & { [K in Exclude<CurveColumn, 'step'>]: number | null };

export interface CurveFile {
  path: string;
  /** Rows sorted by step; when a step appears more than once (a resumed run), the row written last wins. */
  rows: CurveRow[];
  /** Human-readable reasons for anything missing or skipped; empty when the file was complete and clean. */
  problems: string[];
}

type CsvRecord = Record<CurveColumn, string>;

function formatRow(row: CurveRow): CsvRecord {
  const fixed = (v: number | null, digits: number) => (v === null ? '' : v.toFixed(digits));
  const count = (v: number | null) => (v === null ? '' : String(Math.round(v)));
  return {
    step: String(row.step),
    images: row.images === null ? '' : String(row.images),
    epoch: fixed(row.epoch, 6),
    train_loss: fixed(row.train_loss, 6),
    train_acc: fixed(row.train_acc, 6),
    val_loss: fixed(row.val_loss, 6),
    val_acc: fixed(row.val_acc, 6),
    lr: row.lr === null ? '' : row.lr.toPrecision(6),
    wall_s: fixed(row.wall_s, 2),
    running_loss: fixed(row.running_loss, 6),
    running_acc: fixed(row.running_acc, 6),
    train_macs: count(row.train_macs),
    train_wall_s: fixed(row.train_wall_s, 2),
    eval_macs: count(row.eval_macs),
    eval_wall_s: fixed(row.eval_wall_s, 2),
  };
}

function formatLine(row: CurveRow): string {
  const record = formatRow(row);
  return CURVE_COLUMNS.map((column) => record[column]).join(',');
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
  const missingColumns = CURVE_COLUMNS.filter((name) => !columnIndex.has(name) && !ADDED_LATER.has(name));
  if (missingColumns.length > 0) problems.push(`${path}: header lacks column(s) ${missingColumns.join(', ')}`);

  const byStep = new Map<number, CurveRow>();
  let replaced = 0;
  for (let lineIndex = 1; lineIndex < lines.length; lineIndex++) {
    const line = lines[lineIndex]!;
    if (line.trim() === '') continue;
    const cells = line.split(',');
    if (cells.length !== header.length) {
      const truncated = lineIndex === lines.length - 1 && !endsWithNewline;
      const why = truncated ? ' (truncated last line: run killed while writing?)' : '';
      problems.push(`${path} line ${lineIndex + 1}: ${cells.length} fields, header has ${header.length}${why}`);
      continue;
    }
    const value = (name: CurveColumn): number | null => {
      const index = columnIndex.get(name);
      const cell = index === undefined ? '' : cells[index]!.trim();
      const parsed = cell === '' ? NaN : Number(cell);
      return Number.isFinite(parsed) ? parsed : null;
    };
    const step = value('step');
    if (step === null) {
      problems.push(`${path} line ${lineIndex + 1}: step "${cells[columnIndex.get('step')!]}" is not a number`);
      continue;
    }
    if (byStep.has(step)) replaced++;
    const row = Object.fromEntries(CURVE_COLUMNS.map((column) => [column, value(column)])) as CurveRow;
    byStep.set(step, row);
  }
  if (replaced > 0) problems.push(`${path}: ${replaced} repeated step(s) (resumed run?); kept the rows written last`);
  const rows = [...byStep.values()].sort((a, b) => a.step - b.step);
  if (rows.length === 0 && problems.length === 0) problems.push(`${path} has a header but no evaluations yet`);
  return { path, rows, problems };
}

export class CurveLog {
  private rows: number;
  private readonly writer: ReturnType<typeof createObjectCsvWriter>;

  /**
   * Opens the curve of a run. `keepRows` = null starts a new file (header only); a number keeps the header and that
   * many rows of an existing file and drops the rest (resume).
   */
  constructor(
    readonly path: string,
    keepRows: number | null,
  ) {
    const header = CURVE_COLUMNS.join(',');
    if (keepRows === null || !existsSync(path)) {
      if (keepRows !== null && keepRows > 0)
        throw new Error(`cannot resume '${path}': the checkpoint recorded ${keepRows} rows but the file is missing`);
      writeFileAtomic(path, header + '\n');
      this.rows = 0;
    } else {
      const existing = readCurveFile(path);
      if (existing.rows.length < keepRows)
        throw new Error(
          `cannot resume '${path}': the checkpoint recorded ${keepRows} rows but the file has ` +
            `${existing.rows.length} readable ones${existing.problems.length > 0 ? ` (${existing.problems.join('; ')})` : ''}`,
        );
      const kept = existing.rows.slice(0, keepRows).map(formatLine);
      writeFileAtomic(path, [header, ...kept].join('\n') + '\n');
      this.rows = keepRows;
    }
    this.writer = createObjectCsvWriter({
      path,
      header: CURVE_COLUMNS.map((id) => ({ id, title: id })),
      append: true,
    });
  }

  get rowCount(): number {
    return this.rows;
  }

  async append(row: CurveRow): Promise<void> {
    await this.writer.writeRecords([formatRow(row)]);
    this.rows += 1;
  }
}
