/** The library's public exports. */
export { selectBackend, describeBackend, BACKEND_CHOICES } from './backend/backend.ts';
export type { BackendChoice, BackendInfo } from './backend/backend.ts';
export { saveModel, loadModel } from './models/model-files.ts';

// Net2Net operators (src/net2net).
export { wider, randomPad } from './net2net/wider.ts';
export type { WiderOptions } from './net2net/wider.ts';
export { deeper, identityConvKernel } from './net2net/deeper.ts';
export type { DeeperSpec, DeeperOptions } from './net2net/deeper.ts';
export { scaleWidth, widthTargets } from './net2net/width-targets.ts';
export type { ScaleWidthOptions } from './net2net/width-targets.ts';
export { checkPreserved, DEFAULT_TOLERANCE } from './net2net/check.ts';
export type { CheckOptions, CheckResult } from './net2net/check.ts';
export type { NoiseSpec } from './net2net/noise.ts';
export type {
  TransformRecord,
  WidthRecord,
  DeeperRecord,
  InsertRecord,
  InsertStatistics,
  RecordSink,
} from './net2net/transform-record.ts';
export type { ResolvedGroup } from './net2net/remapping.ts';
export { mapOptimizerState } from './net2net/optimizer-state.ts';
export type { OptimizerSlot, OptimizerStateMapping, MomentumRule } from './net2net/optimizer-state.ts';

// Models (src/models).
export { buildModel, MODEL_NAMES } from './models/registry.ts';
export type { ModelName, ModelOptions } from './models/registry.ts';
export { countParams, countMultiplyAdds, summarize } from './models/counts.ts';
export type { ModelSummary, LayerSummary } from './models/counts.ts';
export { describeArchitecture, architectureDifference } from './models/architecture.ts';
export { extraPairInserts, topPairInserts } from './models/student-inserts.ts';

// Datasets (src/data).
export { openDataset, parseDataSpec } from './data/open-dataset.ts';
export type { OpenDatasetOptions, DataSpec } from './data/open-dataset.ts';
export type { Dataset, Batch, InputShape, TrainBatchOptions } from './data/dataset.ts';

// Training (src/train).
export { LocalStepEngine } from './train/local-step-engine.ts';
export type { StepEngine, StepResult, RmsPropConfig } from './train/step-engine.ts';

// Figures (src/figures).
export { drawExperimentFigures } from './figures/index.ts';
