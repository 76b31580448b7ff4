export { drawExperimentFigures } from './draw-experiment.ts';
export type { DrawExperimentOptions, DrawExperimentResult } from './draw-experiment.ts';
export { FiguresInputError, readExperimentManifest } from './experiment-manifest.ts';
export type { ExperimentManifest, ManifestRun, RunRole } from './experiment-manifest.ts';
export { readCurveFile, parseCurveCsv, CURVE_COLUMNS } from './curve-file.ts';
export type { CurveFile, CurveRow } from './curve-file.ts';
export type { RunStatistics, TeacherReference } from './run-statistics.ts';
export type { ExperimentSummary } from './summary-table.ts';
