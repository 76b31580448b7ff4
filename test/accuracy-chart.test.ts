import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderPng, renderSvg } from '../src/figures/chart-render.ts';
import {
  accuracyChartSpec,
  CAPTION_CHARS,
  legendColumns,
  wrapLine,
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

test('the teacher label avoids min-max bands, not only the curves and the band edges', () => {
  // A band from 30% to 95% all along, its mean at 50%: beside the teacher's line (75%) is inside the band.
  const banded: AccuracySeries = {
    label: 'wide band',
    points: steps.map((step) => ({ step, accuracy: 0.5, low: 0.3, high: 0.95 })),
  };
  const place = placeTeacherLabel([banded], 0.75, [0, 1]);
  assert.equal(place.baseline, 'middle', 'not beside the line');
  assert.ok(place.y < 0.3, `below the band: ${JSON.stringify(place)}`);
});

type LayerSpec = {
  mark: { type: string; shape?: string };
  encoding?: { strokeDash?: { scale: { domain: string[]; range: number[][] } } };
  data?: { values: { method: string }[] };
};

test('a curve lying on another is drawn over it with its own dash and markers, and the caption names the overlap', async () => {
  const under = series('Teacher, trained further', (s) => 0.8 + s / 10000);
  const over = series('Net2WiderNet', (s) => 0.8005 + s / 10000);
  const apart = series('Random init', (s) => 0.3 + s / 1000);
  const spec = accuracyChartSpec({
    title: 'explore',
    caption: ['preset cpu'],
    yTitle: 'A',
    series: [under, over, apart],
    teacher: { label: 'Teacher', accuracy: 0.8 },
  }) as unknown as { layer: LayerSpec[]; title: { subtitle: string[] } };
  const line = spec.layer.find((l) => l.mark.type === 'line')!;
  const dash = line.encoding!.strokeDash!.scale;
  const dashOf = (label: string) => dash.range[dash.domain.indexOf(label)];
  assert.deepEqual(dashOf('Teacher, trained further'), [1, 0]);
  assert.deepEqual(dashOf('Random init'), [1, 0]);
  assert.notDeepEqual(dashOf('Net2WiderNet'), [1, 0], 'the upper curve is dashed');
  assert.equal(line.data!.values.at(-1)!.method, 'Net2WiderNet', 'and drawn last');
  const markers = spec.layer.filter((l) => l.mark.type === 'point');
  assert.deepEqual(
    markers.map((l) => [l.mark.shape, [...new Set(l.data!.values.map((v) => v.method))]]),
    [['square', ['Net2WiderNet']]],
  );
  assert.deepEqual(spec.title.subtitle, [
    'preset cpu',
    'Net2WiderNet (dotted, squares, on top) lies on Teacher, trained',
    'further',
  ]);
  const svg = await renderSvg(spec as unknown as Parameters<typeof renderSvg>[0]);
  assert.match(svg, /stroke-dasharray="2,3"/);
  const separate = accuracyChartSpec({ title: 't', yTitle: 'A', series: [under, apart], teacher: null }) as unknown as {
    layer: LayerSpec[];
    title: { text: string; subtitle?: string[] };
  };
  assert.equal(separate.layer.filter((l) => l.mark.type === 'point').length, 0, 'curves apart: no extra markers');
  assert.equal(separate.title.subtitle, undefined, 'and no overlap named');
});

test('legend labels are never cut: long labels get one column and no length limit', async () => {
  const long = 'Original model (inception-bn-small, from scratch)';
  const labels = [long, 'Net2DeeperNet (+4 pairs per module)', 'Random init (+4 pairs per module)'];
  assert.equal(legendColumns(labels), 1);
  assert.equal(legendColumns(['Net2WiderNet', 'Random pad']), 2);
  const spec = accuracyChartSpec({
    title: 'explore',
    yTitle: 'A',
    series: labels.map((label, i) => series(label, () => 0.3 + i * 0.2)),
    teacher: { label: `${long}, final (mean)`, accuracy: 0.85 },
  });
  const svg = await renderSvg(spec);
  const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
  for (const label of [...labels, `${long}, final (mean)`]) assert.ok(texts.includes(label), `legend shows ${label}`);
  assert.ok(!svg.includes('…'), 'no label ends in an ellipsis');
});

test('caption lines wrap at spaces, so that the figure keeps the width of its plot', async () => {
  assert.deepEqual(wrapLine('aa bb cc', 5), ['aa bb', 'cc']);
  assert.deepEqual(wrapLine('a-very-long-word b', 5), ['a-very-long-word', 'b']);
  const long = 'Teacher, trained further (dotted, squares, on top) lies on Net2WiderNet (x sqrt(2) width)';
  const spec = accuracyChartSpec({
    title: 'explore',
    caption: [long],
    yTitle: 'A',
    series: [series('one', () => 0.5)],
    teacher: null,
  });
  const subtitle = (spec as unknown as { title: { subtitle: string[] } }).title.subtitle;
  assert.ok(subtitle.every((line) => line.length <= CAPTION_CHARS) && subtitle.join(' ') === long, subtitle.join('|'));
  const width = Number((await renderSvg(spec)).match(/width="(\d+)"/)![1]);
  assert.ok(width < 700, `the figure is ${width} px wide`);
});
