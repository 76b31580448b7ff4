/**
 * The small Inception-BN of MXNet `symbol_inception-bn-28-small.py`, for 28x28 (any HxWxC) inputs and any class
 * count: a 3x3 stem conv, then `Simple(a, b)` = concat(1x1 conv a, 3x3 conv b) and `Down(c)` = concat(3x3/2 conv c,
 * 3x3/2 max pool of the input) modules, described as a table.
 *
 * Layer names: stem `conv1`; Simple module M: `M/1x1`, `M/3x3`, `M/concat`, `M/output`; Down module M: `M/3x3`
 * (stride 2), `M/pool`, `M/concat`, `M/output`; head `global_pool`, `fc` (logits).
 */
import * as tf from '@tensorflow/tfjs';
import { convBlock, logitsHead, moduleOutput, spatialConv } from './conv-block.ts';
import type { BlockContext } from './conv-block.ts';
import type { FamilyBuildOptions, ModelFamily } from './family.ts';
import { scaledChannels } from './width.ts';

const STEM_CHANNELS = 96;

type SmallModuleSpec =
  { kind: 'simple'; name: string; c1x1: number; c3x3: number } | { kind: 'down'; name: string; c3x3: number };

const simple = (name: string, c1x1: number, c3x3: number): SmallModuleSpec => ({ kind: 'simple', name, c1x1, c3x3 });
const down = (name: string, c3x3: number): SmallModuleSpec => ({ kind: 'down', name, c3x3 });

export const INCEPTION_BN_SMALL_MODULES: readonly SmallModuleSpec[] = [
  simple('inception_3a', 32, 32),
  simple('inception_3b', 32, 48),
  down('inception_3c', 80),
  simple('inception_4a', 112, 48),
  simple('inception_4b', 96, 64),
  simple('inception_4c', 80, 80),
  simple('inception_4d', 48, 96),
  down('inception_4e', 96),
  simple('inception_5a', 176, 160),
  simple('inception_5b', 176, 160),
];

function smallModule(
  ctx: BlockContext,
  x: tf.SymbolicTensor,
  spec: SmallModuleSpec,
  options: FamilyBuildOptions,
): tf.SymbolicTensor {
  const m = spec.name;
  const c = (channels: number) => scaledChannels(options.width, channels, 'module');
  const branches: tf.SymbolicTensor[] = [];
  if (spec.kind === 'simple') {
    branches.push(convBlock(ctx, x, { name: `${m}/1x1`, filters: c(spec.c1x1), kernel: [1, 1] }));
    branches.push(spatialConv(ctx, x, `${m}/3x3`, c(spec.c3x3), 1, options));
  } else {
    branches.push(spatialConv(ctx, x, `${m}/3x3`, c(spec.c3x3), 2, options));
    branches.push(
      tf.layers
        .maxPooling2d({ name: `${m}/pool`, poolSize: 3, strides: 2, padding: 'same' })
        .apply(x) as tf.SymbolicTensor,
    );
  }
  return moduleOutput(ctx, branches, m, options.topPairs);
}

function buildInceptionBnSmall(options: FamilyBuildOptions): tf.LayersModel {
  const ctx: BlockContext = { seed: options.seed, batchNormMomentum: options.batchNormMomentum };
  const input = tf.input({ name: 'input', shape: options.inputShape });
  let x = convBlock(ctx, input, {
    name: 'conv1',
    filters: scaledChannels(options.width, STEM_CHANNELS, 'stem'),
    kernel: [3, 3],
  });
  for (const spec of INCEPTION_BN_SMALL_MODULES) x = smallModule(ctx, x, spec, options);
  const logits = logitsHead(ctx, x, options.classes);
  return tf.model({ name: 'inception-bn-small', inputs: input, outputs: logits });
}

export const INCEPTION_BN_SMALL: ModelFamily = {
  name: 'inception-bn-small',
  description: 'MXNet inception-bn-28-small: 28x28 (any HxWxC) inputs, any class count; logits head',
  defaultInputShape: [28, 28, 1],
  defaultClasses: 10,
  minimumChannels: 1,
  build: buildInceptionBnSmall,
};
