/** The experiments by name. */
import type { ExperimentDefinition } from '../src/experiment/definition.ts';
import type { ExperimentName } from './names.ts';
import { DEEPER } from './deeper.ts';
import { EXPLORE } from './explore.ts';
import { GROWTH } from './growth.ts';
import { WIDER } from './wider.ts';

export const EXPERIMENTS: Record<ExperimentName, ExperimentDefinition> = {
  wider: WIDER,
  deeper: DEEPER,
  explore: EXPLORE,
  growth: GROWTH,
};
