/**
 * An experiment folder's runs as written: its manifest and each run's curve.csv (tolerantly read). A curve written
 * before curve.csv had its compute columns gets `train_macs` recomputed from the run's config.json (the model it
 * describes, built once to count its forward multiply-adds, times 3 per image trained: what the trainer writes now);
 * the evaluation and wall-time columns cannot be recomputed and stay null (unavailable).
 */
import { join, resolve } from 'node:path';
import { buildModel } from '../models/registry.ts';
import { countMultiplyAdds, trainingMultiplyAdds } from '../models/counts.ts';
import { CURVE_CSV, readCurveFile } from '../train/curve-log.ts';
import type { CurveFile } from '../train/curve-log.ts';
import type { ExperimentManifest, RunDescription } from './experiment-manifest.ts';
import { readExperimentManifest } from './experiment-manifest.ts';
import { readRunConfig, stableJson } from './run-config.ts';

export interface ExperimentCurves {
  manifest: ExperimentManifest;
  curves: { run: RunDescription; curve: CurveFile }[];
}

/** Forward multiply-adds per image by the model part of a config (stable JSON): each architecture is built once. */
const forwardByModel = new Map<string, number | null>();

/** The forward multiply-adds per image of the model a run's config.json describes; null without one or on failure. */
export function forwardMultiplyAddsFromConfig(runDir: string): number | null {
  const config = readRunConfig(runDir);
  if (config === null) return null;
  const key = stableJson(config.model);
  if (!forwardByModel.has(key)) {
    let count: number | null = null;
    try {
      const model = buildModel(config.model.family, config.model.options);
      count = countMultiplyAdds(model);
      model.dispose();
    } catch {
      count = null;
    }
    forwardByModel.set(key, count);
  }
  return forwardByModel.get(key)!;
}

/** The curve with `train_macs` filled from the run's config where the file has none (see the top of this file). */
function withTrainingCompute(runDir: string, curve: CurveFile): CurveFile {
  if (curve.rows.every((row) => row.train_macs !== null)) return curve;
  const forward = forwardMultiplyAddsFromConfig(runDir);
  if (forward === null) return curve;
  const rows = curve.rows.map((row) =>
    row.train_macs !== null || row.images === null
      ? row
      : { ...row, train_macs: trainingMultiplyAdds(forward, row.images) },
  );
  return { ...curve, rows };
}

export function readExperimentCurves(experimentDir: string): ExperimentCurves {
  const dir = resolve(experimentDir);
  const manifest = readExperimentManifest(experimentDir);
  const curves = manifest.runs.map((run) => ({
    run,
    curve: withTrainingCompute(
      join(dir, run.run),
      readCurveFile(join(dir, run.run, CURVE_CSV), `${run.run}/${CURVE_CSV}`),
    ),
  }));
  return { manifest, curves };
}
