import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClaimSpec } from '../src/run-folder/claim-spec.ts';
import type { RunDescription } from '../src/run-folder/experiment-manifest.ts';
import { checkClaims, type RunCurves, type SeedCurves } from '../src/analysis/claims.ts';
import { accuracyAfter, stepsToReach, type CurvePoint } from '../src/analysis/convergence.ts';
import { expandClaims, resolveClaims } from '../src/analysis/experiment-claims.ts';

const curve = (...pairs: [number, number][]): CurvePoint[] => pairs.map(([step, accuracy]) => ({ step, accuracy }));
/** Validation curve as given; training accuracy 5 points above it unless given. */
const runCurves = (validation: CurvePoint[], training?: CurvePoint[]): RunCurves => ({
  validation,
  training: training ?? validation.map((p) => ({ step: p.step, accuracy: p.accuracy + 0.05 })),
});

const BASELINES = ['random-pad', 'random-init', 'teacher-continued'];

/** A wider seed: teacher ends at 0.70; net2wider starts there and is first to 0.71; the baselines are slower. */
function widerSeed(seed: number, over: Record<string, CurvePoint[] | null> = {}): SeedCurves {
  const runs: Record<string, CurvePoint[] | null> = {
    net2wider: curve([0, 0.7], [10, 0.715], [20, 0.73]),
    'random-pad': curve([0, 0.12], [10, 0.6], [20, 0.72]),
    'random-init': curve([0, 0.1], [10, 0.3], [20, 0.5]),
    'teacher-continued': curve([0, 0.7], [10, 0.705], [20, 0.708]),
    ...over,
  };
  const present = Object.entries(runs).filter((e): e is [string, CurvePoint[]] => e[1] !== null);
  return {
    seed,
    teacher: runCurves(curve([0, 0.1], [10, 0.5], [20, 0.7])),
    runs: new Map(present.map(([name, c]) => [name, runCurves(c)])),
  };
}

const STARTS: ClaimSpec = { kind: 'starts-at-teacher', run: 'net2wider' };
const FASTER: ClaimSpec = { kind: 'converges-faster', run: 'net2wider', than: BASELINES };

test('curve readings: minibatches to a target, accuracy after N minibatches', () => {
  const c = curve([0, 0.1], [10, 0.5], [20, 0.7]);
  assert.equal(stepsToReach(c, 0.5), 10);
  assert.equal(stepsToReach(c, 0.71), null);
  assert.equal(accuracyAfter(c, 15), 0.5);
  assert.equal(accuracyAfter(c, -1), null);
});

test('converges-faster held: first in every seed, against every baseline, and the verdict names them', () => {
  const [faster] = checkClaims([FASTER], [widerSeed(1), widerSeed(2)]);
  assert.equal(faster!.verdict, 'held');
  assert.deepEqual(faster!.beat, BASELINES);
  assert.deepEqual(faster!.notBeaten, []);
  assert.match(faster!.detail, /beat random-pad, random-init, teacher-continued in every seed/);
  assert.match(
    faster!.evidence[0]!,
    /seed 1: to 71\.0%: net2wider 10, random-pad 20, random-init never, teacher-continued never; first: net2wider$/,
  );
});

test('converges-faster did not hold: the teacher trained further ties in one seed; the tie is named', () => {
  const tie = widerSeed(2, { 'teacher-continued': curve([0, 0.7], [10, 0.72]) });
  const [faster] = checkClaims([FASTER], [widerSeed(1), tie]);
  assert.equal(faster!.verdict, 'did not hold');
  assert.equal(faster!.held, false);
  assert.deepEqual(faster!.beat, ['random-pad', 'random-init']);
  assert.deepEqual(faster!.notBeaten, ['teacher-continued']);
  assert.match(faster!.evidence[1]!, /first: net2wider and teacher-continued \(tie\)/);
  assert.match(faster!.detail, /beat random-pad, random-init in every seed; not teacher-continued/);
  const first = widerSeed(3, { 'teacher-continued': curve([0, 0.71]) });
  assert.match(checkClaims([FASTER], [first])[0]!.evidence[0]!, /first: teacher-continued$/);
});

