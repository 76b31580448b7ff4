/**
 * Draws an experiment folder's figures (training and validation accuracy against minibatches, one line per method,
 * the teacher as a dashed line; validation once more zoomed on the teacher's accuracy) as SVG and PNG, and writes its summary table (markdown and JSON), all into
 * `<experiment dir>/figures/`. Runs with missing or partial curves are drawn as far as they go and named as such.
 */
import { join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomic-file.ts';
import { FIGURES_DIR, writeFiguresSummary } from '../run-folder/experiment-summary.ts';
import { readSeedReadings } from '../run-folder/seed-folders.ts';
import type { SeedReading } from '../run-folder/seed-folders.ts';
import {
  DEFAULT_CLAIM_MARGIN,
  claimsAcrossSeeds,
  methodSummaries,
  seriesAcrossSeeds,
  spread,
} from './seed-statistics.ts';
import type { ExperimentSummary } from '../run-folder/experiment-summary.ts';
import type { TeacherReference } from '../run-folder/run-statistics.ts';
import type { ExperimentManifest } from '../run-folder/experiment-manifest.ts';
import type { CurveRow } from '../train/curve-log.ts';
import { accuracyChartSpec, zoomedDomain } from './accuracy-chart.ts';
import { renderPng, renderSvg } from './chart-render.ts';
import { figureFonts } from './figure-fonts.ts';
import { figuresSummaryMarkdown } from './summary-table.ts';

export interface DrawExperimentOptions {
  log?: (line: string) => void;
}

export interface DrawExperimentResult {
  /** Absolute paths of every file written. */
  files: string[];
  summaryMarkdown: string;
  /** The statistics drawn and tabled. */
  summary: ExperimentSummary;
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

/** What the figure shows, for a reader who sees only the picture: preset, data, seeds, backend. */
export function figureCaption(manifest: ExperimentManifest, seeds: readonly (number | null)[]): string {
  const parts = [
    `preset ${manifest.preset ?? '?'}`,
    `data ${manifest.data ?? '?'}`,
    `${seeds.length > 1 ? 'seeds' : 'seed'} ${seeds.map((s) => s ?? '?').join(', ')}`,
    `backend ${manifest.backend ?? '?'}`,
  ];
  return parts.join(' · ');
}

function fileStem(experiment: string): string {
  return experiment.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** The experiment's summary over its seeds: one seed's as it is; several seeds' runs side by side, teacher averaged. */
function combinedSummary(seeds: readonly SeedReading[]): ExperimentSummary {
  if (seeds.length === 1) return seeds[0]!.reading.summary;
  const first = seeds[0]!.reading.summary;
  const teachers = seeds.map((s) => s.reading.summary.teacher).filter((t): t is TeacherReference => t !== null);
  const mean = (pick: (t: TeacherReference) => number | null) => spread(teachers.map(pick))?.mean ?? null;
  return {
    experiment: first.experiment,
    preset: first.preset,
    teacher:
      teachers.length === 0
        ? null
        : { ...teachers[0]!, finalValAcc: mean((t) => t.finalValAcc), finalTrainAcc: mean((t) => t.finalTrainAcc) },
    runs: seeds.flatMap((s) => s.reading.summary.runs.map((run) => ({ ...run, seed: s.seed }))),
    notes: seeds.flatMap((s) => s.reading.summary.notes.map((note) => `seed ${s.seed}: ${note}`)),
  };
}

export async function drawExperimentFigures(
  experimentDir: string,
  options: DrawExperimentOptions = {},
): Promise<DrawExperimentResult> {
  const log = options.log ?? (() => {});
  const dir = resolve(experimentDir);
  const seeds = readSeedReadings(experimentDir);
  const manifest = seeds[0]!.reading.manifest;
  for (const { reading } of seeds) {
    for (const note of reading.manifest.notes) log(`figures: ${note}`);
    for (const { run, curve } of reading.curves)
      for (const problem of curve.problems) log(`figures: ${run.label}: ${problem}`);
  }
  const summary = combinedSummary(seeds);
  const incomplete = [
    ...new Set(seeds.flatMap(({ reading }) => reading.curves.filter((c) => c.curve.problems.length > 0))),
  ].map(({ run }) => run.label);
  const warnings =
    incomplete.length > 0 ? [`Incomplete data: ${[...new Set(incomplete)].join(', ')} (see summary.md)`] : [];
  const caption = figureCaption(
    manifest,
    seeds.map((s) => s.seed),
  );

  const figuresDir = join(dir, FIGURES_DIR);
  const stem = fileStem(manifest.experiment);
  const files: string[] = [];
  log(`figures: PNG text uses ${figureFonts().source}`);
  for (const panel of PANELS) {
    const teacherAccuracy = summary.teacher === null ? null : panel.teacherAccuracy(summary.teacher);
    const teacherLabel = summary.teacher?.label ?? '';
    if (panel.zoomOnTeacher && teacherAccuracy === null) continue;
    const series = seriesAcrossSeeds(seeds, panel.accuracy, manifest.drawTeacherCurve ?? false);
    const yRange =
      panel.zoomOnTeacher && teacherAccuracy !== null
        ? zoomedDomain(
            teacherAccuracy,
            series.flatMap((s) => s.points.map((p) => p.high ?? p.accuracy)),
          )
        : undefined;
    const spec = accuracyChartSpec({
      title: `${manifest.experiment}: ${panel.title}`,
      caption: [caption],
      warnings,
      yTitle: panel.yTitle,
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
    const svgPath = join(figuresDir, `${stem}-${panel.name}.svg`);
    const pngPath = join(figuresDir, `${stem}-${panel.name}.png`);
    writeFileAtomic(svgPath, svg);
    writeFileAtomic(pngPath, renderPng(svg));
    files.push(svgPath, pngPath);
  }

  const claimMargin = manifest.claimMargin ?? DEFAULT_CLAIM_MARGIN;
  const methods = methodSummaries(seeds, claimMargin);
  const claims = claimsAcrossSeeds(seeds, claimMargin);
  const markdownPath = join(figuresDir, 'summary.md');
  const jsonPath = join(figuresDir, 'summary.json');
  files.push(markdownPath, jsonPath);
  // Names relative to the figures folder, so a committed summary.json does not carry this machine's paths.
  const drawn = files.map((file) => relative(figuresDir, file));
  const figuresSummary = { ...summary, files: drawn, seeds: seeds.map((s) => s.seed), methods, claims, claimMargin };
  const markdown = figuresSummaryMarkdown(figuresSummary);
  writeFileAtomic(markdownPath, markdown);
  writeFiguresSummary(dir, figuresSummary);
  for (const file of files) log(`figures: wrote ${file}`);
  return { files, summaryMarkdown: markdown, summary };
}
