/**
 * Ground-truth labels for a flat validation folder. Two formats:
 * - text: one `<filename> <label>` per line, where the label is a class folder name (wnid) or an index into the
 *   sorted class folder names of train/; blank lines and `#` comments skipped. Indices are 0-based in Caffe's val.txt
 *   and 1-based in the devkit's ILSVRC2012_validation_ground_truth.txt style; which one a file uses is decided by
 *   `indexBaseOf` (a `# index-base: 0|1` comment line says it explicitly);
 * - `LOC_val_solution.csv` (Kaggle ILSVRC): header `ImageId,PredictionString`, the label is the first wnid of
 *   PredictionString and ImageId has no extension.
 * Files are matched by name without extension.
 */
import { basename, extname } from 'node:path';

export interface ValLabelEntry {
  /** wnid or index, as written. */
  label: string;
  line: number;
}

export interface ParsedValLabels {
  /** By file name without extension. */
  byStem: Map<string, ValLabelEntry>;
  malformedLines: number[];
  /** From a `# index-base: 0|1` comment line, if the file has one. */
  declaredIndexBase: 0 | 1 | null;
}

export function fileStem(name: string): string {
  const base = basename(name);
  return base.slice(0, base.length - extname(base).length);
}

export function parseValLabels(text: string, source: string): ParsedValLabels {
  const lines = text.split(/\r?\n/);
  const byStem = new Map<string, ValLabelEntry>();
  const malformedLines: number[] = [];
  let declaredIndexBase: 0 | 1 | null = null;
  const isCsv = /^\s*ImageId\s*,\s*PredictionString\s*$/i.test(lines[0] ?? '');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    const directive = /^#\s*index-base\s*:\s*(\S+)\s*$/i.exec(line);
    if (directive) {
      if (directive[1] !== '0' && directive[1] !== '1')
        throw new Error(`${source} line ${i + 1}: index-base must be 0 or 1, got '${directive[1]}'`);
      declaredIndexBase = directive[1] === '0' ? 0 : 1;
      return;
    }
    if (line === '' || line.startsWith('#') || (isCsv && i === 0)) return;
    let name: string | undefined;
    let label: string | undefined;
    if (isCsv) {
      const comma = line.indexOf(',');
      if (comma > 0) {
        name = line.slice(0, comma).trim();
        label = line.slice(comma + 1).trim().split(/\s+/)[0];
      }
    } else {
      const fields = line.split(/\s+/);
      if (fields.length === 2) [name, label] = fields;
    }
    if (!name || !label) malformedLines.push(i + 1);
    else byStem.set(fileStem(name), { label, line: i + 1 });
  });
  if (byStem.size === 0) {
    throw new Error(`${source}: no labels found (expected '<filename> <wnid-or-index>' lines or LOC_val_solution.csv)`);
  }
  return { byStem, malformedLines, declaredIndexBase };
}

/**
 * Whether the numeric labels of a file count classes from 0 or from 1. A 1-based file read as 0-based shifts every
 * label by one class, silently, so a file whose base the labels do not show is refused: a 0 proves 0-based, the
 * index `classCount` (one past the last 0-based index) proves 1-based, and with neither the file must say it.
 */
export function indexBaseOf(parsed: ParsedValLabels, classCount: number, source: string): 0 | 1 {
  let smallest = Infinity;
  let largest = -Infinity;
  for (const { label } of parsed.byStem.values()) {
    if (!/^\d+$/.test(label)) continue;
    smallest = Math.min(smallest, Number(label));
    largest = Math.max(largest, Number(label));
  }
  if (smallest === Infinity) return 0;
  const declared = parsed.declaredIndexBase;
  if (declared === 1 && smallest === 0) throw new Error(`${source}: declares index-base 1 but has the label 0`);
  if (declared !== null) return declared;
  if (smallest === 0 && largest === classCount)
    throw new Error(`${source}: numeric labels run from 0 to ${classCount}, one more than the ${classCount} classes`);
  if (smallest === 0) return 0;
  if (largest === classCount) return 1;
  throw new Error(
    `${source}: cannot tell whether its numeric labels (${smallest}..${largest}, ${classCount} classes) count from 0 or ` +
      `from 1; add a line '# index-base: 0' or '# index-base: 1' to the file, or write class folder names (wnids)`,
  );
}

/**
 * Resolves a written label to a name in `folderNames` (the sorted class folders of train/, empty ones included):
 * a folder name as is, or an index into them counted from `indexBase`. Null when it names no class.
 */
export function resolveLabel(
  label: string,
  folderNames: readonly string[],
  folderSet: ReadonlySet<string>,
  indexBase: 0 | 1,
): string | null {
  if (folderSet.has(label)) return label;
  if (/^\d+$/.test(label)) {
    const index = Number(label) - indexBase;
    return index >= 0 && index < folderNames.length ? folderNames[index]! : null;
  }
  return null;
}
