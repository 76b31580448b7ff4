/**
 * A digest of the source code that decides what a training run computes: model builders, training loop and
 * optimizer, data pipeline, backends and their kernels (the torch addon's C++ included), the Net2Net operators. Part of the teacher cache key, so a
 * changed builder or trainer trains a new teacher instead of reusing one the current code would not produce.
 * Contents, not git commits: an installed copy without .git hashes the same as the checkout it came from.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const TRAINING_SOURCES = ['models', 'moments', 'train', 'data', 'backend', 'net2net', '../native/torch-backend'];
const SOURCE_FILE = /\.(ts|c|cc|cpp|h|hpp|wasm)$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return sourceFiles(path);
      return SOURCE_FILE.test(entry.name) ? [path] : [];
    })
    .sort();
}

let cached: string | undefined;

/** 16 hex digits; the same for the same contents of the training sources, whatever the checkout's location. */
export function trainingCodeVersion(root: string = SOURCE_ROOT, folders: readonly string[] = TRAINING_SOURCES): string {
  if (root === SOURCE_ROOT && folders === TRAINING_SOURCES && cached) return cached;
  const hash = createHash('sha256');
  for (const folder of folders) {
    for (const file of sourceFiles(join(root, folder))) {
      hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
    }
  }
  const digest = hash.digest('hex').slice(0, 16);
  if (root === SOURCE_ROOT && folders === TRAINING_SOURCES) cached = digest;
  return digest;
}
