import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExperimentAnalysis } from '../src/analysis/experiment-analysis.ts';
import { experimentReport } from '../src/cli/experiment-report.ts';

const spreadOf = (mean: number, min = mean, max = mean) => ({ mean, min, max, n: 2 });
const method = (run: string, label: string, role: string, final: number) => ({
  run,
  label,
  role,
  seeds: [1, 2],
  finalValAcc: spreadOf(final, final - 0.01, final + 0.01),
  stepZeroValAcc: spreadOf(0.8),
  stepsToTeacher: [],
  stepsToTeacherPlusMargin: [],
  accuracyAfter: [],
});

const analysis: ExperimentAnalysis = {
  summary: { experiment: 'wider', preset: 'cpu', teacher: null, runs: [], notes: [] },
  seeds: [1, 2],
  experimentSeeds: [1, 2],
  methods: [method('teacher', 'Teacher', 'teacher', 0.8), method('net2wider', 'Net2WiderNet', 'net2net', 0.83)],
  claims: [
    {
      claim: 'net2wider reaches teacher + 1.0% validation accuracy in fewer minibatches than every baseline',
      held: false,
      verdict: 'did not hold',
      detail: 'beat random-pad in every seed; not teacher-continued (tied, first, or undecided in some seed)',
      evidence: ['seed 1: ...'],
      beat: ['random-pad'],
      notBeaten: ['teacher-continued'],
    },
    {
      claim: 'net2wider is ahead of the original model trained from scratch at equal minibatches',
      held: true,
      verdict: 'held',
      detail: 'judged on 2 seeds',
      evidence: [],
      control: { run: 'teacher-continued', verdict: 'held', evidence: [] },
    },
  ],
  claimMargin: 0.01,
};

test('the end-of-run report: numbers over seeds, claim verdicts with what they beat, where the figures are', () => {
  const text = experimentReport({ out: '/r/wider', wallSeconds: 75, analysis, figuresDir: '/r/wider/figures' });
  assert.match(text, /^wider \(preset cpu\), seeds 1, 2: done in 1m 15s/);
  assert.match(text, /Net2WiderNet\s+83\.0% \(82\.0%-84\.0%\), first evaluation 80\.0%/);
  assert.match(
    text,
    /did not hold: net2wider reaches teacher \+ 1\.0%.*\n\s+beat random-pad in every seed; not teacher-continued/,
  );
  assert.match(text, /held: net2wider is ahead of the original model.*\n\s+the same for teacher-continued: held/);
  assert.match(text, /Figures: \/r\/wider\/figures\/wider-validation\.png/);
  assert.match(text, /Summary: \/r\/wider\/figures\/summary\.md/);
  assert.ok(!text.trimStart().startsWith('{'), 'not JSON');
  assert.match(experimentReport({ out: '/r/w', wallSeconds: 5 }), /runs in \/r\/w \(no figures drawn\)/);
});
