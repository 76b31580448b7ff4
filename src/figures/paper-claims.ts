/**
 * The paper's claims, checked on an experiment's curves over all its seeds. Each experiment names the claims that
 * apply to it (`ClaimSpec`, data in its definition); `checkClaims` says for each whether it held, with the numbers.
 *
 * - `starts-at-teacher` (sec. 2: function preservation): a Net2Net student's first evaluation equals its teacher's
 *   final one, within `tolerance` (accuracy, 0.001 = 0.1 point).
 * - `converges-faster` (figs. 4-5): the method reaches its teacher's final accuracy plus `margin` in fewer minibatches
 *   than each baseline named. A Net2Net student starts at the teacher's accuracy, so "reaches the teacher" alone is 0
 *   by construction; the margin asks for learning beyond it. A run that never reaches the target counts as infinitely
 *   slow: a baseline that reaches it first, or at the same step, contradicts the claim. A seed where neither the
 *   method nor any baseline reaches it within the run decides nothing (undecided: the run was too short for the
 *   margin), rather than counting as "not faster".
 * - `ahead-of-scratch` (fig. 6): at every evaluation step the student shares with the teacher's own curve (the
 *   original model trained from random initialization, counted from its first minibatch), the student is ahead.
 * - `ends-above` (fig. 6): the method's final accuracy is above the other run's (e.g. the teacher trained further
 *   for the same number of minibatches).
 * A claim holds when it holds in every seed, did not hold when it failed in at least one, and is undecided when it
 * failed in none but some seed could not decide it; the per-seed numbers say by how much.
 */

export interface CurvePoint {
  step: number;
  /** Validation accuracy in [0, 1]. */
  accuracy: number;
}

/** One experiment's curves for one seed: the teacher's (from scratch) and each run's, by run name. */
export interface SeedCurves {
  seed: number;
  teacher: readonly CurvePoint[];
  runs: ReadonlyMap<string, readonly CurvePoint[]>;
}

export type ClaimSpec =
  | { kind: 'starts-at-teacher'; run: string }
  | { kind: 'converges-faster'; run: string; than: readonly string[] }
  | { kind: 'ahead-of-scratch'; run: string }
  | { kind: 'ends-above'; run: string; than: string };

export interface ClaimOptions {
  /** Accuracy above the teacher's final one that `converges-faster` asks for (default 0.01, one point). */
  margin?: number;
  /** `starts-at-teacher` tolerance (default 0.001, 0.1 point). */
  tolerance?: number;
}

export type ClaimVerdict = 'held' | 'did not hold' | 'undecided' | 'not tested';

export interface ClaimResult {
  claim: string;
  /** true: held in every seed; false: failed in at least one; null: undecided, or no seed had the runs it needs. */
  held: boolean | null;
  /** 'undecided': failed in no seed, but some seed could not decide it; 'not tested': no seed had the runs. */
  verdict: ClaimVerdict;
  /** One line per seed with the numbers. */
  evidence: string[];
}

const pct = (a: number) => `${(a * 100).toFixed(1)}%`;

/** Minibatches until the first evaluation at or above `target`; null when the curve never gets there. */
export function stepsToReach(curve: readonly CurvePoint[], target: number): number | null {
  return curve.find((p) => p.accuracy >= target)?.step ?? null;
}

/** The accuracy of the last evaluation at or before `step`; null before the first evaluation. */
export function accuracyAfter(curve: readonly CurvePoint[], step: number): number | null {
  let found: number | null = null;
  for (const p of curve) if (p.step <= step) found = p.accuracy;
  return found;
}

const finalAccuracy = (curve: readonly CurvePoint[]) => curve.at(-1)?.accuracy ?? NaN;

/**
 * One seed's verdict on one claim (true, false, or null: undecided in this seed), or null when a run it needs is
 * missing for that seed.
 */
