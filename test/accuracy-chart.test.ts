import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracyChartSpec, placeTeacherLabel, type AccuracySeries } from '../src/figures/accuracy-chart.ts';

const steps = [0, 50, 100, 150, 200];
const series = (label: string, f: (s: number) => number): AccuracySeries => ({
  label,
  points: steps.map((step) => ({ step, accuracy: f(step) })),
});

test('teacher label: beside its line where that hides no curve, else in the clearest free space', () => {
  assert.deepEqual(placeTeacherLabel([series('low', () => 0.2)], 0.75, [0, 1]), {
    along: 'right',
    y: 0.75,
    baseline: 'bottom',
  });
  // A student just above the teacher's line everywhere, a baseline just below it on the right half.
  const student = series('student', () => 0.77);
  const baseline = series('baseline', (s) => (s >= 100 ? 0.73 : 0.2));
  assert.deepEqual(placeTeacherLabel([student, baseline], 0.75, [0, 1]), { along: 'left', y: 0.75, baseline: 'top' });
  // Curves on both sides of the line all along (the default wider figure): the label moves to empty space.
  const below = series('below', () => 0.73);
  const free = placeTeacherLabel([series('above', () => 0.77), below], 0.75, [0, 1], 40);
  assert.equal(free.baseline, 'middle');
  assert.ok(Math.abs(free.y - 0.75) > 0.05, `away from the line: ${JSON.stringify(free)}`);
  // Label boxes may not leave the plot: a teacher at the top of the range goes below.
  assert.equal(placeTeacherLabel([], 0.995, [0.5, 1]).baseline, 'top');
});

test('several seeds draw a min-max band per method; one seed draws none; the caption is the subtitle', () => {
  const banded: AccuracySeries = {
    label: 'Net2WiderNet',
    points: steps.map((step) => ({ step, accuracy: 0.7, low: 0.68, high: 0.72 })),
  };
  const spec = accuracyChartSpec({
    title: 'wider',
    caption: ['preset smoke · seeds 1, 2'],
    yTitle: 'Accuracy',
    series: [banded],
    teacher: { label: 'Teacher', accuracy: 0.7 },
  }) as unknown as { layer: { mark: { type: string } }[]; title: { subtitle: string[] } };
  assert.equal(spec.layer[0]!.mark.type, 'area');
  assert.deepEqual(spec.title.subtitle, ['preset smoke · seeds 1, 2']);
  const single = accuracyChartSpec({
    title: 'w',
    yTitle: 'A',
    series: [series('one', () => 0.5)],
    teacher: null,
  }) as unknown as {
    layer: { mark: { type: string } }[];
  };
  assert.ok(single.layer.every((l) => l.mark.type !== 'area'));
});