test('converges-faster undecided: no run reaches the target in a seed, and no seed failed', () => {
  const nobody = widerSeed(2, { net2wider: curve([0, 0.7], [20, 0.705]), 'random-pad': curve([0, 0.1], [20, 0.6]) });
  const [alone] = checkClaims([FASTER], [nobody]);
  assert.equal(alone!.verdict, 'undecided');
  assert.equal(alone!.held, null);
  assert.match(alone!.evidence[0]!, /undecided: no run reached it/);
  assert.equal(checkClaims([FASTER], [widerSeed(1), nobody])[0]!.verdict, 'undecided', 'held once, undecided once');
  const slower = widerSeed(3, { net2wider: curve([0, 0.7], [20, 0.705]) });
  assert.equal(checkClaims([FASTER], [widerSeed(1), slower, nobody])[0]!.verdict, 'did not hold');
});

test('not tested: a seed lacks a baseline, a seed lacks the run, a seed never started; never held on fewer seeds', () => {
  const noControl = widerSeed(2, { 'teacher-continued': null });
  const [faster, starts] = checkClaims([FASTER, STARTS], [widerSeed(1), noControl]);
  assert.equal(faster!.verdict, 'not tested');
  assert.match(faster!.detail, /seed 2 lacks teacher-continued/);
  assert.ok(!faster!.evidence.some((line) => /lacks/.test(line)), 'what a seed lacks is said once, in the detail');
  assert.equal(starts!.verdict, 'held', 'a claim that does not need the missing run is tested');
  const neverStarted: SeedCurves = { seed: 3, teacher: runCurves([], []), runs: new Map() };
  const [startsOver3] = checkClaims([STARTS], [widerSeed(1), widerSeed(2), neverStarted]);
  assert.equal(startsOver3!.verdict, 'not tested');
  assert.match(startsOver3!.detail, /seed 3 lacks teacher, net2wider/);
  assert.equal(checkClaims([STARTS], [])[0]!.verdict, 'not tested');
  const unknown: ClaimSpec = { kind: 'converges-faster', run: 'net2wider', than: ['no-such-run'] };
  assert.equal(checkClaims([unknown], [widerSeed(1)])[0]!.verdict, 'not tested');
});

test("converges-faster on training accuracy reads the training curves and the teacher's final training accuracy", () => {
  const spec: ClaimSpec = { ...FASTER, metric: 'training' };
  const seed = widerSeed(1);
  // Training accuracy: teacher ends at 0.75, target 0.76; random pad gets there first on the training curve.
  const runs = new Map(seed.runs);
  runs.set('random-pad', runCurves(curve([0, 0.1], [20, 0.72]), curve([0, 0.1], [10, 0.8], [20, 0.85])));
  const [training] = checkClaims([spec], [{ ...seed, runs }]);
  assert.equal(training!.verdict, 'did not hold');
  assert.match(training!.claim, /training accuracy/);
  assert.match(training!.evidence[0]!, /to 76\.0%: net2wider 10, random-pad 10/);
  assert.equal(checkClaims([FASTER], [{ ...seed, runs }])[0]!.verdict, 'held', 'on validation it holds');
});

test('starts-at-teacher: a gap of exactly the tolerance (one image in 1,000) holds, one more does not', () => {
  const at = (teacher: number): SeedCurves => ({
    ...widerSeed(1, { net2wider: curve([0, 0.866], [10, 0.9]) }),
    teacher: runCurves(curve([0, 0.1], [20, teacher])),
  });
  assert.equal(checkClaims([STARTS], [at(0.867)])[0]!.verdict, 'held');
  assert.equal(checkClaims([STARTS], [at(0.868)])[0]!.verdict, 'did not hold');
});

