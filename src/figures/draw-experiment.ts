/**
 * Draws an experiment's figures (training and validation accuracy against minibatches, one line per method, the
 * teacher as a dashed line; validation once more zoomed on the teacher's accuracy) as SVG and PNG, and writes its
 * summary table (markdown and JSON) and the per-seed curves they came from (`seed-curves.json`), all into
 * `<experiment dir>/figures/`, or in place when `dir` is a figures folder with only a seed-curves.json.
 * Runs with missing or partial curves are drawn as far as they go and named as such.
 */
import { join, relative } from 'node:path';
import type { ExperimentAnalysis } from '../analysis/experiment-analysis.ts';
import { analyzeExperiment } from '../analysis/experiment-analysis.ts';
import type { ExperimentSummary } from '../analysis/experiment-summary.ts';
import { writeFiguresSummary } from '../analysis/experiment-summary.ts';
import type { TeacherReference } from '../analysis/run-statistics.ts';
import type { SeriesAxis } from '../analysis/seed-statistics.ts';
import { seriesAcrossSeeds } from '../analysis/seed-statistics.ts';
import type { FigureAxis } from '../analysis/compute-cost.ts';
import { COST_COLUMN } from '../analysis/compute-cost.ts';
import { UsageError } from '../usage-error.ts';
import { writeFileAtomic } from '../io/atomic-file.ts';
import type { ExperimentManifest } from '../run-folder/experiment-manifest.ts';
import { readExperimentSource } from '../run-folder/experiment-source.ts';
import { SEED_CURVES_JSON, writeSeedCurvesFile } from '../run-folder/seed-curves-file.ts';
import type { SeedReading } from '../run-folder/seed-folders.ts';
import type { CurveRow } from '../train/curve-log.ts';
import { accuracyChartSpec, zoomedDomain } from './accuracy-chart.ts';
import { renderPng, renderSvg } from './chart-render.ts';
import { figureFonts } from './figure-fonts.ts';
import { figuresSummaryMarkdown } from './summary-table.ts';

export interface DrawExperimentOptions {
  log?: (line: string) => void;
  /**
   * The figures' x-axis; other axes than minibatches draw `<experiment>-<panel>-<axis>.svg/.png`. With neither this
   * nor `chargeTeacher` given: the paper's figures against minibatches and those of every axis the experiment lists
   * (experiment.json's `figureAxes`), the set a run draws at its end.
   */
  x?: FigureAxis;
  /** Runs that start from the teacher's weights start at its total training cost (files get `-charged`). */
  chargeTeacher?: boolean;
}

/** The axes to draw: the one asked for, else minibatches and the experiment's own (each once). */
function axesToDraw(options: DrawExperimentOptions, manifest: ExperimentManifest): SeriesAxis[] {
  if (options.x !== undefined || options.chargeTeacher !== undefined)
    return [{ axis: options.x ?? 'minibatches', chargeTeacher: options.chargeTeacher ?? false }];
  const axes: SeriesAxis[] = [{ axis: 'minibatches', chargeTeacher: false }];
  for (const { x, chargeTeacher } of manifest.figureAxes ?? [])
    if (!axes.some((a) => a.axis === x && a.chargeTeacher === chargeTeacher)) axes.push({ axis: x, chargeTeacher });
  return axes;
}

const X_AXES: Record<FigureAxis, { title: string; format: string }> = {
  minibatches: { title: 'Number of minibatches', format: ',d' },
  compute: { title: 'Training multiply-adds (3 x forward per image)', format: '.2s' },
  wall: { title: 'Training wall seconds', format: ',.0f' },
};

/** The file name's suffix for an axis: none for minibatches uncharged (the paper's figures). */
function axisSuffix(x: SeriesAxis): string {
  return `${x.axis === 'minibatches' ? '' : `-${x.axis}`}${x.chargeTeacher ? '-charged' : ''}`;
}

