/**
 * The paper's claims (src/run-folder/claim-spec.ts), checked on an experiment's curves over all its seeds.
 *
 * Per seed a claim holds, fails, or cannot be decided (`converges-faster` when no run reached the target within the
 * run: the run was too short for the margin, which is not "slower"). Over the seeds:
 * - not tested: some seed of the experiment lacks a run the claim names (the run, a baseline, the teacher), or the
 *   experiment has no seed; a claim is never "held" on fewer seeds than the experiment ran;
 * - did not hold: it failed in at least one seed;
 * - undecided: it failed in none, but some seed could not decide it;
 * - held: it held in every seed.
 */
import type { ClaimMetric, ClaimSpec } from '../run-folder/claim-spec.ts';
import { converges, type Convergence, type CurvePoint, describeConvergence } from './convergence.ts';
import type { CostPoint } from './compute-cost.ts';
import { describeSaving, savedAgainst, savingHeld } from './compute-cost.ts';

/** One run's curves: validation and training accuracy per evaluation. */
export interface RunCurves {
  validation: readonly CurvePoint[];
  training: readonly CurvePoint[];
  /** Validation accuracy against training multiply-adds (compute-cost.ts); empty or absent without compute columns. */
  compute?: readonly CostPoint[];
}

/** One experiment's curves for one seed: the teacher's (from scratch) and each run's, by run name. */
export interface SeedCurves {
  seed: number;
  teacher: RunCurves;
  runs: ReadonlyMap<string, RunCurves>;
}

export interface ClaimOptions {
  /** Accuracy above the teacher's final one that `converges-faster` asks for (default 0.01, one point). */
  margin?: number;
  /** `starts-at-teacher` tolerance (default 0.001, 0.1 point). */
  tolerance?: number;
}

export type ClaimVerdict = 'held' | 'did not hold' | 'undecided' | 'not tested';

export interface ClaimResult {
  claim: string;
  /** true: held in every seed; false: failed in at least one; null: undecided or not tested. */
  held: boolean | null;
  verdict: ClaimVerdict;
  /** What the verdict rests on: which baselines were beaten, which seeds lacked which run, how many seeds. */
  detail: string;
  /** One line per seed with the numbers. */
  evidence: string[];
  /** `converges-faster`: the baselines it beat in every seed, and those it did not (tied or lost in some seed). */
  beat?: string[];
  notBeaten?: string[];
  /** `ahead-of-scratch`: the same check on the control (the teacher trained further), shown beside it. */
  control?: { run: string; verdict: ClaimVerdict; evidence: string[] };
}

type Resolved = Required<ClaimOptions>;

/** A seed's outcome: held (true), failed (false) or undecided (null), with its evidence line. */
interface SeedOutcome {
  held: boolean | null;
  line: string;
  convergence?: Convergence;
}

export const pct = (a: number) => `${(a * 100).toFixed(1)}%`;

const finalAccuracy = (curve: readonly CurvePoint[]) => curve.at(-1)?.accuracy ?? NaN;
const metricOf = (spec: ClaimSpec): ClaimMetric =>
  spec.kind === 'converges-faster' ? (spec.metric ?? 'validation') : 'validation';

/** Every run a claim needs besides the teacher. */
export function runsNeeded(spec: ClaimSpec): string[] {
  switch (spec.kind) {
    case 'converges-faster':
    case 'ahead-at-every-evaluation':
      return [spec.run, ...(spec.than ?? [])];
    case 'ends-above':
      return [spec.run, spec.than];
    case 'ahead-of-scratch':
      return [spec.run, ...(spec.control ? [spec.control] : [])];
    case 'starts-at-teacher':
      return [spec.run];
    case 'saves-compute':
      return [spec.run, spec.than ?? 'random-init'];
  }
}

/** What a seed lacks for a claim: the names of the missing runs (the teacher included), empty when it has all. */
function missingIn(spec: ClaimSpec, seed: SeedCurves): string[] {
  const metric = metricOf(spec);
  const missing = runsNeeded(spec).filter((run) => !seed.runs.get(run)?.[metric].length);
  const withTeacher = seed.teacher[metric].length === 0 ? ['teacher', ...missing] : missing;
  return spec.kind === 'saves-compute' ? [...withTeacher, ...missingCosts(spec, seed, withTeacher)] : withTeacher;
}

/** The runs (present) whose curves have no training multiply-adds where a `saves-compute` claim needs them. */
function missingCosts(spec: Extract<ClaimSpec, { kind: 'saves-compute' }>, seed: SeedCurves, missing: string[]) {
  const needed = [...runsNeeded(spec), ...(spec.chargeTeacher ? ['teacher'] : [])].filter((r) => !missing.includes(r));
  const curves = (run: string) => (run === 'teacher' ? seed.teacher : seed.runs.get(run));
  return needed.filter((run) => !curves(run)?.compute?.length).map((run) => `${run}'s training multiply-adds`);
}

