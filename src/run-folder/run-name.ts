/**
 * Run folder names of swept students. A run is its method's name, then one `@` part per setting the experiment sweeps
 * for that method, always in this order:
 *
 * - `@lr<rate>`: the student learning rate (`--student-lr`, fig. 4), e.g. `net2wider@lr0.005`;
 * - `@state=<fresh|transfer>`: the optimizer state the student starts from (`--optimizer-state` with two values);
 * - `@noise=<none|zero-sum|scale>`: Net2WiderNet's symmetry breaking (`--noise` with two or more values).
 *
 * e.g. `net2wider@lr0.005@state=transfer@noise=0.01`. A setting given one value adds no part (the run keeps the
 * method's name, as before sweeps existed). `runName` and `parseRunName` are each other's inverse.
 */
import type { NoiseSpec } from '../net2net/noise.ts';

/** Where a grown student's RMSProp state comes from: new slots, or its teacher's mapped through the transform. */
export type OptimizerStateChoice = 'fresh' | 'transfer';
export const OPTIMIZER_STATE_CHOICES: readonly OptimizerStateChoice[] = ['fresh', 'transfer'];

export interface RunNameParts {
  /** The method's run name (`net2wider`). */
  method: string;
  learningRate?: number;
  optimizerState?: OptimizerStateChoice;
  noise?: NoiseSpec;
}

/** The text of a noise setting in a run name and on the command line: `none`, `zero-sum` or the scale. */
export function noiseText(noise: NoiseSpec): string {
  return typeof noise === 'number' ? String(noise) : noise;
}

/** A noise setting from its text, or null when the text is none of the accepted ones (a scale must be > 0). */
export function parseNoiseText(text: string): NoiseSpec | null {
  if (text === 'none' || text === 'zero-sum') return text;
  const scale = text.trim() === '' ? NaN : Number(text);
  return Number.isFinite(scale) && scale > 0 ? scale : null;
}

export function runName(parts: RunNameParts): string {
  return (
    parts.method +
    (parts.learningRate === undefined ? '' : `@lr${parts.learningRate}`) +
    (parts.optimizerState === undefined ? '' : `@state=${parts.optimizerState}`) +
    (parts.noise === undefined ? '' : `@noise=${noiseText(parts.noise)}`)
  );
}

/** The method of a run name, without its settings: `random-pad@lr0.002@state=transfer` -> `random-pad`. */
export function methodOfRun(run: string): string {
  return run.split('@')[0]!;
}

/** The parts of a run name; an error for a part that is not one of the settings above, or out of order. */
export function parseRunName(run: string): RunNameParts {
  const [method, ...settings] = run.split('@');
  const parts: RunNameParts = { method: method! };
  const bad = (why: string) => new Error(`run name '${run}': ${why}`);
  for (const setting of settings) {
    const lr = /^lr(.+)$/.exec(setting);
    const [key, value] = setting.split('=', 2) as [string, string | undefined];
    if (lr && !setting.includes('=')) {
      const rate = Number(lr[1]);
      if (!(Number.isFinite(rate) && rate > 0)) throw bad(`'@${setting}' is not a positive learning rate`);
      parts.learningRate = rate;
    } else if (key === 'state' && (value === 'fresh' || value === 'transfer')) {
      parts.optimizerState = value;
    } else if (key === 'noise' && value !== undefined && parseNoiseText(value) !== null) {
      parts.noise = parseNoiseText(value)!;
    } else {
      throw bad(`'@${setting}' is not @lr<rate>, @state=fresh|transfer or @noise=none|zero-sum|<scale>`);
    }
  }
  if (runName(parts) !== run)
    throw bad(`not written as the runner names it ('${runName(parts)}': @lr, @state, @noise)`);
  return parts;
}
