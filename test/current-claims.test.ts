/**
 * `npm run figures -- <dir> --current-claims`: an older folder's experiment.json files get the claims the
 * definition lists now; the runs and every other field stay as written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyCurrentClaims } from '../src/cli/current-claims.ts';
import { plannedClaims } from '../src/experiment/planned-claims.ts';
import { EXPERIMENTS } from '../experiments/registry.ts';
import { PRESETS } from '../experiments/presets.ts';

const root = mkdtempSync(join(tmpdir(), 'current-claims-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const oldManifest = (seed: number) => ({
  experiment: 'wider',
  preset: 'default',
  teacherRun: 'teacher',
  runs: [{ run: 'teacher', role: 'teacher', label: 'Teacher' }],
  seed,
  claims: [{ kind: 'converges-faster', run: 'net2wider', than: ['random-pad', 'random-init'] }],
});

test("--current-claims: every seed folder gets the definition's claims for its preset, nothing else changes", () => {
  const out = join(root, 'wider');
  for (const seed of [1, 2]) {
    mkdirSync(join(out, `seed-${seed}`), { recursive: true });
    writeFileSync(join(out, `seed-${seed}`, 'experiment.json'), JSON.stringify(oldManifest(seed)));
  }
  writeFileSync(join(out, 'seeds.json'), JSON.stringify({ experiment: 'wider', preset: 'default', seeds: [1, 2] }));
  assert.equal(applyCurrentClaims(out).length, 2);
  const expected = plannedClaims(EXPERIMENTS.wider, PRESETS.default);
  assert.ok(expected.length > 1);
  for (const seed of [1, 2]) {
    const written = JSON.parse(readFileSync(join(out, `seed-${seed}`, 'experiment.json'), 'utf8'));
    assert.deepEqual(written.claims, expected);
    const { claims: _c, ...rest } = written;
    const { claims: _o, ...before } = oldManifest(seed);
    assert.deepEqual(rest, before, 'the rest as written');
  }
});

test('--current-claims on a folder of an unknown experiment is a usage error naming it', () => {
  const out = join(root, 'unknown');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'experiment.json'), JSON.stringify({ ...oldManifest(1), experiment: 'sideways' }));
  assert.throws(() => applyCurrentClaims(out), /no current definition of experiment 'sideways'/);
});

test('--current-claims on a growth folder: starts-at-teacher names the exact-noise runs of the grid it ran', () => {
  const claimsOf = (noise: string | number, states: string[]) => {
    const out = join(root, `growth-${noise}-${states.join('-')}`);
    mkdirSync(out, { recursive: true });
    const runs = [
      { run: 'teacher', role: 'teacher', label: 'Teacher' },
      ...states.map((s) => ({ run: `random-pad${s === '' ? '' : `@state=${s}`}`, role: 'baseline', label: s })),
    ];
    writeFileSync(
      join(out, 'experiment.json'),
      JSON.stringify({ ...oldManifest(1), experiment: 'growth', runs, noise }),
    );
    applyCurrentClaims(out);
    const written = JSON.parse(readFileSync(join(out, 'experiment.json'), 'utf8')) as {
      claims: { kind: string; run: string }[];
    };
    return written.claims.filter((c) => c.kind === 'starts-at-teacher').map((c) => c.run);
  };
  assert.deepEqual(claimsOf('none,zero-sum,0.01', ['fresh', 'transfer']), [
    'net2wider@state=fresh@noise=none',
    'net2wider@state=fresh@noise=zero-sum',
    'net2wider@state=transfer@noise=none',
    'net2wider@state=transfer@noise=zero-sum',
  ]);
  assert.deepEqual(claimsOf('zero-sum,0.01', ['']), ['net2wider@noise=zero-sum'], 'one state: no state in the names');
  assert.deepEqual(claimsOf(0.01, ['']), [], 'only Gaussian noise: no run starts at the teacher');
});
