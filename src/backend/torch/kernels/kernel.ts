/** Declaring a torch kernel: its TensorFlow.js name, the dtypes it accepts, and the function that runs it. */
import type { DataType, KernelConfig, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import { declaredAttrs, declaredInputs } from '../../../kernels/kernel-declaration.ts';
import type { KernelDeclaration } from '../../../kernels/kernel-declaration.ts';
import { NativeOpError } from '../torch-backend.ts';
import type { TorchBackend } from '../torch-backend.ts';

export const TORCH = 'torch';

export interface TorchKernelArgs {
  inputs: NamedTensorInfoMap;
  attrs: NamedAttrMap;
  backend: TorchBackend;
}

export type TorchKernelFunc = (args: TorchKernelArgs) => TensorInfo | TensorInfo[];

export const FLOAT: readonly DataType[] = ['float32'];
export const NUMERIC: readonly DataType[] = ['float32', 'int32'];
export const ANY: readonly DataType[] = ['float32', 'int32', 'bool'];

/**
 * A kernel config that rejects inputs of other dtypes with an error naming the kernel and the dtype; a native op's
 * error gets the kernel's name too.
 */
export function torchKernel(kernelName: string, dtypes: readonly DataType[], run: TorchKernelFunc): KernelConfig {
  return {
    kernelName,
    backendName: TORCH,
    kernelFunc: (({ inputs, attrs, backend }: TorchKernelArgs) => {
      for (const input of Object.values(inputs)) {
        if (input != null && !dtypes.includes(input.dtype)) {
          throw new Error(`the torch backend has no ${input.dtype} implementation of kernel '${kernelName}'`);
        }
      }
      try {
        return run({ inputs, attrs, backend });
      } catch (err) {
        if (err instanceof NativeOpError) throw new Error(`torch kernel '${kernelName}': ${err.message}`);
        throw err;
      }
    }) as unknown as KernelConfig['kernelFunc'],
  };
}

/** A kernel of our own (float32), with its inputs and attributes read through its declaration. */
export function torchCustomKernel<I extends string, A extends string>(
  declaration: KernelDeclaration<I, A>,
  run: (inputs: Record<I, TensorInfo>, attrs: Record<A, number>, backend: TorchBackend) => TensorInfo[],
): KernelConfig {
  return torchKernel(declaration.name, FLOAT, ({ inputs, attrs, backend }) =>
    run(declaredInputs(declaration, inputs), declaredAttrs(declaration, attrs), backend),
  );
}

/** The named input, which must be present. */
export function input(inputs: NamedTensorInfoMap, name: string): TensorInfo {
  const info = inputs[name];
  if (info == null) throw new Error(`torch kernel: missing input '${name}'`);
  return info;
}
