/**
 * Who reaches an accuracy first: a run against its baselines, in one seed. A run that never reaches the target counts
 * as infinitely slow; when neither the run nor any baseline reaches it, the seed decides nothing.
 */
export interface CurvePoint {
  step: number;
  /** Accuracy in [0, 1]. */
  accuracy: number;
}

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

export interface Convergence {
  target: number;
  run: string;
  /** Minibatches to the target; null: never within the run. */
  steps: number | null;
  against: { run: string; steps: number | null; beaten: boolean; tied: boolean }[];
  /** The runs that got there first (several: a tie); empty when nobody got there. */
  first: string[];
  /** true: faster than every baseline; false: some baseline tied or was faster; null: nobody reached the target. */
  held: boolean | null;
}

export function converges(
  run: string,
  curve: readonly CurvePoint[],
  baselines: readonly (readonly [string, readonly CurvePoint[]])[],
  target: number,
): Convergence {
  const steps = stepsToReach(curve, target);
  const against = baselines.map(([name, c]) => {
    const theirs = stepsToReach(c, target);
    return {
      run: name,
      steps: theirs,
      beaten: steps !== null && (theirs === null || steps < theirs),
      tied: steps !== null && steps === theirs,
    };
  });
  const all = [{ run, steps }, ...against].filter((r): r is { run: string; steps: number } => r.steps !== null);
  const earliest = Math.min(...all.map((r) => r.steps));
  const first = all.filter((r) => r.steps === earliest).map((r) => r.run);
  const held = all.length === 0 ? null : against.every((a) => a.beaten);
  return { target, run, steps, against, first, held };
}

const shown = (steps: number | null) => (steps === null ? 'never' : String(steps));

/** "to 71.0%: net2wider 10, random-pad 20, teacher-continued 10; first: net2wider and teacher-continued (tie)". */
export function describeConvergence(c: Convergence): string {
  const counts = [`${c.run} ${shown(c.steps)}`, ...c.against.map((a) => `${a.run} ${shown(a.steps)}`)].join(', ');
  const first =
    c.first.length === 0
      ? 'undecided: no run reached it'
      : c.first.length === 1
        ? `first: ${c.first[0]}`
        : `first: ${c.first.join(' and ')} (tie)`;
  return `to ${(c.target * 100).toFixed(1)}%: ${counts}; ${first}`;
}