function judgeSeed(
  spec: ClaimSpec,
  curves: SeedCurves,
  options: Required<ClaimOptions>,
): [boolean | null, string] | null {
  const run = curves.runs.get(spec.run);
  if (!run || run.length === 0 || curves.teacher.length === 0) return null;
  const teacherFinal = finalAccuracy(curves.teacher);
  const seed = `seed ${curves.seed}`;
  switch (spec.kind) {
    case 'starts-at-teacher': {
      const gap = Math.abs(run[0]!.accuracy - teacherFinal);
      // "Within 0.1 point" includes 0.1 point: 0.867 - 0.866 is 0.0010000000000000009 in binary floating point.
      const within = gap <= options.tolerance + 1e-9;
      return [within, `${seed}: first ${pct(run[0]!.accuracy)} vs teacher ${pct(teacherFinal)}`];
    }
    case 'converges-faster': {
      const target = teacherFinal + options.margin;
      const own = stepsToReach(run, target);
      const others = spec.than.map((name) => [name, curves.runs.get(name)] as const).filter(([, c]) => c?.length);
      if (others.length === 0) return null;
      const steps = others.map(([name, c]) => [name, stepsToReach(c!, target)] as const);
      const faster = (mine: number | null, theirs: number | null) =>
        mine !== null && (theirs === null || mine < theirs);
      const shown = (s: number | null) => (s === null ? 'never' : String(s));
      const nobody = own === null && steps.every(([, s]) => s === null);
      return [
        nobody ? null : steps.every(([, s]) => faster(own, s)),
        `${seed}: to ${pct(target)}: ${spec.run} ${shown(own)}, ` +
          steps.map(([n, s]) => `${n} ${shown(s)}`).join(', ') +
          (nobody ? ' (undecided: no run reached it)' : ''),
      ];
    }
    case 'ahead-of-scratch': {
      const shared = run.filter((p) => p.step > 0 && curves.teacher.some((t) => t.step === p.step));
      if (shared.length === 0) return null;
      const gaps = shared.map((p) => p.accuracy - curves.teacher.find((t) => t.step === p.step)!.accuracy);
      const worst = Math.min(...gaps);
      return [
        worst > 0,
        `${seed}: ahead at ${gaps.filter((g) => g > 0).length}/${gaps.length} steps, worst ${pct(worst)}`,
      ];
    }
    case 'ends-above': {
      const other = curves.runs.get(spec.than);
      if (!other?.length) return null;
      const [mine, theirs] = [finalAccuracy(run), finalAccuracy(other)];
      return [mine > theirs, `${seed}: ${spec.run} ${pct(mine)} vs ${spec.than} ${pct(theirs)}`];
    }
  }
}

function describe(spec: ClaimSpec, options: Required<ClaimOptions>): string {
  switch (spec.kind) {
    case 'starts-at-teacher':
      return `${spec.run} starts at the teacher's accuracy (within ${pct(options.tolerance)})`;
    case 'converges-faster':
      return `${spec.run} reaches teacher + ${pct(options.margin)} in fewer minibatches than ${spec.than.join(' and ')}`;
    case 'ahead-of-scratch':
      return `${spec.run} is ahead of the original model trained from scratch at equal minibatches`;
    case 'ends-above':
      return `${spec.run} ends above ${spec.than} after the same minibatches`;
  }
}

export function checkClaims(
  specs: readonly ClaimSpec[],
  seeds: readonly SeedCurves[],
  options: ClaimOptions = {},
): ClaimResult[] {
  const resolved = { margin: options.margin ?? 0.01, tolerance: options.tolerance ?? 0.001 };
  return specs.map((spec) => {
    const verdicts = seeds.map((s) => judgeSeed(spec, s, resolved)).filter((v) => v !== null);
    const verdict: ClaimVerdict =
      verdicts.length === 0
        ? 'not tested'
        : verdicts.some(([held]) => held === false)
          ? 'did not hold'
          : verdicts.some(([held]) => held === null)
            ? 'undecided'
            : 'held';
    return {
      claim: describe(spec, resolved),
      held: verdict === 'held' ? true : verdict === 'did not hold' ? false : null,
      verdict,
      evidence: verdicts.map(([, line]) => line),
    };
  });
}
