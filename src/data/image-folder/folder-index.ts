/**
 * Finding the images and labels of an image folder:
 * - `train/<class>/*` (ILSVRC-2012: `train/<wnid>/*.JPEG`; the Kaggle copy's `ILSVRC/Data/CLS-LOC/` is found too);
 * - validation as `val/<class>/*`, or a flat `val/` with a labels file (see val-labels.ts), or, for a `folder:` with
 *   no train/ (class folders directly in it), every 10th image of each class held out.
 * Classes are the class folders that hold at least one image, sorted by name. Problems (empty class folders, val
 * files without or with unknown labels, labels file lines that cannot be read) are reported, not fatal.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import PQueue from 'p-queue';
import type { DirectoryLister } from './directory-listing.ts';
import { fileStem, indexBaseOf, parseValLabels, resolveLabel } from './val-labels.ts';

export const IMAGE_EXTENSIONS = new Set(['.jpeg', '.jpg', '.png', '.webp', '.tif', '.tiff', '.avif', '.gif']);

/** Names looked for, in this order, in the dataset folder and then in val/, when val/ is flat. */
export const VAL_LABEL_FILE_NAMES = [
  'LOC_val_solution.csv',
  'val_labels.txt',
  'val.txt',
  'labels.txt',
  'ILSVRC2012_val_labels.txt',
] as const;

/** For `folder:<dir>` without train/: image i of each class (sorted by name) is held out when i % 10 === 9. */
export const HOLDOUT_EVERY = 10;

export interface FileList {
  /** Relative to the data root. */
  paths: string[];
  /** Indices into FolderIndex.classNames. */
  labels: Int32Array;
}

export type ValLayout = 'class-folders' | 'flat-with-labels' | 'holdout' | 'none';

export interface FolderIndex {
  /** Where train/ and val/ are (the given folder, or its ILSVRC/Data/CLS-LOC). */
  dataRoot: string;
  classNames: string[];
  train: FileList;
  val: FileList;
  valLayout: ValLayout;
  labelsFile: string | null;
  problems: { path: string; reason: string }[];
  notes: string[];
}

export interface FolderIndexOptions {
  kind: 'imagenet' | 'folder';
  /** Labels file for a flat val/, overriding the search. */
  valLabels?: string;
}

function isImageName(name: string): boolean {
  return name.charCodeAt(0) !== 46 /* '.' */ && IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
}

/** `dir/name` without path.join's normalization: a million joins are a noticeable part of opening ImageNet. */
function childPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

function splitNames(names: readonly string[]): { images: string[]; others: string[] } {
  const images: string[] = [];
  const others: string[] = [];
  for (const name of names) {
    if (isImageName(name)) images.push(name);
    else if (!name.startsWith('.')) others.push(name);
  }
  return { images, others };
}

async function listMany(lister: DirectoryLister, dirs: readonly string[]): Promise<Map<string, string[] | null>> {
  const queue = new PQueue({ concurrency: 16 });
  const out = new Map<string, string[] | null>();
  await Promise.all(dirs.map((d) => queue.add(async () => out.set(d, (await lister.list(d))?.files ?? null))));
  return out;
}

/** A folder of class folders without train/: every HOLDOUT_EVERY-th image of each class is held out for validation. */
function holdoutSplit(perClass: readonly string[][]): { train: FileList; val: FileList } {
  const split = { train: { paths: [] as string[], labels: [] as number[] }, val: { paths: [] as string[], labels: [] as number[] } };
  perClass.forEach((paths, label) =>
    paths.forEach((p, i) => {
      const part = i % HOLDOUT_EVERY === HOLDOUT_EVERY - 1 ? split.val : split.train;
      part.paths.push(p);
      part.labels.push(label);
    }),
  );
  return {
    train: { paths: split.train.paths, labels: Int32Array.from(split.train.labels) },
    val: { paths: split.val.paths, labels: Int32Array.from(split.val.labels) },
  };
}

