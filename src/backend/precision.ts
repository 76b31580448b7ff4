/**
 * Training precision: `fp32` (strict float32 everywhere), `bf16` (torch only: convolutions and matrix products,
 * forward and both gradients, compute in bfloat16 where the device has it natively; master weights, RMSProp,
 * BatchNorm and the loss stay float32), `tf32` (torch on CUDA only: cuDNN and cuBLAS may round float32 inputs to
 * TF32) or `auto` (bf16 where it is native, else fp32). Other backends are float32 only and refuse the others.
 *
 * Exactness never depends on it: `strictFloat32(fn)` runs `fn` in strict float32 (bf16 off, TF32 off) whatever the
 * training precision; function-preservation checks and evaluations run inside it.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../usage-error.ts';

export const PRECISIONS = ['fp32', 'bf16', 'tf32'] as const;
export type Precision = (typeof PRECISIONS)[number];
export const PRECISION_CHOICES = [...PRECISIONS, 'auto'] as const;
export type PrecisionChoice = (typeof PRECISION_CHOICES)[number];

/** What the torch backend gives this module (register.ts installs it when the torch backend registers). */
export interface PrecisionDriver {
  /** The TensorFlow.js backend name whose kernels it switches. */
  backendName: string;
  /** Where the device computes bf16 natively; where it is a CUDA device (tf32). */
  support(): { bf16: boolean; tf32: boolean };
  /** Sets the native precision; throws naming the reason when the device cannot run it. */
  set(precision: Precision): void;
  /** Where the kernels run, for messages ('cpu', 'cuda:0'). */
  device: string;
}

let driver: PrecisionDriver | undefined;
let training: Precision = 'fp32';
let strictDepth = 0;

export function installPrecisionDriver(installed: PrecisionDriver): void {
  driver = installed;
}

export function isPrecisionChoice(value: string): value is PrecisionChoice {
  return (PRECISION_CHOICES as readonly string[]).includes(value);
}

/** NET2NET_PRECISION, checked; undefined when unset or empty. */
export function precisionFromEnv(env: NodeJS.ProcessEnv = process.env): PrecisionChoice | undefined {
  const value = env.NET2NET_PRECISION;
  if (value === undefined || value === '') return undefined;
  if (!isPrecisionChoice(value))
    throw new UsageError(
      `NET2NET_PRECISION '${value}' is invalid: accepted values are ${PRECISION_CHOICES.join(', ')}`,
    );
  return value;
}

function activeDriver(): PrecisionDriver | undefined {
  return driver && tf.getBackend() === driver.backendName ? driver : undefined;
}

/** What `choice` means on the active backend: `auto` resolved, an impossible request refused (a UsageError). */
export function resolvePrecision(choice: PrecisionChoice): Precision {
  const active = activeDriver();
  const support = active?.support() ?? { bf16: false, tf32: false };
  if (choice === 'auto') return support.bf16 ? 'bf16' : 'fp32';
  if (choice === 'fp32') return 'fp32';
  if (!active)
    throw new UsageError(
      `precision '${choice}' needs the torch backend; the '${tf.getBackend()}' backend computes in float32 only ` +
        '(use --precision fp32 or auto, or --backend torch)',
    );
  if (choice === 'tf32' && !support.tf32)
    throw new UsageError(`precision 'tf32' is for CUDA GPUs only; the torch backend runs on ${active.device}`);
  if (choice === 'bf16' && !support.bf16)
    throw new UsageError(
      `precision 'bf16' needs native bfloat16, which ${active.device} does not have (a CPU with AVX512-BF16 or ` +
        'AMX, or a CUDA GPU of compute capability 8.0 or newer); use fp32 or auto',
    );
  return choice;
}

/** Resolves `choice` on the active backend and makes it the training precision; returns what it resolved to. */
export function setTrainingPrecision(choice: PrecisionChoice): Precision {
  const precision = resolvePrecision(choice);
  training = precision;
  if (strictDepth === 0) activeDriver()?.set(precision);
  return precision;
}

/** The training precision set last (fp32 until set). */
export function trainingPrecision(): Precision {
  return training;
}

/**
 * Runs `fn` in strict float32 (no bf16, no TF32) and restores the training precision after it, also when `fn`
 * returns a promise (restored once it settles) or throws. Nests.
 */
export function strictFloat32<T>(fn: () => T): T {
  const active = activeDriver();
  if (strictDepth++ === 0 && training !== 'fp32') active?.set('fp32');
  const leave = () => {
    if (--strictDepth === 0 && training !== 'fp32') activeDriver()?.set(training);
  };
  let result: T;
  try {
    result = fn();
  } catch (err) {
    leave();
    throw err;
  }
  if (result instanceof Promise) return result.finally(leave) as T;
  leave();
  return result;
}
