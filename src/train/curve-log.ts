/**
 * The learning curve of one run: `curve.csv`, one row per evaluation. Written with csv-writer, appended row by row.
 * On resume the file is first cut back to the rows the checkpoint recorded, so rows written after that checkpoint
 * by the killed process are neither lost (they are recomputed) nor duplicated.
 */
import { createObjectCsvWriter } from 'csv-writer';
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic-file.ts';

export const CURVE_CSV = 'curve.csv';

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
] as const;

export type CurveColumn = (typeof CURVE_COLUMNS)[number];

export interface CurveRow {
  step: number;
  images: number;
  epoch: number;
  /** Mean training loss and accuracy over the minibatches since the previous row; null for a row before training. */
  train_loss: number | null;
  train_acc: number | null;
  val_loss: number;
  val_acc: number;
  /** The learning rate of the last step before this row (of the first step, for a row at step 0). */
  lr: number;
  /** Seconds of this run's wall-clock time, summed over resumed sessions. */
  wall_s: number;
}

type CsvRecord = Record<CurveColumn, string>;

function formatRow(row: CurveRow): CsvRecord {
  const fixed = (v: number | null, digits: number) => (v === null ? '' : v.toFixed(digits));
  return {
    step: String(row.step),
    images: String(row.images),
    epoch: row.epoch.toFixed(6),
    train_loss: fixed(row.train_loss, 6),
    train_acc: fixed(row.train_acc, 6),
    val_loss: fixed(row.val_loss, 6),
    val_acc: fixed(row.val_acc, 6),
    lr: row.lr.toPrecision(6),
    wall_s: row.wall_s.toFixed(2),
  };
}

/** Parses a curve.csv written by CurveLog (numbers; empty cells become null). */
export function readCurve(path: string): CurveRow[] {
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  if (lines.length === 0) return [];
  const header = lines[0].split(',');
  if (header.join(',') !== CURVE_COLUMNS.join(','))
    throw new Error(`'${path}' does not have the curve header '${CURVE_COLUMNS.join(',')}' (found '${lines[0]}')`);
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    if (cells.length !== CURVE_COLUMNS.length)
      throw new Error(`'${path}' row ${i + 1} has ${cells.length} cells, expected ${CURVE_COLUMNS.length}`);
    const value = (c: string) => (c === '' ? null : Number(c));
    const row = Object.fromEntries(CURVE_COLUMNS.map((col, j) => [col, value(cells[j])]));
    return row as unknown as CurveRow;
  });
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
    const header = CURVE_COLUMNS.join(',') + '\n';
    if (keepRows === null || !existsSync(path)) {
      if (keepRows !== null && keepRows > 0)
        throw new Error(`cannot resume '${path}': the checkpoint recorded ${keepRows} rows but the file is missing`);
      writeFileAtomic(path, header);
      this.rows = 0;
    } else {
      const lines = readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.length > 0);
      if (lines[0] !== CURVE_COLUMNS.join(','))
        throw new Error(`cannot resume '${path}': its header is '${lines[0] ?? ''}', not '${CURVE_COLUMNS.join(',')}'`);
      if (lines.length - 1 < keepRows)
        throw new Error(
          `cannot resume '${path}': the checkpoint recorded ${keepRows} rows but the file has ${lines.length - 1}`,
        );
      writeFileAtomic(path, [header.trimEnd(), ...lines.slice(1, keepRows + 1)].join('\n') + '\n');
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
