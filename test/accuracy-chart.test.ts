import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderPng, renderSvg } from '../src/figures/chart-render.ts';
import {
  accuracyChartSpec,
  placeTeacherLabel,
  zoomedDomain,
  type AccuracySeries,
} from '../src/figures/accuracy-chart.ts';

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

test('the zoomed panel: 3 points under the teacher to just over the highest point, lines clipped at its edges', async () => {
  const [low, high] = zoomedDomain(0.7, [0.1, 0.65, 0.74]);
  assert.ok(Math.abs(low - 0.67) < 1e-12 && Math.abs(high - 0.745) < 1e-12, `${low}, ${high}`);
  assert.deepEqual(zoomedDomain(0.02, [0.999]), [0, 1], 'kept within [0, 1]');
  const spec = accuracyChartSpec({
    title: 'zoomed',
    yTitle: 'A',
    series: [series('far below', () => 0.1), series('near', () => 0.71)],
    teacher: { label: 'Teacher', accuracy: 0.7 },
    yRange: [0.67, 0.715],
  }) as unknown as {
    layer: {
      mark: { type: string; clip?: boolean };
      encoding?: { y?: { scale?: object } };
      data?: { values: { method: string }[] };
    }[];
    title: { subtitle: string[] };
  };
  const line = spec.layer.find((l) => l.mark.type === 'line')!;
  assert.deepEqual(line.encoding!.y!.scale, { domain: [0.67, 0.715], nice: false });
  assert.equal(line.mark.clip, true);
  // A line wholly outside the range is not drawn (resvg panics clipping a path to nothing) but named.
  assert.deepEqual([...new Set(line.data!.values.map((v) => v.method))], ['near']);
  assert.deepEqual(spec.title.subtitle, ['outside this range: far below']);
  const png = renderPng(await renderSvg(spec as unknown as Parameters<typeof renderSvg>[0]));
  assert.ok(png.length > 1000, 'renders');
});
