/**
 * TensorFlow.js's cpu backend prints, with its first tensor in Node, a banner advising to install tfjs-node. The
 * `[backend]` line already says what runs, so the banner is marked as shown. (tfjs-core's PROD flag would silence it
 * too, but with every other TensorFlow.js warning, such as why a backend failed to initialize.)
 */
import * as tf from '@tensorflow/tfjs';

/** The cpu backend's private flag (tfjs-backend-cpu 4.22, backend_cpu.ts): true until the banner is printed. */
interface BannerState {
  firstUse?: boolean;
}

export function silenceCpuBackendBanner(): void {
  const cpu = tf.findBackend('cpu') as BannerState | null;
  if (cpu !== null && typeof cpu.firstUse === 'boolean') cpu.firstUse = false;
}
