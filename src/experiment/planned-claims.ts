/**
 * The claims experiment.json lists: the definition's, with what it leaves to the runner filled from the methods the
 * preset affords (whatever `--runs` selected this session): `converges-faster` without `than` compares with every
 * baseline, and `ahead-of-scratch` is checked for the teacher trained further too.
 */
import type { ClaimSpec } from '../run-folder/claim-spec.ts';
import type { ExperimentDefinition, Preset } from './definition.ts';

export function plannedClaims(definition: ExperimentDefinition, preset: Preset): ClaimSpec[] {
  const afforded = definition.methods.filter((m) => m.enabled?.(preset) ?? true);
  const baselines = afforded.filter((m) => m.role === 'baseline').map((m) => m.run);
  const control = afforded.find((m) => m.continuesTeacher)?.run;
  return (definition.claims ?? []).map((spec): ClaimSpec => {
    if (spec.kind === 'converges-faster' && spec.than === undefined) return { ...spec, than: baselines };
    if (spec.kind === 'ahead-of-scratch' && spec.control === undefined && control !== undefined)
      return { ...spec, control };
    return spec;
  });
}
