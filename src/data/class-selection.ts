/**
 * Scaling a dataset down: a class subset (the first N classes, or named ones) and an image-count limit that keeps
 * classes balanced (round-robin over classes, each class's examples in their original order).
 */

export interface ClassSelectionOptions {
  /** Keep the first N classes (in the dataset's class order). */
  classes?: number;
  /** Keep these classes, in this order (their new indices follow it). */
  classList?: readonly string[];
}

export interface ClassSelection {
  names: string[];
  /** New index of each original class, or -1 when the class is dropped. */
  remap: Int32Array;
}

export function selectClasses(allNames: readonly string[], options: ClassSelectionOptions, source: string): ClassSelection {
  let names: string[];
  if (options.classList && options.classList.length > 0) {
    if (options.classes !== undefined) throw new Error(`${source}: give either classes or classList, not both`);
    const unknown = options.classList.filter((n) => !allNames.includes(n));
    if (unknown.length > 0) {
      throw new Error(`${source}: unknown class name(s) ${unknown.map((n) => `'${n}'`).join(', ')}; classes are ${preview(allNames)}`);
    }
    if (new Set(options.classList).size !== options.classList.length) throw new Error(`${source}: classList repeats a class`);
    names = [...options.classList];
  } else if (options.classes !== undefined) {
    const n = options.classes;
    if (!Number.isInteger(n) || n < 1 || n > allNames.length) {
      throw new Error(`${source}: classes must be an integer in 1..${allNames.length}, got ${n}`);
    }
    names = allNames.slice(0, n);
  } else {
    names = [...allNames];
  }
  const remap = new Int32Array(allNames.length).fill(-1);
  names.forEach((name, i) => (remap[allNames.indexOf(name)] = i));
  return { names, remap };
}

function preview(names: readonly string[]): string {
  const shown = names.slice(0, 12).map((n) => `'${n}'`);
  return names.length > 12 ? `${shown.join(', ')}, ... (${names.length} in all)` : shown.join(', ');
}

/**
 * Indices (ascending) of the examples kept: those whose class survives `remap`, at most `limit` of them, balanced
 * across classes. `labels` are original class indices.
 */
export function selectExamples(labels: ArrayLike<number>, remap: Int32Array, limit: number | undefined, what: string): Uint32Array {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new Error(`${what}: limit must be a non-negative integer, got ${limit}`);
  }
  const perClass: number[][] = Array.from({ length: remap.length }, () => []);
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (remap[label]! >= 0) {
      perClass[label]!.push(i);
      total++;
    }
  }
  const wanted = limit === undefined ? total : Math.min(limit, total);
  const kept: number[] = [];
  for (let round = 0; kept.length < wanted; round++) {
    for (const members of perClass) {
      if (round < members.length && kept.length < wanted) kept.push(members[round]!);
    }
  }
  return Uint32Array.from(kept).sort();
}
