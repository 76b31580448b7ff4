/**
 * `npm run models -- summary ...`: the printed counts are the library's, the width line gives the channel factor and
 * the parameter ratio, and bad arguments exit 2 naming the bad value and the accepted ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../src/backend/backend.ts';
import { summarize } from '../src/models/counts.ts';
import { buildModel } from '../src/models/registry.ts';

await selectBackend('cpu', () => {});

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/models.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('summary --json reports the library counts and the parameter ratio against width 1', () => {
  const args = ['summary', 'inception-bn-small', '--input', '20x20x3', '--classes', '7', '--width', '0.5'];
  const { status, stdout, stderr } = runCli([...args, '--factorized', '--top-pairs', '1', '--json']);
  assert.equal(status, 0, stderr);
  const report = JSON.parse(stdout);
  const options = { inputShape: [20, 20, 3] as [number, number, number], classes: 7, factorized: true, topPairs: 1 };
  const model = buildModel('inception-bn-small', { ...options, width: 0.5 });
  const reference = buildModel('inception-bn-small', options);
  const expected = summarize(model);
  assert.equal(report.params, expected.params);
  assert.equal(report.multiplyAdds, expected.multiplyAdds);
  assert.equal(report.batchNormParams, expected.batchNormParams);
  assert.deepEqual(
    report.layers.map((l: { name: string }) => l.name),
    expected.layers.map((l) => l.name),
  );
  assert.equal(report.channelFactor, 0.5);
  assert.ok(Math.abs(report.paramRatio - expected.params / summarize(reference).params) < 1e-12);
  assert.equal(report.options.widthScope, 'modules');
  model.dispose();
  reference.dispose();
});

test('summary prints a layer table with the totals, the channel factor and the parameter ratio', () => {
  const { status, stdout, stderr } = runCli(['summary', 'inception-bn-small', '--width', '2']);
  assert.equal(status, 0, stderr);
  assert.match(stdout, /^inception_3a\/1x1 +Conv2D +\[28, 28, 64\] +6144 +4816896$/m);
  assert.match(stdout, /width: channel factor 2 \(modules\), parameter ratio \d\.\d{4}/);
  assert.match(stdout, /params: \d+\.\d{3} M/);
  assert.match(stdout, /multiply-adds per image: \d+\.\d{3} M/);
});

test('bad arguments exit 2 with a message naming the value and the accepted ones', () => {
  const cases: [string[], RegExp][] = [
    [['summary', 'resnet-50'], /'resnet-50'.*inception-bn, inception-bn-small/],
    [['summary', 'inception-bn', '--width-scope', 'sideways'], /'sideways'.*modules, all/],
    [['summary', 'inception-bn-small', '--input', '28x28', '--width', '0.5'], /--input '28x28'.*HxWxC/],
  ];
  for (const [args, message] of cases) {
    const { status, stderr } = runCli(args);
    assert.equal(status, 2, `${args.join(' ')}: ${stderr}`);
    assert.match(stderr, message);
  }
});
