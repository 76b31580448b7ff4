/**
 * The vega-lite specification of one panel of the paper's Figures 4-6: accuracy against the number of minibatches,
 * one line per method (the mean over seeds, with a min-max band when there are several), and the teacher's final
 * accuracy as a dashed, labelled horizontal line whose label sits where it hides no curve.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { AccuracyPoint, AccuracySeries } from '../analysis/seed-statistics.ts';
import type { SeriesStyle } from './series-style.ts';
import { overlapCaption, seriesStyles } from './series-style.ts';

export const FIGURE_FONT_FAMILY = 'DejaVu Sans';

const TEACHER_COLOUR = '#222222';
const TEACHER_DASH = [7, 4];
/** Above this many evaluations in a series, the points are left off and only the line is drawn. */
const MAX_POINTS_WITH_MARKERS = 40;

export type { AccuracyPoint, AccuracySeries };

export interface AccuracyChartInput {
  title: string;
  /** Grey lines under the title: what the figure shows (preset, data, seeds, backend). */
  caption?: string[];
  /** Red lines inside the plot: what is missing or wrong with the data. */
  warnings?: string[];
  yTitle: string;
  series: AccuracySeries[];
  teacher: { label: string; accuracy: number } | null;
  /** The y range drawn (lines and bands outside it are clipped at its edges); default: the data's. */
  yRange?: [number, number];
  /** The x-axis title and d3 number format; default minibatches ('Number of minibatches', ',d'). */
  xAxis?: { title: string; format: string };
}

/**
 * Where the teacher's label goes: `y` is the accuracy its text is anchored at and `baseline` how the text sits on it.
 * Beside the teacher's line ('bottom': just above it, 'top': just below) when that hides no curve, else in the
 * emptiest free space of the plot (the legend already names the dashed line).
 */
export interface LabelPlacement {
  along: 'left' | 'middle' | 'right';
  y: number;
  baseline: 'bottom' | 'top' | 'middle';
}

const PLOT_WIDTH = 560;
const PLOT_HEIGHT = 340;
/** DejaVu Sans at 11 px: about 6.6 px a character; a line is about 14 px high. */
const CHAR_WIDTH = 6.6;
const LINE_HEIGHT = 14;
const FREE_ROWS = [0.08, 0.2, 0.35, 0.5, 0.65, 0.8, 0.92];

/** A series' value at `step`, linearly between evaluations; null outside its range. */
function valueAt(points: readonly AccuracyPoint[], step: number, pick: (p: AccuracyPoint) => number): number | null {
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1]!, points[i]!];
    if (step >= a.step && step <= b.step) {
      const t = b.step === a.step ? 0 : (step - a.step) / (b.step - a.step);
      return pick(a) + t * (pick(b) - pick(a));
    }
  }
  return points.length === 1 && points[0]!.step === step ? pick(points[0]!) : null;
}

/**
 * The placement whose label box (sized from the text) is crossed by the fewest samples of the curves and of their
 * bands (a band counts where any part of it lies in the box, not only its edges): beside the line if some spot there
 * is clear, else the clearest free spot; ties keep the earlier
 * candidate (right before left before middle; above before below; lower free rows first).
 */
export function placeTeacherLabel(
  series: readonly AccuracySeries[],
  teacherAccuracy: number,
  yDomain: [number, number],
  labelChars = 30,
): LabelPlacement {
  const steps = series.flatMap((s) => s.points.map((p) => p.step));
  const [xMin, xMax] = steps.length ? [Math.min(0, ...steps), Math.max(...steps)] : [0, 1];
  const span = yDomain[1] - yDomain[0];
  const width = Math.min(1, (labelChars * CHAR_WIDTH + 8) / PLOT_WIDTH);
  const height = (span * (LINE_HEIGHT + 3)) / PLOT_HEIGHT;
  const alongs = ['right', 'left', 'middle'] as const;
  const box = (place: LabelPlacement): [number, number] =>
    place.baseline === 'bottom'
      ? [place.y, place.y + height]
      : place.baseline === 'top'
        ? [place.y - height, place.y]
        : [place.y - height / 2, place.y + height / 2];
  const intrusions = (place: LabelPlacement): number => {
    const [low, high] = box(place);
    if (low < yDomain[0] || high > yDomain[1]) return Infinity;
    const start = { left: 0, middle: (1 - width) / 2, right: 1 - width }[place.along];
    let count = place.baseline === 'middle' && teacherAccuracy >= low && teacherAccuracy <= high ? 1 : 0;
    for (let k = 0; k <= 40; k++) {
      const step = xMin + (xMax - xMin) * (start + (width * k) / 40);
      for (const s of series) {
        // A curve and its band are one vertical interval at this step: the box may not touch any of it.
        const bottom = valueAt(s.points, step, (p) => p.low ?? p.accuracy);
        const top = valueAt(s.points, step, (p) => p.high ?? p.accuracy);
        if (bottom !== null && top !== null && top >= low && bottom <= high) count++;
      }
    }
    return count;
  };
  const beside = alongs.flatMap((along) =>
    (['bottom', 'top'] as const).map((baseline): LabelPlacement => ({ along, y: teacherAccuracy, baseline })),
  );
  const free = FREE_ROWS.flatMap((row) =>
    alongs.map((along): LabelPlacement => ({ along, y: yDomain[0] + row * span, baseline: 'middle' })),
  );
  const best = (candidates: LabelPlacement[]) => candidates.reduce((a, b) => (intrusions(b) < intrusions(a) ? b : a));
  const besideBest = best(beside);
  if (intrusions(besideBest) === 0) return besideBest;
  const freeBest = best(free);
  return intrusions(freeBest) < intrusions(besideBest) ? freeBest : besideBest;
}

