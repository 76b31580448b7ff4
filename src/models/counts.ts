/**
 * Parameter and multiply-add counts of a model, per image.
 *
 * Parameters: by default the weights of every layer except BatchNormalization (conv kernels, dense kernels and biases),
 * the convention of the reference counts in shared/docs/inception-bn.md (11.27 M for BN-Inception). BatchNormalization
 * holds 4 more weights per channel (gamma, beta, moving mean, moving variance); `{ includeBatchNorm: true }` adds them
 * (then the count equals `model.countParams()`, every weight the model saves).
 * Multiply-adds: Conv2D Ho*Wo*kh*kw*Cin*Cout (per group of output positions, strides included through Ho, Wo),
 * DepthwiseConv2D Ho*Wo*kh*kw*Cin*multiplier, Dense in*out (times any leading spatial positions). Bias additions,
 * BatchNormalization, activations, pooling and concatenation are not counted.
 */
import type * as tf from '@tensorflow/tfjs';

export interface LayerSummary {
  name: string;
  className: string;
  /** Output shape without the batch dimension (the first output for multi-output layers). */
  outputShape: number[];
  params: number;
  multiplyAdds: number;
}

export interface ModelSummary {
  layers: LayerSummary[];
  /** Parameters without BatchNormalization (the reference convention; see countParams). */
  params: number;
  /** BatchNormalization weights (gamma, beta, moving mean, moving variance): params + this = every saved weight. */
  batchNormParams: number;
  multiplyAdds: number;
}

export interface CountParamsOptions {
  /** Add BatchNormalization's 4 weights per channel (default false). */
  includeBatchNorm?: boolean;
}

const isBatchNorm = (layer: Layer) => layer.getClassName() === 'BatchNormalization';

type Layer = tf.layers.Layer;

function product(values: readonly number[]): number {
  return values.reduce((a, b) => a * b, 1);
}

/** Output shape of a layer without the batch dimension; throws when a dimension is unknown. */
function outputShapeOf(layer: Layer): number[] {
  const raw = layer.outputShape;
  const shape = (Array.isArray(raw[0]) ? raw[0] : raw) as (number | null)[];
  const dims = shape.slice(1);
  if (dims.some((d) => d === null)) {
    throw new Error(
      `layer '${layer.name}' has an unknown output dimension [${dims.join(', ')}]: counts need fixed shapes`,
    );
  }
  return dims as number[];
}

function kernelShape(layer: Layer): number[] {
  const kernel = layer.getWeights(false)[0];
  if (kernel === undefined) throw new Error(`layer '${layer.name}' (${layer.getClassName()}) has no kernel`);
  return kernel.shape;
}

/** Multiply-adds of one layer for one image (0 for layers that are not counted). */
export function layerMultiplyAdds(layer: Layer): number {
  switch (layer.getClassName()) {
    case 'Conv2D': {
      const [kh, kw, cin, cout] = kernelShape(layer);
      const [ho, wo] = outputShapeOf(layer);
      return ho * wo * kh * kw * cin * cout;
    }
    case 'DepthwiseConv2D': {
      const [kh, kw, cin, multiplier] = kernelShape(layer);
      const [ho, wo] = outputShapeOf(layer);
      return ho * wo * kh * kw * cin * multiplier;
    }
    case 'Dense': {
      const [unitsIn, unitsOut] = kernelShape(layer);
      const positions = product(outputShapeOf(layer).slice(0, -1));
      return positions * unitsIn * unitsOut;
    }
    default:
      return 0;
  }
}

export function countParams(model: tf.LayersModel, options: CountParamsOptions = {}): number {
  return model.layers
    .filter((layer) => options.includeBatchNorm || !isBatchNorm(layer))
    .reduce((sum, layer) => sum + layer.countParams(), 0);
}

export function countMultiplyAdds(model: tf.LayersModel): number {
  return model.layers.reduce((sum, layer) => sum + layerMultiplyAdds(layer), 0);
}

/**
 * Multiply-adds of one training step per image, in forward passes: the forward pass, and the backward pass's two
 * (the gradient of each layer's input and of its weights each cost what its forward pass does) — the usual "3x
 * forward" estimate, with the same layers counted as `layerMultiplyAdds` counts.
 */
export const TRAINING_PASSES = 3;

/** Training multiply-adds of `images` images through a model of `forwardMultiplyAdds` per image. */
export function trainingMultiplyAdds(forwardMultiplyAdds: number, images: number): number {
  return TRAINING_PASSES * forwardMultiplyAdds * images;
}

export function summarize(model: tf.LayersModel): ModelSummary {
  const layers = model.layers.map((layer) => ({
    name: layer.name,
    className: layer.getClassName(),
    outputShape: outputShapeOf(layer),
    params: layer.countParams(),
    multiplyAdds: layerMultiplyAdds(layer),
  }));
  const sumParams = (selected: LayerSummary[]) => selected.reduce((sum, l) => sum + l.params, 0);
  return {
    layers,
    params: sumParams(layers.filter((l) => l.className !== 'BatchNormalization')),
    batchNormParams: sumParams(layers.filter((l) => l.className === 'BatchNormalization')),
    multiplyAdds: layers.reduce((sum, l) => sum + l.multiplyAdds, 0),
  };
}
