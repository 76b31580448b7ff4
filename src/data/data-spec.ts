/** Parsing `--data` specs into a DataSpec. */
import { resolve } from 'node:path';
import type { InputShape } from './dataset.ts';
import { FASHION_MNIST_DEBIAN_DIR, FASHION_MNIST_SUBSET_DIR } from './fashion-mnist.ts';
import { SYNTHETIC_DEFAULTS } from './synthetic.ts';

export type DataSpec =
  | { kind: 'fashion-mnist'; dir: string; source: 'committed-subset' | 'debian' | 'folder' }
  | { kind: 'imagenet' | 'folder'; dir: string }
  | { kind: 'synthetic'; inputShape: InputShape; classes: number; numTrain: number; numVal: number };

export const ACCEPTED_DATA_SPECS = [
  'fashion-mnist (the committed subset: 10,000 train / 2,000 test)',
  'fashion-mnist:full (the Debian package at /usr/share/datasets/fashion-mnist)',
  'fashion-mnist:<dir> (the four IDX files, gz or not)',
  'imagenet:<dir> (train/<wnid>/*.JPEG and val/)',
  'folder:<dir> (train/<class>/* and val/, or class folders directly)',
  'synthetic',
  'synthetic:<H>x<W>x<C>:<classes>[:<train images>[:<val images>]]',
] as const;

export class DataSpecError extends Error {
  constructor(spec: string, reason: string) {
    super(`bad data spec '${spec}': ${reason}; accepted forms: ${ACCEPTED_DATA_SPECS.join(', ')}`);
    this.name = 'DataSpecError';
  }
}

function positiveInt(text: string, what: string, spec: string, min: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min) throw new DataSpecError(spec, `${what} '${text}' must be an integer >= ${min}`);
  return Number(text);
}

export function parseDataSpec(spec: string): DataSpec {
  const colon = spec.indexOf(':');
  const head = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? null : spec.slice(colon + 1);
  switch (head) {
    case 'fashion-mnist':
      if (rest === null) return { kind: 'fashion-mnist', dir: FASHION_MNIST_SUBSET_DIR, source: 'committed-subset' };
      if (rest === 'full') return { kind: 'fashion-mnist', dir: FASHION_MNIST_DEBIAN_DIR, source: 'debian' };
      if (rest === '') throw new DataSpecError(spec, 'empty folder');
      return { kind: 'fashion-mnist', dir: resolve(rest), source: 'folder' };
    case 'imagenet':
    case 'folder':
      if (!rest) throw new DataSpecError(spec, `${head} needs a folder, e.g. ${head}:/data/ilsvrc2012`);
      return { kind: head, dir: resolve(rest) };
    case 'synthetic': {
      if (rest === null) return { kind: 'synthetic', ...SYNTHETIC_DEFAULTS };
      const [shapeText, classesText, trainText, valText, ...extra] = rest.split(':');
      if (extra.length > 0 || !shapeText || !classesText) throw new DataSpecError(spec, 'synthetic takes <H>x<W>x<C>:<classes>[:<train>[:<val>]]');
      const dims = shapeText.split('x');
      if (dims.length !== 3) throw new DataSpecError(spec, `shape '${shapeText}' must be <H>x<W>x<C>, e.g. 28x28x1`);
      const inputShape = dims.map((d) => positiveInt(d, 'shape dimension', spec, 1)) as InputShape;
      return {
        kind: 'synthetic',
        inputShape,
        classes: positiveInt(classesText, 'class count', spec, 2),
        numTrain: trainText === undefined ? SYNTHETIC_DEFAULTS.numTrain : positiveInt(trainText, 'train count', spec, 1),
        numVal: valText === undefined ? SYNTHETIC_DEFAULTS.numVal : positiveInt(valText, 'val count', spec, 0),
      };
    }
    default:
      throw new DataSpecError(spec, `unknown dataset '${head}'`);
  }
}
