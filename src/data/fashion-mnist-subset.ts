/**
 * Writing the committed Fashion-MNIST subset: the first N training and first M test images (and labels) of the real
 * dataset, as gzip IDX files with the original names, so that the reader is the same for the subset and the full set.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FASHION_MNIST_FILES, fashionMnistFile } from './fashion-mnist.ts';
import { encodeIdxGz, readIdx } from './idx-file.ts';

export async function writeFashionMnistSubset(from: string, to: string, trainCount: number, testCount: number): Promise<string[]> {
  mkdirSync(to, { recursive: true });
  const written: string[] = [];
  const plan: [string, number][] = [
    [FASHION_MNIST_FILES.trainImages, trainCount],
    [FASHION_MNIST_FILES.trainLabels, trainCount],
    [FASHION_MNIST_FILES.testImages, testCount],
    [FASHION_MNIST_FILES.testLabels, testCount],
  ];
  for (const [base, count] of plan) {
    const source = fashionMnistFile(from, base);
    const array = await readIdx(source);
    if (count > array.dims[0]!) throw new Error(`${source} has ${array.dims[0]} entries, fewer than the ${count} asked for`);
    const per = array.dims.slice(1).reduce((a, b) => a * b, 1);
    const path = join(to, `${base}.gz`);
    writeFileSync(path, encodeIdxGz({ dims: [count, ...array.dims.slice(1)], data: array.data.subarray(0, count * per) }));
    written.push(path);
  }
  return written;
}
