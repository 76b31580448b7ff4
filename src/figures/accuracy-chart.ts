/**
 * The vega-lite specification of one panel of the paper's Figures 4-6: accuracy against the number of minibatches,
 * one line per method (the mean over seeds, with a min-max band when there are several), and the teacher's final
 * accuracy as a dashed, labelled horizontal line whose label sits where it hides no curve.
 */
import type { TopLevelSpec } from 'vega-lite';

export const FIGURE_FONT_FAMILY = 'DejaVu Sans';

const METHOD_COLOURS = [
  '#4c78a8',
  '#f58518',
  '#e45756',
  '#54a24b',
  '#b279a2',
  '#72b7b2',
  '#9d755d',
  '#eeca3b',
  '#ff9da6',
  '#bab0ac',
];
const TEACHER_COLOUR = '#222222';
const TEACHER_DASH = [7, 4];
const SOLID = [1, 0];
/** Above this many evaluations in a series, the points are left off and only the line is drawn. */
const MAX_POINTS_WITH_MARKERS = 40;

export interface AccuracyPoint {
  step: number;
  /** The mean over seeds (or the one seed's value). */
  accuracy: number;
  /** Lowest and highest over seeds, when there are several. */
  low?: number;
  high?: number;
}

export interface AccuracySeries {
  label: string;
  points: AccuracyPoint[];
}

export interface AccuracyChartInput {
  title: string;
  /** Grey lines under the title: what the figure shows (preset, data, seeds, backend). */
  caption?: string[];
  /** Red lines inside the plot: what is missing or wrong with the data. */
  warnings?: string[];
  yTitle: string;
  series: AccuracySeries[];
  teacher: { label: string; accuracy: number } | null;
}

/** Where the teacher's label goes: a corner of the plot along the teacher's line, above or below it. */
export interface LabelPlacement {
  along: 'left' | 'middle' | 'right';
  side: 'above' | 'below';
}

const LABEL_WIDTH_FRACTION = 0.4;
const LABEL_HEIGHT_FRACTION = 0.07;

/** A series' value at `step`, linearly between evaluations; null outside its range. */
function valueAt(points: readonly AccuracyPoint[], step: number): number | null {
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1]!, points[i]!];
    if (step >= a.step && step <= b.step) {
      const t = b.step === a.step ? 0 : (step - a.step) / (b.step - a.step);
      return a.accuracy + t * (b.accuracy - a.accuracy);
    }
  }
  return points.length === 1 && points[0]!.step === step ? points[0]!.accuracy : null;
}

/**
 * The placement whose label box (about 40% of the width, 7% of the height, beside the teacher's line) is crossed
 * by the fewest curve samples and band edges; ties keep the earlier candidate (right above first, as is usual).
 */
export function placeTeacherLabel(
  series: readonly AccuracySeries[],
  teacherAccuracy: number,
  yDomain: [number, number],
): LabelPlacement {
  const steps = series.flatMap((s) => s.points.map((p) => p.step));
  const [xMin, xMax] = steps.length ? [Math.min(0, ...steps), Math.max(...steps)] : [0, 1];
  const height = (yDomain[1] - yDomain[0]) * LABEL_HEIGHT_FRACTION;
  const candidates: LabelPlacement[] = (['right', 'left', 'middle'] as const).flatMap((along) =>
    (['above', 'below'] as const).map((side) => ({ along, side })),
  );
  const intrusions = ({ along, side }: LabelPlacement): number => {
    const start = { left: 0, middle: (1 - LABEL_WIDTH_FRACTION) / 2, right: 1 - LABEL_WIDTH_FRACTION }[along];
    const [low, high] =
      side === 'above' ? [teacherAccuracy, teacherAccuracy + height] : [teacherAccuracy - height, teacherAccuracy];
    const outside = side === 'above' ? high > yDomain[1] : low < yDomain[0];
    let count = outside ? 1e6 : 0;
    for (let k = 0; k <= 40; k++) {
      const step = xMin + (xMax - xMin) * (start + (LABEL_WIDTH_FRACTION * k) / 40);
      for (const s of series) {
        const y = valueAt(s.points, step);
        if (y !== null && y >= low && y <= high) count++;
      }
    }
    return count;
  };
  return candidates.reduce((best, c) => (intrusions(c) < intrusions(best) ? c : best));
}

