/**
 * The claims experiment.json lists: the definition's, with what it leaves to the runner filled from the methods the
 * preset affords (whatever `--runs` selected this session): `converges-faster` without `than` compares with every
 * baseline, and `ahead-of-scratch` is checked for the teacher trained further too. `starts-at-teacher` is a claim
 * about an exact transform: for a method that takes noise it names only the runs at exact noise (none, zero-sum),
 * since the paper's Gaussian noise changes the function on purpose, and is left out when every run's noise is one.
 */
import { isExactNoise } from '../net2net/noise.ts';
import type { ClaimSpec } from '../run-folder/claim-spec.ts';
import type { ExperimentDefinition, Preset } from './definition.ts';
import type { GrowthSettings } from './run-plan.ts';
import { defaultGrowthSettings, selectMethodRuns } from './run-plan.ts';

export function plannedClaims(
  definition: ExperimentDefinition,
  preset: Preset,
  growth: GrowthSettings = defaultGrowthSettings(definition),
): ClaimSpec[] {
  const afforded = definition.methods.filter((m) => m.enabled?.(preset) ?? true);
  const baselines = afforded.filter((m) => m.role === 'baseline').map((m) => m.run);
  const control = afforded.find((m) => m.continuesTeacher)?.run;
  return (definition.claims ?? []).flatMap((spec): ClaimSpec[] => {
    if (spec.kind === 'converges-faster' && spec.than === undefined) return [{ ...spec, than: baselines }];
    if (spec.kind === 'ahead-of-scratch' && spec.control === undefined && control !== undefined)
      return [{ ...spec, control }];
    if (spec.kind === 'starts-at-teacher') return exactRuns(definition, preset, growth, spec);
    return [spec];
  });
}

/**
 * A `starts-at-teacher` claim on the runs of its method at exact noise: unchanged when every run's noise is exact (or
 * the method takes none), one claim per exact run when the noise list mixes exact and Gaussian, none when it is all
 * Gaussian.
 */
function exactRuns(
  definition: ExperimentDefinition,
  preset: Preset,
  growth: GrowthSettings,
  spec: Extract<ClaimSpec, { kind: 'starts-at-teacher' }>,
): ClaimSpec[] {
  const runs = selectMethodRuns(definition, preset, undefined, growth).filter((r) => r.method.run === spec.run);
  if (runs.length === 0 || !runs[0]!.method.takesNoise || runs.every((r) => isExactNoise(r.noise))) return [spec];
  return runs.filter((r) => isExactNoise(r.noise)).map((r) => ({ ...spec, run: r.run }));
}
