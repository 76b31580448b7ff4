/** The experiments by name. */
import type { ExperimentDefinition, ExperimentName } from './definition.ts';
import { EXPERIMENT_NAMES } from './definition.ts';
import { DEEPER } from './deeper.ts';
import { EXPLORE } from './explore.ts';
import { WIDER } from './wider.ts';

export const EXPERIMENTS: Record<ExperimentName, ExperimentDefinition> = {
  wider: WIDER,
  deeper: DEEPER,
  explore: EXPLORE,
};
export { EXPERIMENT_NAMES };

export function isExperimentName(name: string): name is ExperimentName {
  return Object.hasOwn(EXPERIMENTS, name);
}
