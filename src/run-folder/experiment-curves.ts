/** An experiment folder's runs as written: its manifest and each run's curve.csv (tolerantly read). */
import { join, resolve } from 'node:path';
import { CURVE_CSV, readCurveFile } from '../train/curve-log.ts';
import type { CurveFile } from '../train/curve-log.ts';
import type { ExperimentManifest, RunDescription } from './experiment-manifest.ts';
import { readExperimentManifest } from './experiment-manifest.ts';

export interface ExperimentCurves {
  manifest: ExperimentManifest;
  curves: { run: RunDescription; curve: CurveFile }[];
}

export function readExperimentCurves(experimentDir: string): ExperimentCurves {
  const dir = resolve(experimentDir);
  const manifest = readExperimentManifest(experimentDir);
  const curves = manifest.runs.map((run) => ({
    run,
    curve: readCurveFile(join(dir, run.run, CURVE_CSV), `${run.run}/${CURVE_CSV}`),
  }));
  return { manifest, curves };
}