/** The y range: the data's, padded a little (so equal values still get an axis), within [0, 1]. */
export function accuracyDomain(accuracies: number[]): { domain: [number, number]; nice: false } | { zero: false } {
  if (accuracies.length === 0) return { zero: false };
  const low = Math.min(...accuracies);
  const high = Math.max(...accuracies);
  const pad = Math.max((high - low) * 0.05, 0.01);
  return { domain: [Math.max(0, low - pad), Math.min(1, high + pad)], nice: false };
}

type Layers = NonNullable<Extract<TopLevelSpec, { layer: unknown }>['layer']>;
type LegendAndScale = Record<'color' | 'strokeDash', object>;

/** The teacher's final accuracy: a rule in the legend's style, and its caption where it hides no curve. */
function teacherLayers(
  series: AccuracySeries[],
  teacher: { label: string; accuracy: number },
  yScale: ReturnType<typeof accuracyDomain>,
  legendAndScale: LegendAndScale,
): Layers {
  const domainOfY = 'domain' in yScale ? yScale.domain : ([0, 1] as [number, number]);
  const place = placeTeacherLabel(series, teacher.accuracy, domainOfY);
  const labelX = {
    left: { x: 0, align: 'left', dx: 4 },
    middle: { x: 'width', align: 'center', dx: 0 },
    right: { x: 'width', align: 'right', dx: -4 },
  }[place.along];
  const teacherRow = [
    {
      method: teacher.label,
      accuracy: teacher.accuracy,
      caption: `${teacher.label}: ${(teacher.accuracy * 100).toFixed(2)}%`,
    },
  ];
  return [
    {
      data: { values: teacherRow },
      mark: { type: 'rule', strokeWidth: 2 },
      encoding: { y: { field: 'accuracy', type: 'quantitative' }, ...legendAndScale },
    },
    // The caption twice: a thick white stroke first as a halo, so the caption stays legible over crossing curves.
    ...[true, false].map((halo) => ({
      data: { values: teacherRow },
      mark: {
        type: 'text' as const,
        ...(place.along === 'middle' ? { x: { expr: 'width / 2' } } : { x: labelX.x as 0 | 'width' }),
        align: labelX.align as 'left' | 'center' | 'right',
        baseline: place.side === 'above' ? ('bottom' as const) : ('top' as const),
        dx: labelX.dx,
        dy: place.side === 'above' ? -3 : 3,
        fontSize: 11,
        ...(halo ? { stroke: 'white', strokeWidth: 4, strokeOpacity: 0.9, strokeJoin: 'round' as const } : {}),
      },
      encoding: {
        y: { field: 'accuracy', type: 'quantitative' as const },
        text: { field: 'caption', type: 'nominal' as const },
        color: { value: TEACHER_COLOUR },
      },
    })),
  ];
}

/** "No evaluations yet" in the middle of an empty chart, and warnings in red in its top-left corner. */
function noteLayers(empty: boolean, warnings: string[]): Layers {
  const layers: Layers = [];
  if (empty) {
    layers.push({
      data: { values: [{ message: 'No evaluations yet' }] },
      mark: { type: 'text', x: { expr: 'width / 2' }, y: { expr: 'height / 2' }, fontSize: 16, color: '#888888' },
      encoding: { text: { field: 'message', type: 'nominal' } },
    });
  }
  if (warnings.length > 0) {
    layers.push({
      data: { values: warnings.map((line, i) => ({ line, i })) },
      mark: {
        type: 'text',
        x: 4,
        y: { expr: `4 + datum.i * 14` },
        align: 'left',
        baseline: 'top',
        fontSize: 11,
        color: '#a03030',
      },
      encoding: { text: { field: 'line', type: 'nominal' } },
    });
  }
  return layers;
}

