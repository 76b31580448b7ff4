/**
 * A canonical text description of a model's architecture, for checking that a transformed model (e.g. a Net2Net
 * student) is exactly the architecture a builder makes: one line per layer with its name, class, input layers,
 * output shape, weight shapes and the config entries that shapes do not show (strides, padding, pool size, bias,
 * activation, axis, epsilon). Initializers and weight values are left out.
 */
import type * as tf from '@tensorflow/tfjs';

const SHAPING_CONFIG = ['strides', 'padding', 'poolSize', 'useBias', 'activation', 'axis', 'epsilon'];

export function describeLayer(layer: tf.layers.Layer): string {
  const config = layer.getConfig() as Record<string, unknown>;
  const inputs = layer.inboundNodes.flatMap((node) => node.inboundLayers.map((l) => l.name));
  const weights = layer.weights.map((w) => `${w.originalName.split('/').pop()}[${w.shape.join(',')}]`);
  const shaping = SHAPING_CONFIG.filter((key) => key in config).map((key) => `${key}=${JSON.stringify(config[key])}`);
  const parts = [layer.name, layer.getClassName(), `<- [${inputs.join(', ')}]`, JSON.stringify(layer.outputShape)];
  return [...parts, ...weights, ...shaping].join(' ');
}

/** One line per layer, sorted by layer name (the input layers' lines name the wiring, so order adds nothing). */
export function describeArchitecture(model: tf.LayersModel): string[] {
  return model.layers.map(describeLayer).sort();
}

/** Lines only in `actual` and lines only in `expected`; both empty when the architectures are the same. */
export function architectureDifference(
  actual: tf.LayersModel,
  expected: tf.LayersModel,
): { unexpected: string[]; missing: string[] } {
  const a = describeArchitecture(actual);
  const e = describeArchitecture(expected);
  const inA = new Set(a);
  const inE = new Set(e);
  return { unexpected: a.filter((line) => !inE.has(line)), missing: e.filter((line) => !inA.has(line)) };
}
