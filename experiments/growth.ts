/**
 * The growth study (beyond the paper; issue 19): what happens at growth, and what growth saves. Wider's narrow teacher
 * (sqrt(0.3) width, the same cached teacher as `wider` for the same preset and seed) grows by Net2WiderNet to the
 * standard network with the teacher's RMSProp state fresh or transferred (`src/net2net/optimizer-state.md`) and with
 * each of three symmetry breakings: none (exact, replicas identical), zero-sum (exact, replicas differ) and the
 * paper's Gaussian noise at 0.01 of the consumer kernel's root mean square (not exact); compared with random pad
 * (fresh and transferred state), random init and the teacher trained further. Figures against minibatches and
 * against training multiply-adds, without and with the teacher's training charged.
 */
import type { ExperimentDefinition, MethodDefinition, SweptSettings } from '../src/experiment/definition.ts';
import type { NoiseSpec } from '../src/net2net/noise.ts';
import { WIDER } from './wider.ts';

/**
 * The Gaussian scale of the study's noisy runs: the paper gives none ("add a small amount of noise"); 0.01 of the
 * consumer kernel's root mean square is what `--noise 0.01` has stood for in this repository (experiments/README.md).
 */
export const PAPER_NOISE_SCALE = 0.01;

function noiseLabel(noise: NoiseSpec): string {
  return noise === 'none' ? 'no noise' : noise === 'zero-sum' ? 'zero-sum' : `Gaussian ${noise}`;
}

/**
 * Short labels, so that two legend columns hold the ten curves: `Net2WiderNet, transfer, Gaussian 0.01`,
 * `Random pad, fresh` (the optimizer state, then the noise; a learning rate of a `--student-lr` sweep first).
 */
export function growthLabel(method: MethodDefinition, settings: SweptSettings): string {
  return [
    method.label,
    ...(settings.learningRate === undefined ? [] : [`lr ${settings.learningRate}`]),
    ...(settings.optimizerState === undefined ? [] : [settings.optimizerState]),
    ...(settings.noise === undefined ? [] : [noiseLabel(settings.noise)]),
  ].join(', ');
}

export const GROWTH: ExperimentDefinition = {
  ...WIDER,
  name: 'growth',
  description:
    "growth study: wider's teacher -> standard student, Net2WiderNet with fresh/transferred optimizer state x " +
    'noise none/zero-sum/Gaussian, random pad, random init, teacher trained further; figures against compute',
  noise: 'zero-sum',
  growth: { optimizerStates: ['fresh', 'transfer'], noises: ['none', 'zero-sum', PAPER_NOISE_SCALE] },
  sweepLabel: growthLabel,
  figureAxes: [
    { x: 'compute', chargeTeacher: false },
    { x: 'compute', chargeTeacher: true },
  ],
  claims: [
    // Judged on the exact-noise runs only (src/experiment/planned-claims.ts): Gaussian noise changes the function.
    { kind: 'starts-at-teacher', run: 'net2wider' },
    { kind: 'ahead-at-every-evaluation', run: 'net2wider', than: ['random-pad', 'random-init'] },
    { kind: 'saves-compute', run: 'net2wider', chargeTeacher: false },
    { kind: 'saves-compute', run: 'net2wider', chargeTeacher: true },
  ],
};