export async function indexImageFolder(lister: DirectoryLister, options: FolderIndexOptions): Promise<FolderIndex> {
  const source = `${options.kind}:${lister.root}`;
  const problems: FolderIndex['problems'] = [];
  const notes: string[] = [];
  let base = '';
  const top = await lister.list('');
  if (!top) throw new Error(`${source}: not a directory`);
  if (!top.dirs.includes('train')) {
    const kaggle = join('ILSVRC', 'Data', 'CLS-LOC');
    if ((await lister.list(join(kaggle, 'train'))) !== null) base = kaggle;
  }
  const trainDir = (await lister.list(join(base, 'train'))) ? join(base, 'train') : null;
  if (trainDir === null && options.kind === 'imagenet') {
    throw new Error(`${source}: no train/ folder (expected train/<wnid>/*.JPEG and val/; for any folder of class folders use folder:<dir>)`);
  }
  const classRoot = trainDir ?? '';
  const folderNames = (await lister.list(classRoot))!.dirs.filter((d) => !d.startsWith('.'));
  const classFolders = await listMany(
    lister,
    folderNames.map((d) => join(classRoot, d)),
  );
  const classNames: string[] = [];
  const perClass: string[][] = [];
  let ignoredFiles = 0;
  for (const name of folderNames) {
    const { images, others } = splitNames(classFolders.get(join(classRoot, name)) ?? []);
    ignoredFiles += others.length;
    if (images.length === 0) {
      problems.push({ path: join(lister.root, classRoot, name), reason: 'empty class folder (no image files): not a class' });
      continue;
    }
    classNames.push(name);
    const prefix = childPath(classRoot, name);
    perClass.push(images.map((f) => childPath(prefix, f)));
  }
  if (ignoredFiles > 0) notes.push(`${ignoredFiles} files without an image extension (${[...IMAGE_EXTENSIONS].join(' ')}) ignored in class folders`);
  if (classNames.length === 0) {
    throw new Error(`${source}: no class folder with images under ${join(lister.root, classRoot)}`);
  }
  const classIndex = new Map(classNames.map((n, i) => [n, i]));

  let train: FileList;
  let val: FileList = { paths: [], labels: new Int32Array(0) };
  let valLayout: ValLayout = 'none';
  let labelsFile: string | null = null;
  if (trainDir === null) {
    valLayout = 'holdout';
    ({ train, val } = holdoutSplit(perClass));
  } else {
    const labels = new Int32Array(perClass.reduce((n, paths) => n + paths.length, 0));
    let offset = 0;
    perClass.forEach((paths, label) => {
      labels.fill(label, offset, offset + paths.length);
      offset += paths.length;
    });
    train = { paths: perClass.flat(), labels };
    const valDir = join(base, 'val');
    const valTop = await lister.list(valDir);
    if (!valTop) {
      notes.push(`no val/ folder in ${join(lister.root, base)}: no validation set`);
    } else if (valTop.dirs.some((d) => classIndex.has(d))) {
      valLayout = 'class-folders';
      const present = classNames.filter((n) => valTop.dirs.includes(n));
      const listed = await listMany(
        lister,
        present.map((n) => join(valDir, n)),
      );
      const paths: string[] = [];
      const labels: number[] = [];
      for (const name of present) {
        for (const f of splitNames(listed.get(join(valDir, name)) ?? []).images) {
          paths.push(childPath(childPath(valDir, name), f));
          labels.push(classIndex.get(name)!);
        }
      }
      const loose = splitNames(valTop.files).images.length;
      if (loose > 0) notes.push(`${loose} images directly in val/ ignored (val/ has class folders)`);
      val = { paths, labels: Int32Array.from(labels) };
    } else {
      valLayout = 'flat-with-labels';
      labelsFile = findLabelsFile(lister.root, base, options.valLabels);
      if (!labelsFile) {
        throw new Error(
          `${source}: val/ is flat but no labels file was found (looked for ${VAL_LABEL_FILE_NAMES.join(', ')} in ` +
            `${join(lister.root, base)}, ${lister.root} and val/); give one with the valLabels option`,
        );
      }
      val = flatValFiles(lister.root, valDir, valTop.files, labelsFile, folderNames, classIndex, problems, notes);
    }
  }
  return { dataRoot: join(lister.root, base), classNames, train, val, valLayout, labelsFile, problems, notes };
}

function findLabelsFile(root: string, base: string, explicit: string | undefined): string | null {
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`val labels file ${explicit} does not exist`);
    return explicit;
  }
  for (const dir of [join(root, base), root, join(root, base, 'val')]) {
    for (const name of VAL_LABEL_FILE_NAMES) {
      const path = join(dir, name);
      if (existsSync(path)) return path;
    }
  }
  return null;
}

function flatValFiles(
  root: string,
  valDir: string,
  files: readonly string[],
  labelsFile: string,
  folderNames: readonly string[],
  classIndex: ReadonlyMap<string, number>,
  problems: FolderIndex['problems'],
  notes: string[],
): FileList {
  const parsed = parseValLabels(readFileSync(labelsFile, 'utf8'), labelsFile);
  for (const line of parsed.malformedLines) problems.push({ path: `${labelsFile}:${line}`, reason: 'malformed labels line' });
  const indexBase = indexBaseOf(parsed, folderNames.length, labelsFile);
  if (indexBase === 1) notes.push(`numeric labels in ${labelsFile} count classes from 1`);
  const folderSet = new Set(folderNames);
  const paths: string[] = [];
  const labels: number[] = [];
  const used = new Set<string>();
  const { images, others } = splitNames(files.filter((f) => !(VAL_LABEL_FILE_NAMES as readonly string[]).includes(f)));
  if (others.length > 0) notes.push(`${others.length} files without an image extension ignored in val/`);
  for (const file of images) {
    const stem = fileStem(file);
    const entry = parsed.byStem.get(stem);
    const path = join(valDir, file);
    if (!entry) {
      problems.push({ path: join(root, path), reason: `no label in ${labelsFile}` });
      continue;
    }
    used.add(stem);
    const folder = resolveLabel(entry.label, folderNames, folderSet, indexBase);
    const index = folder === null ? undefined : classIndex.get(folder);
    if (index === undefined) {
      const why = folder === null ? 'names no class folder of train/' : `is the empty class folder ${folder}`;
      problems.push({ path: join(root, path), reason: `label '${entry.label}' (${labelsFile} line ${entry.line}) ${why}` });
      continue;
    }
    paths.push(path);
    labels.push(index);
  }
  const unmatched = parsed.byStem.size - used.size;
  if (unmatched > 0) notes.push(`${unmatched} labels in ${labelsFile} have no file in val/`);
  return { paths, labels: Int32Array.from(labels) };
}
