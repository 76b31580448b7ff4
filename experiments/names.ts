/** The experiments' names, apart from their definitions: the CLI checks its arguments before TensorFlow.js loads. */
export const EXPERIMENT_NAMES = ['wider', 'deeper', 'explore', 'growth'] as const;
export type ExperimentName = (typeof EXPERIMENT_NAMES)[number];
