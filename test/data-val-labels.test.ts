import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { indexBaseOf, parseValLabels } from '../src/data/image-folder/val-labels.ts';
import { DirectoryLister } from '../src/data/image-folder/directory-listing.ts';
import { indexImageFolder } from '../src/data/image-folder/folder-index.ts';

const WNIDS = ['n01', 'n02', 'n03'];

/** A listing-only ImageNet layout (the index never decodes): train/<wnid>/a.JPEG and a flat val/ with a labels file. */
function flatValFolder(labelLines: string[]): { dir: string; labelsFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'val-labels-'));
  for (const wnid of WNIDS) {
    mkdirSync(join(dir, 'train', wnid), { recursive: true });
    writeFileSync(join(dir, 'train', wnid, 'a.JPEG'), 'x');
  }
  mkdirSync(join(dir, 'val'));
  for (const line of labelLines) {
    if (!line.startsWith('#')) writeFileSync(join(dir, 'val', line.split(' ')[0]!), 'x');
  }
  const labelsFile = join(dir, 'val.txt');
  writeFileSync(labelsFile, labelLines.join('\n') + '\n');
  return { dir, labelsFile };
}

async function valLabelsOf(lines: string[]): Promise<{ labels: number[]; notes: string[] }> {
  const { dir } = flatValFolder(lines);
  try {
    const index = await indexImageFolder(await DirectoryLister.open(dir, null), { kind: 'imagenet' });
    const byPath = index.val.paths.map((p, i) => [p, index.val.labels[i]!] as const).sort();
    return { labels: byPath.map(([, label]) => label), notes: index.notes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('numeric labels: 0-based and 1-based files give the same classes; a 1-based file is named in the notes', async () => {
  const zeroBased = await valLabelsOf(['v1.JPEG 0', 'v2.JPEG 1', 'v3.JPEG 2']);
  const oneBased = await valLabelsOf(['v1.JPEG 1', 'v2.JPEG 2', 'v3.JPEG 3']);
  const wnids = await valLabelsOf(['v1.JPEG n01', 'v2.JPEG n02', 'v3.JPEG n03']);
  assert.deepEqual(zeroBased.labels, [0, 1, 2]);
  assert.deepEqual(oneBased.labels, [0, 1, 2]);
  assert.deepEqual(wnids.labels, [0, 1, 2]);
  assert.ok(
    oneBased.notes.some((n) => /count classes from 1/.test(n)),
    oneBased.notes.join('\n'),
  );
  assert.ok(!zeroBased.notes.some((n) => /count classes from 1/.test(n)));
});

test('numeric labels whose base cannot be told are refused, unless the file declares it', async () => {
  await assert.rejects(
    valLabelsOf(['v1.JPEG 1', 'v2.JPEG 2']),
    /cannot tell whether its numeric labels \(1\.\.2, 3 classes\)/,
  );
  assert.deepEqual((await valLabelsOf(['# index-base: 1', 'v1.JPEG 1', 'v2.JPEG 2'])).labels, [0, 1]);
  assert.deepEqual((await valLabelsOf(['# index-base: 0', 'v1.JPEG 1', 'v2.JPEG 2'])).labels, [1, 2]);
  await assert.rejects(valLabelsOf(['v1.JPEG 0', 'v2.JPEG 3']), /run from 0 to 3, one more than the 3 classes/);
  await assert.rejects(valLabelsOf(['# index-base: 1', 'v1.JPEG 0']), /declares index-base 1 but has the label 0/);
  assert.throws(
    () => parseValLabels('# index-base: 2\nv1.JPEG 1\n', 'f.txt'),
    /f\.txt line 1: index-base must be 0 or 1/,
  );
});

test('indexBaseOf: wnid-only files need no base; an index equal to the class count proves 1-based', () => {
  assert.equal(indexBaseOf(parseValLabels('a.JPEG n01\nb.JPEG n02\n', 'f'), 3, 'f'), 0);
  assert.equal(indexBaseOf(parseValLabels('a.JPEG n01\nb.JPEG 3\n', 'f'), 3, 'f'), 1);
  assert.equal(indexBaseOf(parseValLabels('a.JPEG 0\nb.JPEG 2\n', 'f'), 3, 'f'), 0);
});
