import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandClaims } from '../src/figures/seed-statistics.ts';
import {
  accuracyAfter,
  checkClaims,
  stepsToReach,
  type ClaimSpec,
  type CurvePoint,
  type SeedCurves,
} from '../src/figures/paper-claims.ts';

const curve = (...pairs: [number, number][]): CurvePoint[] => pairs.map(([step, accuracy]) => ({ step, accuracy }));

/** A wider experiment seed: teacher ends at 0.70; net2wider starts there; the baselines start near chance. */
function widerSeed(seed: number, over: Partial<Record<string, CurvePoint[]>> = {}): SeedCurves {
  const runs: Record<string, CurvePoint[]> = {
    net2wider: curve([0, 0.7], [10, 0.715], [20, 0.73]),
    'random-pad': curve([0, 0.12], [10, 0.6], [20, 0.72]),
    'random-init': curve([0, 0.1], [10, 0.3], [20, 0.5]),
    ...over,
  } as Record<string, CurvePoint[]>;
  return { seed, teacher: curve([0, 0.1], [10, 0.5], [20, 0.7]), runs: new Map(Object.entries(runs)) };
}

const WIDER: ClaimSpec[] = [
  { kind: 'starts-at-teacher', run: 'net2wider' },
  { kind: 'converges-faster', run: 'net2wider', than: ['random-pad', 'random-init'] },
];

test('curve readings: minibatches to a target, accuracy after N minibatches', () => {
  const c = curve([0, 0.1], [10, 0.5], [20, 0.7]);
  assert.equal(stepsToReach(c, 0.5), 10);
  assert.equal(stepsToReach(c, 0.71), null);
  assert.equal(accuracyAfter(c, 15), 0.5);
  assert.equal(accuracyAfter(c, -1), null);
});

test('wider claims hold on curves where they hold, in every seed', () => {
  const [starts, faster] = checkClaims(WIDER, [widerSeed(1), widerSeed(2)]);
  assert.equal(starts!.held, true);
  assert.equal(faster!.held, true);
  assert.equal(faster!.evidence.length, 2);
  assert.match(faster!.evidence[0]!, /seed 1: to 71\.0%: net2wider 10, random-pad 20, random-init never/);
});

test('starts-at-teacher: a gap of exactly the tolerance (one image in 1,000) holds, one more does not', () => {
  const seed = (first: number) => widerSeed(1, { net2wider: curve([0, first], [10, 0.9]) });
  const teacherAt = (acc: number): SeedCurves => ({ ...seed(0.866), teacher: curve([0, 0.1], [20, acc]) });
  assert.equal(checkClaims([WIDER[0]!], [teacherAt(0.867)])[0]!.held, true);
  assert.equal(checkClaims([WIDER[0]!], [teacherAt(0.868)])[0]!.held, false);
});

test('wider claims fail: a student that starts below the teacher; one seed where random pad is as fast', () => {
  const dipped = widerSeed(2, { net2wider: curve([0, 0.69], [10, 0.715], [20, 0.73]) });
  assert.equal(checkClaims(WIDER, [widerSeed(1), dipped])[0]!.held, false);
  const tie = widerSeed(3, { 'random-pad': curve([0, 0.1], [10, 0.72], [20, 0.75]) });
  assert.equal(checkClaims(WIDER, [widerSeed(1), tie])[1]!.held, false);
  const slower = widerSeed(4, { net2wider: curve([0, 0.7], [20, 0.705]) });
  assert.equal(checkClaims(WIDER, [slower])[1]!.verdict, 'did not hold', 'random pad reaches 71% and net2wider never');
  assert.equal(
    checkClaims(WIDER, [widerSeed(1), slower, undecidedSeed(5)])[1]!.verdict,
    'did not hold',
    'a failing seed outweighs an undecided one',
  );
  assert.equal(
    checkClaims(WIDER, [widerSeed(1)], { margin: 0.05 })[1]!.verdict,
    'undecided',
    'margin 5 points: nobody reaches 75%',
  );
});

/** A seed where nobody reaches teacher + 1 point within the run. */
function undecidedSeed(seed: number): SeedCurves {
  return widerSeed(seed, { net2wider: curve([0, 0.7], [20, 0.705]), 'random-pad': curve([0, 0.1], [20, 0.6]) });
}

test('converges-faster is undecided in a seed where no run reaches the target, and overall if no seed failed', () => {
  const [, alone] = checkClaims(WIDER, [undecidedSeed(1)]);
  assert.equal(alone!.verdict, 'undecided');
  assert.equal(alone!.held, null);
  assert.match(
    alone!.evidence[0]!,
    /net2wider never, random-pad never, random-init never \(undecided: no run reached it\)/,
  );
  const [, mixed] = checkClaims(WIDER, [widerSeed(1), undecidedSeed(2)]);
  assert.equal(mixed!.verdict, 'undecided', 'held in one seed, undecided in the other: not "held"');
  assert.equal(checkClaims(WIDER, [widerSeed(1), widerSeed(2)])[1]!.verdict, 'held');
  assert.equal(checkClaims(WIDER, [])[1]!.verdict, 'not tested');
});

test('explore claims: ahead of the from-scratch curve, ends above the teacher trained further; missing runs give null', () => {
  const specs: ClaimSpec[] = [
    { kind: 'ahead-of-scratch', run: 'net2deeper' },
    { kind: 'ends-above', run: 'net2deeper', than: 'teacher-continued' },
  ];
  const seed = (deeper: CurvePoint[], further: CurvePoint[]): SeedCurves => ({
    seed: 1,
    teacher: curve([0, 0.1], [10, 0.5], [20, 0.7]),
    runs: new Map([
      ['net2deeper', deeper],
      ['teacher-continued', further],
    ]),
  });
  const good = seed(curve([0, 0.7], [10, 0.72], [20, 0.76]), curve([0, 0.7], [10, 0.71], [20, 0.74]));
  assert.deepEqual(
    checkClaims(specs, [good]).map((r) => r.held),
    [true, true],
  );
  const behind = seed(curve([0, 0.7], [10, 0.4], [20, 0.72]), curve([0, 0.7], [20, 0.74]));
  assert.deepEqual(
    checkClaims(specs, [behind]).map((r) => r.held),
    [false, false],
  );
  const missing: SeedCurves = { seed: 1, teacher: curve([0, 0.1]), runs: new Map() };
  assert.deepEqual(
    checkClaims(specs, [missing]).map((r) => r.held),
    [null, null],
  );
});

test('a claim about a method that sweeps learning rates becomes one claim per rate, against baselines at that rate', () => {
  const runs = [
    'teacher',
    'net2wider@lr0.002',
    'net2wider@lr0.01',
    'random-pad@lr0.002',
    'random-pad@lr0.01',
    'random-init',
  ];
  assert.deepEqual(expandClaims(WIDER, runs), [
    { kind: 'starts-at-teacher', run: 'net2wider@lr0.002' },
    { kind: 'starts-at-teacher', run: 'net2wider@lr0.01' },
    { kind: 'converges-faster', run: 'net2wider@lr0.002', than: ['random-pad@lr0.002', 'random-init'] },
    { kind: 'converges-faster', run: 'net2wider@lr0.01', than: ['random-pad@lr0.01', 'random-init'] },
  ]);
  assert.deepEqual(expandClaims(WIDER, ['net2wider', 'random-pad', 'random-init']), WIDER);
});
