/** Declaring a torch kernel: its TensorFlow.js name, the dtypes it accepts, and the function that runs it. */
import type { DataType, KernelConfig, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
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

/** A kernel config that rejects inputs of other dtypes with an error naming the kernel and the dtype. */
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
      return run({ inputs, attrs, backend });
    }) as unknown as KernelConfig['kernelFunc'],
  };
}

/** The named input, which must be present. */
export function input(inputs: NamedTensorInfoMap, name: string): TensorInfo {
  const info = inputs[name];
  if (info == null) throw new Error(`torch kernel: missing input '${name}'`);
  return info;
}
