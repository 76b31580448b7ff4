export { drawExperimentFigures } from './draw-experiment.ts';
export type { DrawExperimentOptions, DrawExperimentResult } from './draw-experiment.ts';
