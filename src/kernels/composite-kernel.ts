/**
 * A declared kernel's composite implementation from tf ops, for the backends that have no native version of it. A
 * kernel function receives the tensors given to `runKernel` and may return tensors, which the engine takes as they are.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, NamedAttrMap, NamedTensorInfoMap } from '@tensorflow/tfjs';
import { declaredAttrs, declaredInputs } from './kernel-declaration.ts';
import type { KernelDeclaration } from './kernel-declaration.ts';

/** Backends that get the composite kernels; `torch` brings native ones. */
export const COMPOSITE_BACKENDS = ['cpu', 'wasm', 'tensorflow'] as const;

export type CompositeKernel<I extends string, A extends string> = (
  inputs: Record<I, tf.Tensor>,
  attrs: Record<A, number>,
) => tf.Tensor[];

/** Registers `composite` for each backend in COMPOSITE_BACKENDS that has no kernel of the declared name yet. */
export function registerCompositeKernel<I extends string, A extends string>(
  declaration: KernelDeclaration<I, A>,
  composite: CompositeKernel<I, A>,
): void {
  const kernelFunc = ({ inputs, attrs }: { inputs: NamedTensorInfoMap; attrs?: NamedAttrMap }): tf.Tensor[] => {
    const tensors = declaredInputs(declaration, inputs);
    for (const [name, value] of Object.entries(tensors)) {
      if (!(value instanceof tf.Tensor)) throw new Error(`kernel ${declaration.name}: input '${name}' is not a tensor`);
    }
    return composite(tensors as Record<I, tf.Tensor>, declaredAttrs(declaration, attrs));
  };
  for (const backendName of COMPOSITE_BACKENDS) {
    if (tf.getKernel(declaration.name, backendName) === undefined) {
      tf.registerKernel({ kernelName: declaration.name, backendName, kernelFunc: kernelFunc as unknown as KernelFunc });
    }
  }
}
