/**
 * The vega-lite specification of one panel of the paper's Figures 4-6: accuracy against the number of minibatches,
 * one line per method, and the teacher's final accuracy as a dashed, labelled horizontal line.
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

export interface AccuracySeries {
  label: string;
  points: { step: number; accuracy: number }[];
}

export interface AccuracyChartInput {
  title: string;
  subtitle?: string[];
  yTitle: string;
  series: AccuracySeries[];
  teacher: { label: string; accuracy: number } | null;
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

/** The teacher's final accuracy: a dashed rule in the legend's style, and its caption at the right end. */
function teacherLayers(teacher: { label: string; accuracy: number }, legendAndScale: LegendAndScale): Layers {
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
        x: 'width' as const,
        align: 'right' as const,
        baseline: 'bottom' as const,
        dx: -4,
        dy: -3,
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
    series.points.map((point) => ({ method: series.label, step: point.step, accuracy: point.accuracy })),
  );
  const showMarkers = input.series.every((series) => series.points.length <= MAX_POINTS_WITH_MARKERS);

  const layers: Layers = [
    {
      data: { values },
      mark: { type: 'line', strokeWidth: 2, point: showMarkers ? { size: 24, filled: true } : false, clip: true },
      encoding: {
        x: {
          field: 'step',
          type: 'quantitative',
          title: 'Number of minibatches',
          scale: { zero: true },
          axis: { format: ',d', tickMinStep: 1 },
        },
        y: {
          field: 'accuracy',
          type: 'quantitative',
          title: input.yTitle,
          scale: accuracyDomain(values.map((v) => v.accuracy).concat(input.teacher ? [input.teacher.accuracy] : [])),
          axis: { format: '~%' },
        },
        ...legendAndScale,
        order: { field: 'step', type: 'quantitative' },
      },
    },
  ];
  if (values.length === 0 && input.teacher === null) {
    layers.push({
      data: { values: [{ message: 'No evaluations yet' }] },
      mark: { type: 'text', x: { expr: 'width / 2' }, y: { expr: 'height / 2' }, fontSize: 16, color: '#888888' },
      encoding: { text: { field: 'message', type: 'nominal' } },
    });
  }
  if (input.teacher !== null) layers.push(...teacherLayers(input.teacher, legendAndScale));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title:
      input.subtitle && input.subtitle.length > 0
        ? { text: input.title, subtitle: input.subtitle, subtitleColor: '#a03030' }
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
