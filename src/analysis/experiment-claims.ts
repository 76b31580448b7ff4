/**
 * The claims of an experiment folder's manifest, resolved against its runs and checked over every seed the
 * experiment ran (a seed whose folder never started counts as lacking every run).
 */
import type { ClaimSpec } from '../run-folder/claim-spec.ts';
import type { RunDescription } from '../run-folder/experiment-manifest.ts';
import type { SeedReading } from '../run-folder/seed-folders.ts';
import type { CurveRow } from '../train/curve-log.ts';
import { methodOfRun } from '../run-folder/run-name.ts';
import type { ClaimResult, RunCurves, SeedCurves } from './claims.ts';
import { checkClaims } from './claims.ts';
import type { CurvePoint } from './convergence.ts';
import { runsOf } from './seed-statistics.ts';
import { costCurve, randomInitFor } from './compute-cost.ts';

/** The name of a run without its settings: `random-pad@lr0.002@state=transfer` -> `random-pad`. */
const methodOf = methodOfRun;

/**
 * Fills what a manifest written by an older runner leaves open: a `converges-faster` claim without `than` compares
 * with every baseline method of the folder, and `ahead-of-scratch` gets the teacher trained further as its control.
 */
export function resolveClaims(specs: readonly ClaimSpec[], runs: readonly RunDescription[]): ClaimSpec[] {
  const baselines = [...new Set(runs.filter((r) => r.role === 'baseline').map((r) => methodOf(r.run)))];
  return specs.map((spec): ClaimSpec => {
    if (spec.kind === 'converges-faster' && spec.than === undefined) return { ...spec, than: baselines };
    if (spec.kind === 'ahead-of-scratch' && spec.control === undefined && baselines.includes('teacher-continued'))
      return { ...spec, control: 'teacher-continued' };
    if (spec.kind === 'saves-compute' && spec.than === undefined) {
      const than = randomInitFor(
        spec.run,
        runs.map((r) => r.run),
      );
      return than === null ? spec : { ...spec, than };
    }
    return spec;
  });
}

/**
 * A claim about a method that sweeps settings (`net2wider` with runs `net2wider@lr0.005`, `net2wider@state=transfer`,
 * ...) becomes one claim per run, compared with each baseline's run at as many of the same settings as it sweeps
 * (`random-pad@lr0.005` for `net2wider@lr0.005@noise=none`; the baseline itself where it sweeps none).
 */
export function expandClaims(specs: readonly ClaimSpec[], runNames: readonly string[]): ClaimSpec[] {
  const names = new Set(runNames);
  const at = (name: string, suffix: string) => {
    const settings = new Set(suffix.split('@').slice(1));
    const matching = runNames.filter(
      (n) =>
        methodOf(n) === name &&
        n
          .split('@')
          .slice(1)
          .every((setting) => settings.has(setting)),
    );
    const best = matching.sort((a, b) => b.split('@').length - a.split('@').length)[0];
    return best ?? (names.has(name + suffix) ? name + suffix : name);
  };
  return specs.flatMap((spec) => {
    if (names.has(spec.run)) return [spec];
    const suffixes = runNames.filter((n) => n.startsWith(`${spec.run}@`)).map((n) => n.slice(spec.run.length));
    return suffixes.map((suffix): ClaimSpec => {
      const run = spec.run + suffix;
      switch (spec.kind) {
        case 'converges-faster':
          return { ...spec, run, ...(spec.than ? { than: spec.than.map((t) => at(t, suffix)) } : {}) };
        case 'ahead-at-every-evaluation':
          return { ...spec, run, than: spec.than.map((t) => at(t, suffix)) };
        case 'ends-above':
          return { ...spec, run, than: at(spec.than, suffix) };
        default:
          return { ...spec, run };
      }
    });
  });
}

const pointsOf = (rows: readonly CurveRow[], pick: (row: CurveRow) => number | null): CurvePoint[] =>
  rows.flatMap((row) => {
    const accuracy = pick(row);
    return accuracy === null ? [] : [{ step: row.step, accuracy }];
  });

const runCurves = (rows: readonly CurveRow[]): RunCurves => ({
  validation: pointsOf(rows, (row) => row.val_acc),
  training: pointsOf(rows, (row) => row.train_acc),
  compute: costCurve(rows, 'compute'),
});

const NO_CURVES: RunCurves = { validation: [], training: [] };

function seedCurves(seed: number, reading: SeedReading['reading'] | undefined): SeedCurves {
  if (reading === undefined) return { seed, teacher: NO_CURVES, runs: new Map() };
  const rowsOf = (run: string | undefined) => reading.curves.find((c) => c.run.run === run)?.curve.rows ?? [];
  return {
    seed,
    teacher: runCurves(rowsOf(reading.manifest.teacherRun)),
    runs: new Map(reading.curves.map(({ run, curve }) => [run.run, runCurves(curve.rows)])),
  };
}

/** The manifest's claims checked on every seed of `experimentSeeds` (default: the seeds read). */
export function claimsAcrossSeeds(
  seeds: readonly SeedReading[],
  margin: number,
  experimentSeeds: readonly number[] = seeds.map((s) => s.seed ?? 0),
): ClaimResult[] {
  const specs = seeds[0]?.reading.manifest.claims ?? [];
  if (specs.length === 0) return [];
  const runs = runsOf(seeds);
  const curves = experimentSeeds.map((seed) => seedCurves(seed, seeds.find((s) => (s.seed ?? 0) === seed)?.reading));
  const expanded = expandClaims(
    resolveClaims(specs, runs),
    runs.map((r) => r.run),
  );
  return checkClaims(expanded, curves, { margin });
}