test('ahead-of-scratch is checked for the control too; ends-above; ahead at every evaluation', () => {
  const specs: ClaimSpec[] = [
    { kind: 'ahead-of-scratch', run: 'net2wider', control: 'teacher-continued' },
    { kind: 'ends-above', run: 'net2wider', than: 'teacher-continued' },
    { kind: 'ahead-at-every-evaluation', run: 'net2wider', than: ['random-pad', 'random-init'] },
  ];
  const [ahead, ends, every] = checkClaims(specs, [widerSeed(1), widerSeed(2)]);
  assert.equal(ahead!.verdict, 'held');
  assert.deepEqual(ahead!.control && { run: ahead.control.run, verdict: ahead.control.verdict }, {
    run: 'teacher-continued',
    verdict: 'held',
  });
  assert.match(ahead!.control!.evidence[0]!, /teacher-continued ahead at 2\/2 steps/);
  assert.equal(ends!.verdict, 'held');
  assert.equal(every!.verdict, 'held');
  const caught = widerSeed(2, { 'random-pad': curve([0, 0.12], [10, 0.6], [20, 0.74]) });
  const [, endsBelow, notEvery] = checkClaims(specs, [widerSeed(1), caught]);
  assert.equal(endsBelow!.verdict, 'held');
  assert.equal(notEvery!.verdict, 'did not hold');
  assert.match(notEvery!.evidence[1]!, /random-pad: ahead at 2\/3, worst -1\.0%/);
  const behind = widerSeed(1, { 'teacher-continued': curve([0, 0.7], [10, 0.4], [20, 0.9]) });
  const [aheadBehind, endsBehind] = checkClaims(specs, [behind]);
  assert.equal(aheadBehind!.control!.verdict, 'did not hold');
  assert.equal(endsBehind!.verdict, 'did not hold');
});

test('claims resolved against the runs: every baseline, the control, one claim per learning rate of a sweep', () => {
  const runs: RunDescription[] = [
    { run: 'teacher', role: 'teacher', label: 'T' },
    { run: 'net2wider@lr0.002', role: 'net2net', label: 'N' },
    { run: 'net2wider@lr0.01', role: 'net2net', label: 'N' },
    { run: 'random-pad@lr0.002', role: 'baseline', label: 'P' },
    { run: 'random-pad@lr0.01', role: 'baseline', label: 'P' },
    { run: 'random-init', role: 'baseline', label: 'I' },
    { run: 'teacher-continued', role: 'baseline', label: 'C' },
  ];
  const resolved = resolveClaims(
    [{ kind: 'converges-faster', run: 'net2wider' }, STARTS, { kind: 'ahead-of-scratch', run: 'net2wider' }],
    runs,
  );
  assert.deepEqual(resolved[0], { kind: 'converges-faster', run: 'net2wider', than: BASELINES });
  assert.deepEqual(resolved[2], { kind: 'ahead-of-scratch', run: 'net2wider', control: 'teacher-continued' });
  assert.deepEqual(
    expandClaims(
      resolved.slice(0, 2),
      runs.map((r) => r.run),
    ),
    [
      {
        kind: 'converges-faster',
        run: 'net2wider@lr0.002',
        than: ['random-pad@lr0.002', 'random-init', 'teacher-continued'],
      },
      {
        kind: 'converges-faster',
        run: 'net2wider@lr0.01',
        than: ['random-pad@lr0.01', 'random-init', 'teacher-continued'],
      },
      { kind: 'starts-at-teacher', run: 'net2wider@lr0.002' },
      { kind: 'starts-at-teacher', run: 'net2wider@lr0.01' },
    ],
  );
});

test('claims of a growth sweep: each swept run against the baselines at as many of its settings as they sweep', () => {
  const runs = [
    'teacher',
    'net2wider@lr0.002@state=fresh@noise=none',
    'net2wider@lr0.002@state=transfer@noise=0.01',
    'random-pad@lr0.002@state=fresh',
    'random-pad@lr0.002@state=transfer',
    'random-init',
    'teacher-continued',
  ];
  const specs: ClaimSpec[] = [
    { kind: 'converges-faster', run: 'net2wider', than: BASELINES },
    { kind: 'ahead-at-every-evaluation', run: 'net2wider', than: ['random-pad'] },
  ];
  assert.deepEqual(
    expandClaims(specs, runs).map((c) => [c.run, 'than' in c ? c.than : null]),
    [
      [
        'net2wider@lr0.002@state=fresh@noise=none',
        ['random-pad@lr0.002@state=fresh', 'random-init', 'teacher-continued'],
      ],
      [
        'net2wider@lr0.002@state=transfer@noise=0.01',
        ['random-pad@lr0.002@state=transfer', 'random-init', 'teacher-continued'],
      ],
      ['net2wider@lr0.002@state=fresh@noise=none', ['random-pad@lr0.002@state=fresh']],
      ['net2wider@lr0.002@state=transfer@noise=0.01', ['random-pad@lr0.002@state=transfer']],
    ],
  );
});
