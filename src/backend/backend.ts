/**
 * Choosing and preparing the TensorFlow.js backend: one function, `selectBackend`, that the rest of the code calls.
 *
 * Order for `auto`: first a GPU that is really in use (torch on CUDA, then tfjs-node-gpu with its CUDA libraries
 * loaded); then the fastest CPU path measured, torch (libtorch through our addon; README, Benchmarks); then tensorflow
 * (tfjs-node, or tfjs-node-gpu running on the CPU), wasm (with our training kernels), cpu. The tfjs-node packages are
 * optionalDependencies: where their install could not download libtensorflow, npm drops them and the dynamic import
 * below fails, which is expected and reported; likewise the torch addon exists only where the install found a
 * libtorch and a compiler.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { registerWasmTrainingKernels } from './wasm-kernels/index.ts';
import { guardedActivation } from './activation-guards.ts';
import { installPrecisionDriver } from './precision.ts';

export const BACKEND_CHOICES = ['auto', 'torch', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
type ConcreteChoice = Exclude<BackendChoice, 'auto'>;

export interface BackendInfo {
  /** What was asked for. */
  requested: BackendChoice;
  /** What runs: one of the concrete choices. */
  choice: ConcreteChoice;
  /** TensorFlow.js's own backend name (`tf.getBackend()`): torch, tensorflow, wasm or cpu. */
  tfBackend: string;
  /** For torch and tensorflow-gpu: whether a GPU really runs the kernels; null elsewhere. */
  gpuInUse: boolean | null;
  /** Why earlier candidates of `auto` were skipped, and other notes. */
  notes: string[];
}

export class BackendUnavailableError extends Error {
  constructor(
    readonly requested: BackendChoice,
    readonly reasons: Record<string, string>,
  ) {
    const lines = Object.entries(reasons).map(([name, why]) => `  ${name}: ${why}`);
    super(
      `backend '${requested}' cannot load:\n${lines.join('\n')}\navailable here: ${availableHint(reasons)}` +
        `\n(choices: ${BACKEND_CHOICES.join(', ')})`,
    );
    this.name = 'BackendUnavailableError';
  }
}

function availableHint(reasons: Record<string, string>): string {
  const failed = new Set(Object.keys(reasons));
  return (
    (['torch', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const).filter((c) => !failed.has(c)).join(', ') ||
    'none'
  );
}

export function isBackendChoice(value: string): value is BackendChoice {
  return (BACKEND_CHOICES as readonly string[]).includes(value);
}

export interface BackendOptions {
  /** Intra-op threads of the torch backend (default: NET2NET_THREADS, else every core). */
  threads?: number;
}

interface Activated {
  tfBackend: string;
  gpuInUse: boolean | null;
  notes: string[];
}

/** Loads one concrete backend, makes it current, and returns notes; throws with the reason when it cannot. */
async function activate(choice: ConcreteChoice, options: BackendOptions): Promise<Activated> {
  switch (choice) {
    case 'torch': {
      const { registerTorchBackend } = await import('./torch/register.ts');
      const setup = registerTorchBackend(options);
      installPrecisionDriver({ backendName: 'torch', device: setup.deviceName, ...setup.precision });
      if (!(await tf.setBackend('torch'))) throw new Error('the torch backend did not initialize');
      await tf.ready();
      return {
        tfBackend: 'torch',
        gpuInUse: setup.device.startsWith('cuda') ? true : null,
        notes: [`device ${setup.device}, ${setup.threads} threads, ${setup.libtorch}`],
      };
    }
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const pkg = choice === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      try {
        await import(pkg);
      } catch (err) {
        throw new Error(`${pkg} is not installed or cannot load (${firstLine(err)})`);
      }
      if (!(await tf.setBackend('tensorflow')))
        throw new Error(`${pkg} loaded but its 'tensorflow' backend did not start`);
      await tf.ready();
      if (choice === 'tensorflow') return { tfBackend: 'tensorflow', gpuInUse: null, notes: [] };
      const gpuInUse = probeGpuInUse();
      const notes = gpuInUse
        ? []
        : [
            'tfjs-node-gpu runs on the CPU: CUDA/cuDNN libraries are not loaded in this process ' +
              '(tfjs-node-gpu 4.22 needs CUDA 11.2 and cuDNN 8.1 on the library path)',
          ];
      return { tfBackend: 'tensorflow', gpuInUse, notes };
    }
    case 'wasm': {
      await import('@tensorflow/tfjs-backend-wasm');
      const registered = registerWasmTrainingKernels();
      if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialize');
      await tf.ready();
      return { tfBackend: 'wasm', gpuInUse: null, notes: [`training kernels: ${registered.join(', ') || 'none'}`] };
    }
    case 'cpu': {
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialize');
      await tf.ready();
      return { tfBackend: 'cpu', gpuInUse: null, notes: [] };
    }
  }
}

