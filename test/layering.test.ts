import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const SOURCE_ROOTS = ['src', 'experiments'];

/** The relative specifiers a TypeScript file imports: static, type-only, `export ... from`, side-effect, `import()`. */
export function importSpecifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const patterns = [
    /\bfrom\s*['"]([^'"]+)['"]/g,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((m) => m[1]!)).filter((s) => s.startsWith('.'));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [relative(ROOT, path)] : [];
  });
}

/** file -> the files it imports, over src/ and experiments/ (paths relative to the repository). */
function importGraph(): Map<string, string[]> {
  const files = SOURCE_ROOTS.flatMap((root) => sourceFiles(join(ROOT, root)));
  return new Map(
    files.map((file) => [
      file,
      [
        ...new Set(
          importSpecifiers(readFileSync(join(ROOT, file), 'utf8')).map((spec) =>
            relative(ROOT, resolve(ROOT, dirname(file), spec)),
          ),
        ),
      ],
    ]),
  );
}

/** Every cycle's path, found by depth-first search (each cycle reported once per entry point that closes it). */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

/** The README's layout map: each entry (a folder with a trailing slash, or a file) with its rank, 0 at the top. */
function documentedLayers(): Map<string, number> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('The layers, top to bottom');
  assert.ok(start >= 0, "README.md has no 'The layers, top to bottom' map");
  const block = readme.slice(
    readme.indexOf('```\n', start) + 4,
    readme.indexOf('\n```', readme.indexOf('```\n', start) + 4),
  );
  const layers = new Map<string, number>();
  block.split('\n').forEach((line, rank) => {
    for (const m of line.matchAll(/(?:^|;\s+)((?:src|experiments)(?:\/[\w.-]+)*\/?)/g)) layers.set(m[1]!, rank);
  });
  return layers;
}

/** The map entry a file belongs to: the longest entry that is the file or a folder holding it. */
function entryOf(file: string, layers: ReadonlyMap<string, number>): string | undefined {
  return [...layers.keys()]
    .filter((entry) => file === entry || (entry.endsWith('/') && file.startsWith(entry)))
    .sort((a, b) => b.length - a.length)[0];
}

test('the import scanner sees static, type-only, re-exported, multi-line, side-effect and dynamic imports', () => {
  const text = [
    "import { a } from './a.ts';",
    "import type { B } from '../b.ts';",
    "export { c } from './c.ts';",
    'import {\n  d,\n  e,\n} from "./d.ts";',
    "import './side-effect.ts';",
    "const { f } = await import('../f.ts');",
    "// import { no } from './comment.ts';",
    "/* export * from './block-comment.ts'; */",
    "import * as tf from '@tensorflow/tfjs';",
  ].join('\n');
  assert.deepEqual(importSpecifiers(text).sort(), [
    '../b.ts',
    '../f.ts',
    './a.ts',
    './c.ts',
    './d.ts',
    './side-effect.ts',
  ]);
});

test('the cycle search finds a cycle through a dynamic import and none in a tree', () => {
  const cyclic = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
  ]);
  assert.deepEqual(findCycles(cyclic), [['a', 'b', 'c', 'a']]);
  assert.deepEqual(
    findCycles(
      new Map([
        ['a', ['b', 'c']],
        ['b', ['c']],
      ]),
    ),
    [],
  );
});

test('no import cycle in src/ and experiments/', () => {
  const graph = importGraph();
  assert.ok(graph.size > 100, `read ${graph.size} files`);
  assert.deepEqual(
    findCycles(graph).map((cycle) => cycle.join(' -> ')),
    [],
  );
});

test("every import follows the README's layers, and the map names every folder of src/", () => {
  const layers = documentedLayers();
  const graph = importGraph();
  const unmapped = [...graph.keys()].filter((file) => entryOf(file, layers) === undefined);
  assert.deepEqual(unmapped, [], 'files outside every entry of the layout map');
  const topFolders = readdirSync(join(ROOT, 'src')).map((name) =>
    statSync(join(ROOT, 'src', name)).isDirectory() ? `src/${name}/` : `src/${name}`,
  );
  assert.deepEqual(
    topFolders.filter((entry) => !layers.has(entry)),
    [],
    'folders of src/ the map leaves out',
  );
  assert.ok(layers.has('src/backend/torch/'), 'the map names src/backend/torch/');
  const climbing = [...graph].flatMap(([file, imports]) => {
    const from = entryOf(file, layers)!;
    return imports
      .filter((target) => graph.has(target))
      .flatMap((target) => {
        const to = entryOf(target, layers)!;
        return to !== from && layers.get(to)! <= layers.get(from)! ? [`${file} -> ${target}`] : [];
      });
  });
  assert.deepEqual(climbing, [], 'imports of a folder on the same line or above');
});

test('net2net imports nothing from models (the operators stand alone)', () => {
  const graph = importGraph();
  const fromNet2Net = [...graph]
    .filter(([file]) => file.startsWith('src/net2net/'))
    .flatMap(([file, imports]) => imports.filter((t) => t.startsWith('src/models/')).map((t) => `${file} -> ${t}`));
  assert.deepEqual(fromNet2Net, []);
});
