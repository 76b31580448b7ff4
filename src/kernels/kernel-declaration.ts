/**
 * A kernel of our own, declared once: its TensorFlow.js name, its inputs, its numeric attributes with the values each
 * accepts, and its outputs. Each backend's implementation is registered from the declaration and reads inputs and
 * attributes through it, so a missing input or a bad attribute is an error naming the kernel on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';

/** What an attribute accepts: any finite number, or a finite number >= 0. */
export type AttrRule = 'finite' | 'non-negative';

export interface KernelDeclaration<I extends string = string, A extends string = string> {
  readonly name: string;
  /** Float32 tensors, in the order the kernel documents them. */
  readonly inputs: readonly I[];
  readonly attrs: { readonly [K in A]: AttrRule };
  readonly outputs: readonly string[];
}

export function declareKernel<const I extends string, const A extends string>(
  declaration: KernelDeclaration<I, A>,
): KernelDeclaration<I, A> {
  return declaration;
}

/** The declared inputs, each present: an error names the kernel and the input otherwise. */
export function declaredInputs<I extends string>(
  declaration: KernelDeclaration<I, string>,
  inputs: NamedTensorInfoMap,
): Record<I, TensorInfo> {
  const found = {} as Record<I, TensorInfo>;
  for (const name of declaration.inputs) {
    const value = inputs[name];
    if (value == null) throw new Error(`kernel ${declaration.name}: input '${name}' is missing`);
    found[name] = value;
  }
  return found;
}

/** The declared attributes, each a number its rule accepts: an error names the kernel and the attribute otherwise. */
export function declaredAttrs<A extends string>(
  declaration: KernelDeclaration<string, A>,
  attrs: NamedAttrMap | undefined,
): Record<A, number> {
  const found = {} as Record<A, number>;
  for (const [name, rule] of Object.entries(declaration.attrs) as [A, AttrRule][]) {
    const value = attrs?.[name];
    const ok = typeof value === 'number' && Number.isFinite(value) && (rule === 'finite' || value >= 0);
    if (!ok) {
      const wanted = rule === 'finite' ? 'a finite number' : 'a finite number >= 0';
      throw new Error(`kernel ${declaration.name}: attr '${name}' must be ${wanted}, got ${String(value)}`);
    }
    found[name] = value as number;
  }
  return found;
}

/** Runs the kernel on the current backend; its outputs in declared order. */
export function runDeclaredKernel<I extends string, A extends string>(
  declaration: KernelDeclaration<I, A>,
  inputs: Record<I, tf.Tensor>,
  attrs: Record<A, number>,
): tf.Tensor[] {
  const outputs = tf
    .engine()
    .runKernel<tf.Tensor[]>(declaration.name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as NamedAttrMap);
  if (outputs.length !== declaration.outputs.length) {
    throw new Error(
      `kernel ${declaration.name} returned ${outputs.length} outputs on ${tf.getBackend()}, ` +
        `declared ${declaration.outputs.length} (${declaration.outputs.join(', ')})`,
    );
  }
  return outputs;
}
