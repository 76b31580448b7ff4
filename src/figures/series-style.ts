/**
 * How the curves of one panel are told apart. Each gets a colour; where two curves lie within a line width of each
 * other over most of the evaluations both made (Net2WiderNet under the teacher trained further, say), the later one is
 * drawn on top of the other with a dash pattern of its own and hollow markers of its own shape, and the caption names
 * the overlap, so that no curve is hidden.
 */
import type { AccuracySeries } from '../analysis/seed-statistics.ts';

export interface SeriesStyle {
  label: string;
  colour: string;
  dash: number[];
  /** A vega point shape drawn on every evaluation, for a curve that overlaps another; null otherwise. */
  marker: string | null;
  /** The curve it overlaps (the one drawn first), when it does. */
  overlaps: string | null;
}

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
const SOLID = [1, 0];
const OVERLAP_DASHES = [
  [2, 3],
  [8, 3, 2, 3],
  [1, 4],
];
const DASH_NAMES = ['dotted', 'dash-dotted', 'finely dotted'];
const OVERLAP_MARKERS = ['square', 'triangle-up', 'diamond'];
const MARKER_NAMES = ['squares', 'triangles', 'diamonds'];
/** Curves whose distance on the plot is at most this many pixels at an evaluation lie on each other there. */
const OVERLAP_PIXELS = 3;

/**
 * Whether `b` lies on `a`: within OVERLAP_PIXELS at more than half of the steps both evaluated (`pixelsPerUnit`: plot
 * pixels per unit of accuracy).
 */
export function overlap(a: AccuracySeries, b: AccuracySeries, pixelsPerUnit: number): boolean {
  const bySteps = new Map(a.points.map((p) => [p.step, p.accuracy]));
  const shared = b.points.filter((p) => bySteps.has(p.step));
  if (shared.length === 0) return false;
  const close = shared.filter((p) => Math.abs(p.accuracy - bySteps.get(p.step)!) * pixelsPerUnit <= OVERLAP_PIXELS);
  return close.length * 2 > shared.length;
}

/** The style of each series, in their order; a curve overlapping an earlier one gets a dash and markers. */
export function seriesStyles(series: readonly AccuracySeries[], pixelsPerUnit: number): SeriesStyle[] {
  let distinguished = 0;
  return series.map((s, i) => {
    const colour = METHOD_COLOURS[i % METHOD_COLOURS.length]!;
    const under = series.slice(0, i).find((earlier) => overlap(earlier, s, pixelsPerUnit));
    if (under === undefined) return { label: s.label, colour, dash: SOLID, marker: null, overlaps: null };
    const k = distinguished++ % OVERLAP_DASHES.length;
    return { label: s.label, colour, dash: OVERLAP_DASHES[k]!, marker: OVERLAP_MARKERS[k]!, overlaps: under.label };
  });
}

/** Caption lines naming each overlap and how the upper curve is drawn, e.g. "A (dotted, squares) lies on B". */
export function overlapCaption(styles: readonly SeriesStyle[]): string[] {
  return styles.flatMap((style) => {
    if (style.overlaps === null) return [];
    const k = OVERLAP_MARKERS.indexOf(style.marker!);
    return [`${style.label} (${DASH_NAMES[k]}, ${MARKER_NAMES[k]}, on top) lies on ${style.overlaps}`];
  });
}