/** `saves-compute` in one seed: the run's cost to teacher + margin (with the teacher's, if charged) against random init's. */
function savesCompute(
  spec: Extract<ClaimSpec, { kind: 'saves-compute' }>,
  seed: SeedCurves,
  margin: number,
): SeedOutcome {
  const target = finalAccuracy(seed.teacher.validation) + margin;
  const charge = spec.chargeTeacher ? seed.teacher.compute!.at(-1)!.cost : 0;
  const than = runsNeeded(spec)[1]!;
  const saving = savedAgainst(seed.runs.get(spec.run)!.compute!, seed.runs.get(than)!.compute!, target, charge);
  return { held: savingHeld(saving), line: `to ${pct(target)}: ${describeSaving(spec.run, than, saving, charge)}` };
}

function startsAtTeacher(run: readonly CurvePoint[], teacher: readonly CurvePoint[], tolerance: number): SeedOutcome {
  const gap = Math.abs(run[0]!.accuracy - finalAccuracy(teacher));
  // "Within 0.1 point" includes 0.1 point: 0.867 - 0.866 is 0.0010000000000000009 in binary floating point.
  return {
    held: gap <= tolerance + 1e-9,
    line: `first ${pct(run[0]!.accuracy)} vs teacher ${pct(finalAccuracy(teacher))}`,
  };
}

/** Ahead of the from-scratch curve at every step both evaluated after step 0. */
function aheadOfScratch(name: string, run: readonly CurvePoint[], scratch: readonly CurvePoint[]): SeedOutcome {
  const gaps = run.flatMap((p) => {
    const other = p.step > 0 ? scratch.find((t) => t.step === p.step) : undefined;
    return other ? [p.accuracy - other.accuracy] : [];
  });
  if (gaps.length === 0) return { held: null, line: `${name}: no evaluation step shared with the from-scratch curve` };
  const worst = Math.min(...gaps);
  return {
    held: worst > 0,
    line: `${name} ahead at ${gaps.filter((g) => g > 0).length}/${gaps.length} steps, worst ${worst >= 0 ? '+' : ''}${pct(worst)}`,
  };
}

/** Above each of `others` at every evaluation step it shares with them. */
function aheadAtEvery(run: readonly CurvePoint[], others: [string, readonly CurvePoint[]][]): SeedOutcome {
  const parts = others.map(([name, other]) => {
    const gaps = run.flatMap((p) => {
      const q = other.find((o) => o.step === p.step);
      return q ? [p.accuracy - q.accuracy] : [];
    });
    const worst = gaps.length ? Math.min(...gaps) : NaN;
    return {
      ok: gaps.length > 0 && worst > 0,
      text: `${name}: ahead at ${gaps.filter((g) => g > 0).length}/${gaps.length}, worst ${pct(worst)}`,
    };
  });
  return { held: parts.every((p) => p.ok), line: parts.map((p) => p.text).join('; ') };
}

function judgeSeed(spec: ClaimSpec, seed: SeedCurves, options: Resolved): SeedOutcome {
  const metric = metricOf(spec);
  const curveOf = (run: string) => seed.runs.get(run)![metric];
  const teacher = seed.teacher[metric];
  switch (spec.kind) {
    case 'starts-at-teacher':
      return startsAtTeacher(curveOf(spec.run), teacher, options.tolerance);
    case 'converges-faster': {
      const target = finalAccuracy(teacher) + options.margin;
      const c = converges(
        spec.run,
        curveOf(spec.run),
        (spec.than ?? []).map((t) => [t, curveOf(t)] as const),
        target,
      );
      return { held: c.held, line: describeConvergence(c), convergence: c };
    }
    case 'ahead-of-scratch':
      return aheadOfScratch(spec.run, curveOf(spec.run), teacher);
    case 'ends-above': {
      const [mine, theirs] = [finalAccuracy(curveOf(spec.run)), finalAccuracy(curveOf(spec.than))];
      return { held: mine > theirs, line: `${spec.run} ${pct(mine)} vs ${spec.than} ${pct(theirs)}` };
    }
    case 'ahead-at-every-evaluation':
      return aheadAtEvery(
        curveOf(spec.run),
        spec.than.map((t) => [t, curveOf(t)]),
      );
    case 'saves-compute':
      return savesCompute(spec, seed, options.margin);
  }
}