/** Refuses an axis the curves cannot give: a run drawn against minibatches but without a position on `x`. */
function checkAxis(seeds: readonly SeedReading[], x: SeriesAxis, withTeacher: boolean): void {
  if (x.axis === 'minibatches') return;
  const plain = seriesAcrossSeeds(seeds, (row) => row.val_acc, withTeacher);
  const placed = seriesAcrossSeeds(seeds, (row) => row.val_acc, withTeacher, x);
  const lacking = plain.filter((s, i) => s.points.length > 0 && placed[i]!.points.length === 0).map((s) => s.label);
  if (lacking.length > 0)
    throw new UsageError(
      `--x ${x.axis}: no ${COST_COLUMN[x.axis]} in the curves of ${lacking.join(', ')} ` +
        '(curves written before curve.csv had compute columns; train_macs is recomputed only from a run folder with config.json)',
    );
}

export interface DrawExperimentResult {
  /** Absolute paths of every file written. */
  files: string[];
  figuresDir: string;
  summaryMarkdown: string;
  /** The statistics drawn and tabled. */
  summary: ExperimentSummary;
  analysis: ExperimentAnalysis;
}

interface PanelDefinition {
  name: 'validation' | 'training' | 'validation-zoom';
  title: string;
  yTitle: string;
  accuracy: (row: CurveRow) => number | null;
  teacherAccuracy: (teacher: TeacherReference) => number | null;
  /** Draw only the 3 points under the teacher's accuracy and everything above it. */
  zoomOnTeacher?: boolean;
}

const PANELS: PanelDefinition[] = [
  {
    name: 'validation',
    title: 'Validation accuracy',
    yTitle: 'Accuracy on validation set',
    accuracy: (row) => row.val_acc,
    teacherAccuracy: (teacher) => teacher.finalValAcc,
  },
  {
    name: 'training',
    title: 'Training accuracy',
    yTitle: 'Accuracy on training set',
    accuracy: (row) => row.train_acc,
    teacherAccuracy: (teacher) => teacher.finalTrainAcc,
  },
  {
    name: 'validation-zoom',
    title: 'Validation accuracy near the teacher',
    yTitle: 'Accuracy on validation set',
    accuracy: (row) => row.val_acc,
    teacherAccuracy: (teacher) => teacher.finalValAcc,
    zoomOnTeacher: true,
  },
];

/**
 * What the figure shows, for a reader who sees only the picture: preset, data and seeds on one line; backend (with its
 * threads) and the students' noise on the next (short lines: vega sizes the figure by an estimate of their width).
 */
export function figureCaption(manifest: ExperimentManifest, seeds: readonly (number | null)[]): string[] {
  const threads = manifest.threads ? ` (${manifest.threads} thread${manifest.threads === 1 ? '' : 's'})` : '';
  return [
    [
      `preset ${manifest.preset ?? '?'}`,
      `data ${manifest.data ?? '?'}`,
      `${seeds.length > 1 ? 'seeds' : 'seed'} ${seeds.map((s) => s ?? '?').join(', ')}`,
    ].join(' · '),
    [
      `backend ${manifest.backend ?? '?'}${threads}`,
      ...(manifest.noise === undefined ? [] : [`noise ${manifest.noise}`]),
      ...(manifest.precision === undefined ? [] : [`precision ${manifest.precision}`]),
    ].join(' · '),
  ];
}