/**
 * tfjs-node-gpu falls back to the CPU silently when CUDA libraries are missing. Run a convolution, then look at
 * the shared objects mapped into this process: libcudnn and libcuda are loaded only when TensorFlow placed work on a GPU.
 */
function probeGpuInUse(): boolean {
  tf.tidy(() =>
    tf.conv2d(tf.ones([1, 8, 8, 4]) as tf.Tensor4D, tf.ones([3, 3, 4, 4]) as tf.Tensor4D, 1, 'same').dataSync(),
  );
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8');
    return /libcudnn/.test(maps) && /libcuda\.so/.test(maps);
  } catch {
    return false;
  }
}

function firstLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split('\n')[0];
}

let current: BackendInfo | undefined;

/**
 * Selects and initializes the backend; logs one line saying which runs. Calling it again with the same request
 * returns the active backend (with torch, after applying a new thread count).
 */
export async function selectBackend(
  requested: BackendChoice = 'auto',
  log: (line: string) => void = (line) => console.error(line),
  options: BackendOptions = {},
): Promise<BackendInfo> {
  if (!isBackendChoice(requested)) {
    throw new BackendUnavailableError(requested, { [String(requested)]: 'unknown backend name' });
  }
  if (current && (current.requested === requested || current.choice === requested)) {
    if (current.choice === 'torch' && options.threads !== undefined) await activate('torch', options);
    return current;
  }
  const reasons: Record<string, string> = {};
  const attempt = async (choice: ConcreteChoice): Promise<Activated | null> => {
    try {
      return await guardedActivation(() => activate(choice, options));
    } catch (err) {
      reasons[choice] = firstLine(err);
      return null;
    }
  };
  const finish = (choice: ConcreteChoice, activated: Activated): BackendInfo => {
    const skipped = Object.entries(reasons).map(([name, why]) => `${name} skipped: ${why}`);
    current = { requested, choice, ...activated, notes: [...skipped, ...activated.notes] };
    log(describeBackend(current));
    return current;
  };
  if (requested !== 'auto') {
    const activated = await attempt(requested);
    if (activated) return finish(requested, activated);
    throw new BackendUnavailableError(requested, reasons);
  }
  const chosen = await pickAuto(attempt, reasons);
  if (chosen) return finish(chosen.choice, chosen.activated);
  throw new BackendUnavailableError(requested, reasons);
}

/** The `auto` order (see the top of this file). */
async function pickAuto(
  attempt: (choice: ConcreteChoice) => Promise<Activated | null>,
  reasons: Record<string, string>,
): Promise<{ choice: ConcreteChoice; activated: Activated } | null> {
  const torch = await attempt('torch');
  if (torch?.gpuInUse) return { choice: 'torch', activated: torch };
  // A GPU asked for by name is a GPU or an error: never another backend on the CPU.
  if (process.env.NET2NET_TORCH_DEVICE === 'cuda') return null;
  const tfGpu = await attempt('tensorflow-gpu');
  if (tfGpu?.gpuInUse) return { choice: 'tensorflow-gpu', activated: tfGpu };
  if (tfGpu) reasons['tensorflow-gpu'] = 'loaded, but its CUDA libraries are not (it would run on the CPU)';
  if (torch) {
    if (!(await tf.setBackend('torch'))) throw new Error('the torch backend did not start again');
    return { choice: 'torch', activated: torch };
  }
  if (tfGpu) return { choice: 'tensorflow-gpu', activated: tfGpu };
  for (const choice of ['tensorflow', 'wasm', 'cpu'] as const) {
    const activated = await attempt(choice);
    if (activated) return { choice, activated };
  }
  return null;
}

export function describeBackend(info: BackendInfo): string {
  const gpu = info.gpuInUse === null ? '' : info.gpuInUse ? ' (GPU in use)' : ' (NO GPU in use: running on CPU)';
  const notes = info.notes.length ? `; ${info.notes.join('; ')}` : '';
  return `[backend] ${info.choice}${gpu} (tf backend '${info.tfBackend}', requested '${info.requested}')${notes}`;
}