export function accuracyChartSpec(input: AccuracyChartInput): TopLevelSpec {
  const methodLabels = input.series.map((series) => series.label);
  const teacherLabel = input.teacher?.label;
  const domain = teacherLabel === undefined ? methodLabels : [teacherLabel, ...methodLabels];
  const colours = methodLabels.map((_, index) => METHOD_COLOURS[index % METHOD_COLOURS.length]!);
  const colourRange = teacherLabel === undefined ? colours : [TEACHER_COLOUR, ...colours];
  const dashRange = domain.map((label) => (label === teacherLabel ? TEACHER_DASH : SOLID));
  const legendAndScale = {
    color: { field: 'method', type: 'nominal' as const, scale: { domain, range: colourRange }, title: null },
    strokeDash: { field: 'method', type: 'nominal' as const, scale: { domain, range: dashRange }, title: null },
  };
  const values = input.series.flatMap((series) =>
    series.points.map((point) => ({
      method: series.label,
      band: series.label,
      step: point.step,
      accuracy: point.accuracy,
      low: point.low ?? point.accuracy,
      high: point.high ?? point.accuracy,
    })),
  );
  const hasBands = values.some((v) => v.low !== v.high);
  const yScale = accuracyDomain(
    values.flatMap((v) => [v.low, v.high]).concat(input.teacher ? [input.teacher.accuracy] : []),
  );
  const xEncoding = {
    field: 'step',
    type: 'quantitative' as const,
    title: 'Number of minibatches',
    scale: { zero: true },
    axis: { format: ',d', tickMinStep: 1 },
  };
  const showMarkers = input.series.every((series) => series.points.length <= MAX_POINTS_WITH_MARKERS);

  const layers: Layers = [];
  if (hasBands) {
    layers.push({
      data: { values },
      mark: { type: 'area', opacity: 0.18, clip: true },
      encoding: {
        x: xEncoding,
        y: { field: 'low', type: 'quantitative', scale: yScale },
        y2: { field: 'high' },
        // No `order` channel here: on an area it splits the path into one group per step (nothing is drawn).
        // A field of its own (`band`, the method again) with no legend: vega-lite merges legends of channels that
        // share a field, and a hidden one would hide the lines' legend too.
        fill: { ...legendAndScale.color, field: 'band', legend: null },
      },
    });
  }
  layers.push({
    data: { values },
    mark: { type: 'line', strokeWidth: 2, point: showMarkers ? { size: 24, filled: true } : false, clip: true },
    encoding: {
      x: xEncoding,
      y: { field: 'accuracy', type: 'quantitative', title: input.yTitle, scale: yScale, axis: { format: '~%' } },
      ...legendAndScale,
      order: { field: 'step', type: 'quantitative' },
    },
  });
  layers.push(...noteLayers(values.length === 0 && input.teacher === null, input.warnings ?? []));
  if (input.teacher !== null) layers.push(...teacherLayers(input.series, input.teacher, yScale, legendAndScale));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title:
      input.caption && input.caption.length > 0
        ? { text: input.title, subtitle: input.caption, subtitleColor: '#555555' }
        : { text: input.title },
    width: 560,
    height: 340,
    background: 'white',
    padding: 12,
    config: {
      font: FIGURE_FONT_FAMILY,
      legend: {
        orient: 'bottom',
        direction: 'horizontal',
        columns: 2,
        columnPadding: 24,
        symbolType: 'stroke',
        symbolStrokeWidth: 2,
        labelLimit: 320,
      },
      title: { fontSize: 15, anchor: 'start' },
      axis: { labelFontSize: 11, titleFontSize: 12 },
    },
    layer: layers,
  };
}