function fileStem(experiment: string): string {
  return experiment.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** The runs whose curve file had problems (missing, truncated), named once each. */
function incompleteWarning(seeds: readonly SeedReading[]): string[] {
  const incomplete = seeds.flatMap(({ reading }) =>
    reading.curves.filter((c) => c.curve.problems.length > 0).map(({ run }) => run.label),
  );
  return incomplete.length > 0 ? [`Incomplete data: ${[...new Set(incomplete)].join(', ')} (see summary.md)`] : [];
}

function logProblems(seeds: readonly SeedReading[], log: (line: string) => void): void {
  for (const { reading } of seeds) {
    for (const note of reading.manifest.notes) log(`figures: ${note}`);
    for (const { run, curve } of reading.curves)
      for (const problem of curve.problems) log(`figures: ${run.label}: ${problem}`);
  }
}

/** One panel as SVG and PNG in `figuresDir`; nothing when it is the zoom and there is no teacher accuracy. */
async function drawPanel(
  panel: PanelDefinition,
  seeds: readonly SeedReading[],
  summary: ExperimentSummary,
  figuresDir: string,
  text: { caption: string[]; warnings: string[] },
  x: SeriesAxis,
): Promise<string[]> {
  const manifest = seeds[0]!.reading.manifest;
  const teacherAccuracy = summary.teacher === null ? null : panel.teacherAccuracy(summary.teacher);
  if (panel.zoomOnTeacher && teacherAccuracy === null) return [];
  const series = seriesAcrossSeeds(seeds, panel.accuracy, manifest.drawTeacherCurve ?? false, x);
  const yRange =
    panel.zoomOnTeacher && teacherAccuracy !== null
      ? zoomedDomain(
          teacherAccuracy,
          series.flatMap((s) => s.points.map((p) => p.high ?? p.accuracy)),
        )
      : undefined;
  const teacherLabel = summary.teacher?.label ?? '';
  const spec = accuracyChartSpec({
    title: `${manifest.experiment}: ${panel.title}`,
    caption: text.caption,
    warnings: text.warnings,
    yTitle: panel.yTitle,
    ...(x.axis === 'minibatches' && !x.chargeTeacher
      ? {}
      : {
          xAxis: {
            ...X_AXES[x.axis],
            title: X_AXES[x.axis].title + (x.chargeTeacher ? ", the teacher's charged" : ''),
          },
        }),
    // Fig. 6 draws the original model's own curve (the teacher, from scratch) as the reference.
    series,
    ...(yRange ? { yRange } : {}),
    teacher:
      teacherAccuracy === null
        ? null
        : {
            label: `${teacherLabel}${manifest.drawTeacherCurve ? ', final' : ''}${seeds.length > 1 ? ' (mean)' : ''}`,
            accuracy: teacherAccuracy,
          },
  });
  const svg = await renderSvg(spec);
  const stem = fileStem(manifest.experiment);
  const svgPath = join(figuresDir, `${stem}-${panel.name}${axisSuffix(x)}.svg`);
  const pngPath = join(figuresDir, `${stem}-${panel.name}${axisSuffix(x)}.png`);
  writeFileAtomic(svgPath, svg);
  writeFileAtomic(pngPath, renderPng(svg));
  return [svgPath, pngPath];
}

export async function drawExperimentFigures(
  experimentDir: string,
  options: DrawExperimentOptions = {},
): Promise<DrawExperimentResult> {
  const log = options.log ?? (() => {});
  const source = readExperimentSource(experimentDir);
  const { seeds, figuresDir } = source;
  logProblems(seeds, log);
  const axes = axesToDraw(options, seeds[0]!.reading.manifest);
  for (const x of axes) checkAxis(seeds, x, seeds[0]!.reading.manifest.drawTeacherCurve ?? false);
  const analysis = analyzeExperiment(seeds, source.experimentSeeds);
  const text = {
    caption: figureCaption(seeds[0]!.reading.manifest, analysis.seeds),
    warnings: incompleteWarning(seeds),
  };
  log(`figures: PNG text uses ${figureFonts().source}`);
  const files: string[] = [];
  for (const x of axes)
    for (const panel of PANELS) files.push(...(await drawPanel(panel, seeds, analysis.summary, figuresDir, text, x)));
  files.push(
    source.fromCurvesFile
      ? join(figuresDir, SEED_CURVES_JSON)
      : writeSeedCurvesFile(figuresDir, seeds, analysis.experimentSeeds),
  );
  const markdownPath = join(figuresDir, 'summary.md');
  const jsonPath = join(figuresDir, 'summary.json');
  files.push(markdownPath, jsonPath);
  const { summary, methods, claims, claimMargin, experimentSeeds } = analysis;
  // Names relative to the figures folder, so a committed summary.json does not carry this machine's paths.
  const drawn = files.map((file) => relative(figuresDir, file));
  const { threads, precision } = seeds[0]!.reading.manifest;
  const figuresSummary = {
    ...summary,
    files: drawn,
    seeds: analysis.seeds,
    experimentSeeds,
    ...(threads === undefined ? {} : { threads }),
    methods,
    claims,
    claimMargin,
    ...(precision === undefined ? {} : { precision }),
  };
  const markdown = figuresSummaryMarkdown(figuresSummary);
  writeFileAtomic(markdownPath, markdown);
  writeFiguresSummary(figuresDir, figuresSummary);
  for (const file of files) log(`figures: wrote ${file}`);
  return { files, figuresDir, summaryMarkdown: markdown, summary, analysis };
}
