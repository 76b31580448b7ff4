import type { CurveRow } from '../src/train/curve-log.ts';

/** The rows without their wall-clock columns (timing differs between runs; everything else must not). */
export const withoutWall = (rows: readonly CurveRow[]) =>
  rows.map(({ wall_s: _wall, train_wall_s: _train, eval_wall_s: _eval, ...rest }) => rest);
