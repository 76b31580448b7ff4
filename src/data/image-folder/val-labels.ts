/**
 * Ground-truth labels for a flat validation folder. Two formats:
 * - text: one `<filename> <label>` per line, where the label is a class folder name (wnid) or a 0-based index into
 *   the sorted class folder names of train/ (the convention of Caffe's val.txt); blank lines and `#` comments skipped;
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
}

export function fileStem(name: string): string {
  const base = basename(name);
  return base.slice(0, base.length - extname(base).length);
}

export function parseValLabels(text: string, source: string): ParsedValLabels {
  const lines = text.split(/\r?\n/);
  const byStem = new Map<string, ValLabelEntry>();
  const malformedLines: number[] = [];
  const isCsv = /^\s*ImageId\s*,\s*PredictionString\s*$/i.test(lines[0] ?? '');
  lines.forEach((raw, i) => {
    const line = raw.trim();
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
  return { byStem, malformedLines };
}

/**
 * Resolves a written label to a name in `folderNames` (the sorted class folders of train/, empty ones included):
 * a folder name as is, or a 0-based index into them. Null when it names no class.
 */
export function resolveLabel(label: string, folderNames: readonly string[], folderSet: ReadonlySet<string>): string | null {
  if (folderSet.has(label)) return label;
  if (/^\d+$/.test(label)) {
    const index = Number(label);
    return index < folderNames.length ? folderNames[index]! : null;
  }
  return null;
}