/**
 * The y range of a panel zoomed on the teacher: from `below` under the teacher's accuracy to a little over the
 * highest point drawn, where the Net2Net students, the teacher trained further and the best baselines differ by
 * a point or two that the full range (chance to the top) flattens into one line.
 */
export function zoomedDomain(teacherAccuracy: number, accuracies: number[], below = 0.03): [number, number] {
  const high = Math.max(teacherAccuracy, ...accuracies);
  return [Math.max(0, teacherAccuracy - below), Math.min(1, high + 0.005)];
}

/** Whether any point of the series (or of its band) lies within [low, high]. */
function reachesRange(series: AccuracySeries, [low, high]: [number, number]): boolean {
  return series.points.some((p) => (p.high ?? p.accuracy) >= low && (p.low ?? p.accuracy) <= high);
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
  const caption = `${teacher.label}: ${(teacher.accuracy * 100).toFixed(2)}%`;
  const place = placeTeacherLabel(series, teacher.accuracy, domainOfY, caption.length);
  const labelX = {
    left: { x: 0, align: 'left', dx: 4 },
    middle: { x: 'width', align: 'center', dx: 0 },
    right: { x: 'width', align: 'right', dx: -4 },
  }[place.along];
  const teacherRow = [
    {
      method: teacher.label,
      accuracy: teacher.accuracy,
      labelY: place.y,
      caption,
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
        baseline: place.baseline,
        dx: labelX.dx,
        dy: { bottom: -3, top: 3, middle: 0 }[place.baseline],
        fontSize: 11,
        ...(halo ? { stroke: 'white', strokeWidth: 4, strokeOpacity: 0.9, strokeJoin: 'round' as const } : {}),
      },
      encoding: {
        y: { field: 'labelY', type: 'quantitative' as const },
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

/** Fonts, legend and title style of every accuracy chart. */
const CHART_CONFIG = {
  font: FIGURE_FONT_FAMILY,
  legend: {
    orient: 'bottom',
    direction: 'horizontal',
    columns: 2,
    columnPadding: 24,
    symbolType: 'stroke',
    symbolStrokeWidth: 2,
    // No limit: a legend label is never cut (long labels get one column instead, legendColumns).
    labelLimit: 0,
  },
  title: { fontSize: 15, anchor: 'start' },
  axis: { labelFontSize: 11, titleFontSize: 12 },
} as const;

/**
 * Characters per caption line. Without a canvas vega estimates a text's width as 0.8 x font size per character and
 * widens the figure to fit: lines of at most this many characters keep the figure the plot's width.
 */
export const CAPTION_CHARS = 64;

/** `line` broken at spaces into lines of at most `width` characters (a longer word keeps a line of its own). */
export function wrapLine(line: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of line.split(' ')) {
    if (current !== '' && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else current = current === '' ? word : `${current} ${word}`;
  }
  return [...lines, current];
}

/** Two legend columns while the longest label fits in half the plot's width (DejaVu Sans 10 px), else one. */
export function legendColumns(labels: readonly string[]): 1 | 2 {
  const longest = Math.max(0, ...labels.map((label) => label.length));
  return longest * 6.2 + 40 <= PLOT_WIDTH / 2 ? 2 : 1;
}

type Row = { method: string; band: string; step: number; accuracy: number; low: number; high: number };

/** The min-max bands, the lines (overlapping ones last, so on top) and the overlapping lines' own markers. */
function seriesLayers(
  rows: Row[],
  styles: readonly SeriesStyle[],
  xEncoding: object,
  y: { title: string; scale: object },
  legendAndScale: LegendAndScale,
  showMarkers: boolean,
): Layers {
  const layers: Layers = [];
  if (rows.some((v) => v.low !== v.high)) {
    layers.push({
      data: { values: rows },
      mark: { type: 'area', opacity: 0.18, clip: true },
      encoding: {
        x: xEncoding,
        y: { field: 'low', type: 'quantitative', scale: y.scale },
        y2: { field: 'high' },
        // No `order` channel here: on an area it splits the path into one group per step (nothing is drawn).
        // A field of its own (`band`, the method again) with no legend: vega-lite merges legends of channels that
        // share a field, and a hidden one would hide the lines' legend too.
        fill: { ...legendAndScale.color, field: 'band', legend: null },
      },
    });
  }
  const onTop = new Set(styles.filter((style) => style.overlaps !== null).map((style) => style.label));
  const ordered = [...rows.filter((r) => !onTop.has(r.method)), ...rows.filter((r) => onTop.has(r.method))];
  layers.push({
    data: { values: ordered },
    mark: { type: 'line', strokeWidth: 2, point: showMarkers ? { size: 24, filled: true } : false, clip: true },
    encoding: {
      x: xEncoding,
      y: { field: 'accuracy', type: 'quantitative', title: y.title, scale: y.scale, axis: { format: '~%' } },
      ...legendAndScale,
      order: { field: 'step', type: 'quantitative' },
    },
  });
  for (const style of styles.filter((st) => st.marker !== null))
    layers.push({
      data: { values: rows.filter((r) => r.method === style.label) },
      mark: {
        type: 'point',
        shape: style.marker!,
        filled: false,
        size: 60,
        strokeWidth: 1.5,
        color: style.colour,
        clip: true,
      },
      encoding: { x: xEncoding, y: { field: 'accuracy', type: 'quantitative', scale: y.scale } },
    });
  return layers;
}

export function accuracyChartSpec(input: AccuracyChartInput): TopLevelSpec {
  // A line entirely outside the zoomed range is left out (resvg cannot clip a path to nothing) and named instead.
  const outOfRange = input.yRange ? input.series.filter((series) => !reachesRange(series, input.yRange!)) : [];
  const drawn = input.series.filter((series) => !outOfRange.includes(series));
  const rows: Row[] = drawn.flatMap((series) =>
    series.points.map((point) => ({
      method: series.label,
      band: series.label,
      step: point.step,
      accuracy: point.accuracy,
      low: point.low ?? point.accuracy,
      high: point.high ?? point.accuracy,
    })),
  );
  const yScale = input.yRange
    ? { domain: input.yRange, nice: false as const }
    : accuracyDomain(rows.flatMap((v) => [v.low, v.high]).concat(input.teacher ? [input.teacher.accuracy] : []));
  const [yLow, yHigh] = 'domain' in yScale ? yScale.domain : [0, 1];
  const styles = seriesStyles(input.series, PLOT_HEIGHT / Math.max(yHigh - yLow, 1e-9));
  const teacherLabel = input.teacher?.label;
  const domain =
    teacherLabel === undefined ? styles.map((s) => s.label) : [teacherLabel, ...styles.map((s) => s.label)];
  const colourRange = [...(teacherLabel === undefined ? [] : [TEACHER_COLOUR]), ...styles.map((s) => s.colour)];
  const dashRange = [...(teacherLabel === undefined ? [] : [TEACHER_DASH]), ...styles.map((s) => s.dash)];
  const legendAndScale = {
    color: { field: 'method', type: 'nominal' as const, scale: { domain, range: colourRange }, title: null },
    strokeDash: { field: 'method', type: 'nominal' as const, scale: { domain, range: dashRange }, title: null },
  };
  const caption = [
    ...(input.caption ?? []),
    ...overlapCaption(styles.filter((style) => drawn.some((s) => s.label === style.label))),
    ...(outOfRange.length > 0 ? [`outside this range: ${outOfRange.map((s) => s.label).join(', ')}`] : []),
  ].flatMap((line) => wrapLine(line, CAPTION_CHARS));
  const xEncoding = {
    field: 'step',
    type: 'quantitative' as const,
    title: input.xAxis?.title ?? 'Number of minibatches',
    scale: { zero: true },
    axis: input.xAxis ? { format: input.xAxis.format } : { format: ',d', tickMinStep: 1 },
  };
  const showMarkers = input.series.every((series) => series.points.length <= MAX_POINTS_WITH_MARKERS);
  const drawnStyles = styles.filter((style) => drawn.some((s) => s.label === style.label));
  const layers: Layers = seriesLayers(
    rows,
    drawnStyles,
    xEncoding,
    { title: input.yTitle, scale: yScale },
    legendAndScale,
    showMarkers,
  );
  layers.push(...noteLayers(rows.length === 0 && input.teacher === null, input.warnings ?? []));
  if (input.teacher !== null) layers.push(...teacherLayers(drawn, input.teacher, yScale, legendAndScale));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title:
      caption.length > 0 ? { text: input.title, subtitle: caption, subtitleColor: '#555555' } : { text: input.title },
    width: PLOT_WIDTH,
    height: PLOT_HEIGHT,
    background: 'white',
    padding: 12,
    config: { ...CHART_CONFIG, legend: { ...CHART_CONFIG.legend, columns: legendColumns(domain) } },
    layer: layers,
  };
}
