/**
 * The paper's claims an experiment tests, as experiment.json lists them (the definitions name them; the analysis
 * checks them, src/analysis/claims.ts).
 *
 * - `starts-at-teacher`: a Net2Net student's first evaluation equals its teacher's final one.
 * - `converges-faster`: the run reaches its teacher's final accuracy plus a margin in fewer minibatches than each of
 *   `than`. A definition may leave `than` out: the runner writes every baseline of the experiment there.
 *   `metric`: validation (default) or training accuracy (sec. 3.3 claims both).
 * - `ahead-of-scratch`: ahead of the original model's own from-scratch curve at every shared evaluation; `control`
 *   (the runner writes the teacher trained further there) is checked the same way and shown beside it.
 * - `ends-above`: the run's final accuracy is above `than`'s.
 * - `ahead-at-every-evaluation`: above each of `than` at every evaluation both made, in every seed.
 * - `saves-compute`: the run reaches its teacher's final validation accuracy plus the margin with fewer training
 *   multiply-adds than `than` (a random-init run; left out: the analysis picks the experiment's random-init run for
 *   the run's architecture), counting the teacher's whole training on the run's side when `chargeTeacher`.
 */
export type ClaimMetric = 'validation' | 'training';

export type ClaimSpec =
  | { kind: 'starts-at-teacher'; run: string }
  | { kind: 'converges-faster'; run: string; than?: readonly string[]; metric?: ClaimMetric }
  | { kind: 'ahead-of-scratch'; run: string; control?: string }
  | { kind: 'ends-above'; run: string; than: string }
  | { kind: 'ahead-at-every-evaluation'; run: string; than: readonly string[] }
  | { kind: 'saves-compute'; run: string; than?: string; chargeTeacher: boolean };

export type ClaimKind = ClaimSpec['kind'];
