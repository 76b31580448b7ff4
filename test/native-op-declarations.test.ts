/**
 * The native ops' one declaration (native/torch-backend/op-declarations.json): the committed TypeScript signatures
 * are what it generates, bad declarations are refused naming the op and argument, and a backend refuses an addon
 * built from other declarations. Runs without the addon.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  TYPESCRIPT_FILE,
  cppHeader,
  formattedTypeScript,
  readOpDeclarations,
  signatureText,
} from '../scripts/native-op-declarations.mjs';
import { NATIVE_OP_SIGNATURES } from '../src/backend/torch/native-ops.ts';
import type { TorchAddon } from '../src/backend/torch/addon.ts';
import { TorchBackend } from '../src/backend/torch/torch-backend.ts';

const declared = readOpDeclarations();

test('src/backend/torch/native-ops.ts is what the declarations generate', async () => {
  const current = readFileSync(TYPESCRIPT_FILE, 'utf8');
  assert.ok(current === (await formattedTypeScript()), 'stale: run node scripts/native-op-declarations.mjs');
});

test('every declared op gets a C++ argument struct reading each argument by its declared name', () => {
  const header = cppHeader(declared);
  const conv = declared.find((op) => op.name === 'conv2d')!;
  assert.ok(conv.args.length >= 10, 'conv2d is declared with its arguments');
  for (const op of declared) assert.match(header, new RegExp(`struct OpArgs<Op::${op.name}> \\{`));
  conv.args.forEach((arg, i) =>
    assert.match(header, new RegExp(`${arg.name}\\(args\\.\\w+\\(${i}, "${arg.name}"\\)\\)`)),
  );
  assert.deepEqual(
    Object.keys(NATIVE_OP_SIGNATURES),
    declared.map((op) => op.name),
  );
});

test('a declaration with an unknown kind or a malformed argument is refused naming the op and the argument', () => {
  const dir = mkdtempSync(join(tmpdir(), 'op-declarations-'));
  try {
    const file = join(dir, 'ops.json');
    writeFileSync(file, JSON.stringify({ ops: { conv2d: ['x: tensor', 'strides: list'] } }));
    assert.throws(() => readOpDeclarations(file), /op 'conv2d': argument 'strides' has unknown kind 'list'/);
    writeFileSync(file, JSON.stringify({ ops: { clip: ['x tensor'] } }));
    assert.throws(() => readOpDeclarations(file), /op 'clip': bad argument 'x tensor'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a backend refuses an addon built from other declarations, naming the op', () => {
  const signatures = declared.map((op) => signatureText(op));
  const swapped = signatures.map((s) => (s.startsWith('clip(') ? 'clip(x: tensor, max: number, min: number)' : s));
  const addon = { setMeta: () => {}, opSignatures: () => swapped } as unknown as TorchAddon;
  assert.throws(
    () => new TorchBackend(addon, 'cpu', 1),
    /other op declarations \(clip\(x: tensor, min: number, max: number\) is clip\(x: tensor, max: number, min: number\)\)/,
  );
  const matching = { setMeta: () => {}, opSignatures: () => signatures } as unknown as TorchAddon;
  assert.doesNotThrow(() => new TorchBackend(matching, 'cpu', 1).dispose());
});