function describe(spec: ClaimSpec, options: Resolved): string {
  switch (spec.kind) {
    case 'starts-at-teacher':
      return `${spec.run} starts at the teacher's accuracy (within ${pct(options.tolerance)})`;
    case 'converges-faster':
      return (
        `${spec.run} reaches teacher + ${pct(options.margin)} ${metricOf(spec)} accuracy in fewer minibatches than ` +
        `every baseline (${(spec.than ?? []).join(', ') || 'none named'})`
      );
    case 'ahead-of-scratch':
      return `${spec.run} is ahead of the original model trained from scratch at equal minibatches`;
    case 'ends-above':
      return `${spec.run} ends above ${spec.than} after the same minibatches`;
    case 'ahead-at-every-evaluation':
      return `${spec.run} is ahead of ${spec.than.join(' and ')} at every evaluation of every seed`;
    case 'saves-compute':
      return (
        `${spec.run} reaches teacher + ${pct(options.margin)} validation accuracy with fewer training multiply-adds ` +
        `than ${runsNeeded(spec)[1]}, ${spec.chargeTeacher ? "the teacher's training counted" : "the teacher's training not counted"}`
      );
  }
}

function verdictOver(outcomes: readonly SeedOutcome[], untested: boolean): ClaimVerdict {
  if (untested || outcomes.length === 0) return 'not tested';
  if (outcomes.some((o) => o.held === false)) return 'did not hold';
  return outcomes.some((o) => o.held === null) ? 'undecided' : 'held';
}

/** The baselines a converges-faster claim beat in every seed, and the others. */
function beaten(spec: ClaimSpec, outcomes: readonly SeedOutcome[]): { beat: string[]; notBeaten: string[] } {
  const than = spec.kind === 'converges-faster' ? (spec.than ?? []) : [];
  const beat = than.filter((b) => outcomes.every((o) => o.convergence?.against.find((a) => a.run === b)?.beaten));
  return { beat, notBeaten: than.filter((b) => !beat.includes(b)) };
}

function detailOf(spec: ClaimSpec, lacking: string[], outcomes: readonly SeedOutcome[]): string {
  if (lacking.length > 0) return lacking.join('; ');
  if (spec.kind !== 'converges-faster') return `judged on ${outcomes.length} seed${outcomes.length === 1 ? '' : 's'}`;
  const { beat, notBeaten } = beaten(spec, outcomes);
  return (
    `beat ${beat.length ? beat.join(', ') : 'no baseline'} in every seed` +
    (notBeaten.length ? `; not ${notBeaten.join(', ')} (tied, first, or undecided in some seed)` : '')
  );
}

function checkOne(spec: ClaimSpec, seeds: readonly SeedCurves[], options: Resolved): ClaimResult {
  const lacking = seeds.flatMap((s) => {
    const missing = missingIn(spec, s);
    return missing.length ? [`seed ${s.seed} lacks ${missing.join(', ')}`] : [];
  });
  const tested = seeds.filter((s) => missingIn(spec, s).length === 0);
  const outcomes = tested.map((s) => judgeSeed(spec, s, options));
  const verdict = verdictOver(outcomes, lacking.length > 0);
  const result: ClaimResult = {
    claim: describe(spec, options),
    held: verdict === 'held' ? true : verdict === 'did not hold' ? false : null,
    verdict,
    detail: seeds.length === 0 ? 'no seed' : detailOf(spec, lacking, outcomes),
    // What the seeds lack is the detail line already.
    evidence: outcomes.map((o, i) => `seed ${tested[i]!.seed}: ${o.line}`),
  };
  if (spec.kind === 'converges-faster' && lacking.length === 0) Object.assign(result, beaten(spec, outcomes));
  if (spec.kind === 'ahead-of-scratch' && spec.control) result.control = controlResult(spec.control, seeds);
  return result;
}

/** `ahead-of-scratch` for the control run (the teacher trained further), to show beside the student's. */
function controlResult(control: string, seeds: readonly SeedCurves[]): ClaimResult['control'] {
  const spec: ClaimSpec = { kind: 'ahead-of-scratch', run: control };
  const lacking = seeds.filter((s) => missingIn(spec, s).length > 0).map((s) => `seed ${s.seed} lacks ${control}`);
  const tested = seeds.filter((s) => missingIn(spec, s).length === 0);
  const outcomes = tested.map((s) => aheadOfScratch(control, s.runs.get(control)!.validation, s.teacher.validation));
  return {
    run: control,
    verdict: verdictOver(outcomes, lacking.length > 0),
    evidence: [...outcomes.map((o, i) => `seed ${tested[i]!.seed}: ${o.line}`), ...lacking],
  };
}

/** Checks each claim on every seed of the experiment (`seeds` must hold every seed it ran, runs missing or not). */
export function checkClaims(
  specs: readonly ClaimSpec[],
  seeds: readonly SeedCurves[],
  options: ClaimOptions = {},
): ClaimResult[] {
  const resolved = { margin: options.margin ?? 0.01, tolerance: options.tolerance ?? 0.001 };
  return specs.map((spec) => checkOne(spec, seeds, resolved));
}
