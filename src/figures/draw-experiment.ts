/**
 * Draws an experiment folder's figures (training and validation accuracy against minibatches, one line per method,
 * the teacher as a dashed line) as SVG and PNG, and writes its summary table (markdown and JSON), all into
 * `<experiment dir>/figures/`. Runs with missing or partial curves are drawn as far as they go and named as such.
 */
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomic-file.ts';
import { FIGURES_DIR, readExperiment, writeFiguresSummary } from '../run-folder/experiment-summary.ts';
import type { ExperimentSummary } from '../run-folder/experiment-summary.ts';
import type { TeacherReference } from '../run-folder/run-statistics.ts';
import type { ExperimentManifest } from '../run-folder/experiment-manifest.ts';
import type { CurveRow } from '../train/curve-log.ts';
import { accuracyChartSpec } from './accuracy-chart.ts';
import type { AccuracySeries } from './accuracy-chart.ts';
import { renderPng, renderSvg } from './chart-render.ts';
import { figureFonts } from './figure-fonts.ts';
import { summaryMarkdown } from './summary-table.ts';

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
  name: 'validation' | 'training';
  title: string;
  yTitle: string;
  accuracy: (row: CurveRow) => number | null;
  teacherAccuracy: (teacher: TeacherReference) => number | null;
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
];

/** What the figure shows, for a reader who sees only the picture: preset, data, seeds, backend. */
export function figureCaption(manifest: ExperimentManifest): string {
  const parts = [
    `preset ${manifest.preset ?? '?'}`,
    `data ${manifest.data ?? '?'}`,
    `seed ${manifest.seed ?? '?'}`,
    `backend ${manifest.backend ?? '?'}`,
  ];
  return parts.join(' · ');
}

function fileStem(experiment: string): string {
  return experiment.replace(/[^A-Za-z0-9._-]+/g, '_');
}

export async function drawExperimentFigures(
  experimentDir: string,
  options: DrawExperimentOptions = {},
): Promise<DrawExperimentResult> {
  const log = options.log ?? (() => {});
  const dir = resolve(experimentDir);
  const { manifest, curves, summary } = readExperiment(experimentDir);
  for (const note of manifest.notes) log(`figures: ${note}`);
  for (const { run, curve } of curves) {
    for (const problem of curve.problems) log(`figures: ${run.label}: ${problem}`);
  }
  const teacher = summary.teacher;

  // Fig. 6 draws the original model's own curve (the teacher, from scratch) as the reference.
  const students = curves.filter(({ run }) => manifest.drawTeacherCurve || run.run !== manifest.teacherRun);
  const incomplete = curves.filter(({ curve }) => curve.problems.length > 0).map(({ run }) => run.label);
  const subtitle = incomplete.length > 0 ? [`Incomplete data: ${incomplete.join(', ')} (see summary.md)`] : [];

  const figuresDir = join(dir, FIGURES_DIR);
  const stem = fileStem(manifest.experiment);
  const files: string[] = [];
  log(`figures: PNG text uses ${figureFonts().source}`);
  for (const panel of PANELS) {
    const series: AccuracySeries[] = students.map(({ run, curve }) => ({
      label: run.label,
      points: curve.rows.flatMap((row) => {
        const accuracy = panel.accuracy(row);
        return accuracy === null ? [] : [{ step: row.step, accuracy }];
      }),
    }));
    const teacherAccuracy = teacher === null ? null : panel.teacherAccuracy(teacher);
    const spec = accuracyChartSpec({
      title: `${manifest.experiment}: ${panel.title}`,
      caption: [figureCaption(manifest)],
      warnings: subtitle,
      yTitle: panel.yTitle,
      series,
      teacher:
        teacher !== null && teacherAccuracy !== null
          ? { label: manifest.drawTeacherCurve ? `${teacher.label}, final` : teacher.label, accuracy: teacherAccuracy }
          : null,
    });
    const svg = await renderSvg(spec);
    const svgPath = join(figuresDir, `${stem}-${panel.name}.svg`);
    const pngPath = join(figuresDir, `${stem}-${panel.name}.png`);
    writeFileAtomic(svgPath, svg);
    writeFileAtomic(pngPath, renderPng(svg));
    files.push(svgPath, pngPath);
  }

  const markdown = summaryMarkdown(summary);
  const markdownPath = join(figuresDir, 'summary.md');
  const jsonPath = join(figuresDir, 'summary.json');
  files.push(markdownPath, jsonPath);
  writeFileAtomic(markdownPath, markdown);
  writeFiguresSummary(dir, { ...summary, files });
  for (const file of files) log(`figures: wrote ${file}`);
  return { files, summaryMarkdown: markdown, summary };
}
