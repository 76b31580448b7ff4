/** Element-wise kernels: unary and broadcasting binary ops, activations, casts, select, AddN, Identity. */
import type { DataType, KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { dtypeCode } from '../torch-backend.ts';
import { ANY, FLOAT, NUMERIC, input, torchKernel } from './kernel.ts';

/** TensorFlow.js kernel -> native op, for one-input kernels with input `x`. */
const UNARY: Record<string, [string, readonly DataType[]]> = {
  Neg: ['neg', NUMERIC],
  Abs: ['abs', NUMERIC],
  Exp: ['exp', NUMERIC],
  Expm1: ['expm1', NUMERIC],
  Log: ['log', NUMERIC],
  Log1p: ['log1p', NUMERIC],
  Sqrt: ['sqrt', NUMERIC],
  Rsqrt: ['rsqrt', NUMERIC],
  Square: ['square', NUMERIC],
  Reciprocal: ['reciprocal', NUMERIC],
  Relu: ['relu', NUMERIC],
  Relu6: ['relu6', NUMERIC],
  Sigmoid: ['sigmoid', NUMERIC],
  Tanh: ['tanh', NUMERIC],
  Softplus: ['softplus', FLOAT],
  Elu: ['elu', FLOAT],
  Selu: ['selu', FLOAT],
  Erf: ['erf', FLOAT],
  Sin: ['sin', NUMERIC],
  Cos: ['cos', NUMERIC],
  Floor: ['floor', NUMERIC],
  Ceil: ['ceil', NUMERIC],
  Round: ['round', NUMERIC],
  Sign: ['sign', NUMERIC],
  IsFinite: ['isFinite', NUMERIC],
  IsNan: ['isNan', NUMERIC],
  IsInf: ['isInf', NUMERIC],
  LogicalNot: ['logicalNot', ANY],
  ZerosLike: ['zerosLike', ANY],
  OnesLike: ['onesLike', ANY],
};

/** TensorFlow.js kernel -> [native op, first input, second input, dtypes]. */
const BINARY: Record<string, [string, string, string, readonly DataType[]]> = {
  Add: ['add', 'a', 'b', ANY],
  Sub: ['sub', 'a', 'b', NUMERIC],
  Multiply: ['mul', 'a', 'b', ANY],
  RealDiv: ['realDiv', 'a', 'b', NUMERIC],
  FloorDiv: ['floorDiv', 'a', 'b', NUMERIC],
  Mod: ['mod', 'a', 'b', NUMERIC],
  Maximum: ['maximum', 'a', 'b', NUMERIC],
  Minimum: ['minimum', 'a', 'b', NUMERIC],
  Pow: ['pow', 'a', 'b', NUMERIC],
  SquaredDifference: ['squaredDifference', 'a', 'b', NUMERIC],
  Equal: ['equal', 'a', 'b', ANY],
  NotEqual: ['notEqual', 'a', 'b', ANY],
  Greater: ['greater', 'a', 'b', NUMERIC],
  GreaterEqual: ['greaterEqual', 'a', 'b', NUMERIC],
  Less: ['less', 'a', 'b', NUMERIC],
  LessEqual: ['lessEqual', 'a', 'b', NUMERIC],
  LogicalAnd: ['logicalAnd', 'a', 'b', ANY],
  LogicalOr: ['logicalOr', 'a', 'b', ANY],
  Atan2: ['atan2', 'a', 'b', FLOAT],
  Prelu: ['prelu', 'x', 'alpha', FLOAT],
  EluGrad: ['eluGrad', 'dy', 'y', FLOAT],
};

export function elementwiseKernels(): KernelConfig[] {
  const configs: KernelConfig[] = [];
  for (const [name, [op, dtypes]] of Object.entries(UNARY)) {
    configs.push(
      torchKernel(name, dtypes, ({ inputs, backend }) => backend.runOne(op, backend.id(input(inputs, 'x')))),
    );
  }
  for (const [name, [op, first, second, dtypes]] of Object.entries(BINARY)) {
    configs.push(
      torchKernel(name, dtypes, ({ inputs, backend }) =>
        backend.runOne(op, backend.id(input(inputs, first)), backend.id(input(inputs, second))),
      ),
    );
  }
  configs.push(
    torchKernel('Identity', ANY, ({ inputs, backend }) => backend.alias(input(inputs, 'x'))),
    torchKernel('Step', NUMERIC, ({ inputs, attrs, backend }) =>
      backend.runOne('step', backend.id(input(inputs, 'x')), Number(attrs.alpha ?? 0)),
    ),
    torchKernel('LeakyRelu', FLOAT, ({ inputs, attrs, backend }) =>
      backend.runOne('leakyRelu', backend.id(input(inputs, 'x')), Number(attrs.alpha)),
    ),
    torchKernel('ClipByValue', NUMERIC, ({ inputs, attrs, backend }) =>
      backend.runOne('clip', backend.id(input(inputs, 'x')), Number(attrs.clipValueMin), Number(attrs.clipValueMax)),
    ),
    torchKernel('Cast', ANY, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'x');
      const dtype = attrs.dtype as DataType;
      if (dtype === x.dtype) return backend.alias(x);
      return backend.runOne('cast', backend.id(x), dtypeCode(dtype));
    }),
    torchKernel('Select', ANY, ({ inputs, backend }) =>
      backend.runOne(
        'select',
        backend.id(input(inputs, 'condition')),
        backend.id(input(inputs, 't')),
        backend.id(input(inputs, 'e')),
      ),
    ),
    torchKernel('AddN', ANY, ({ inputs, backend }) =>
      backend.runOne(
        'addN',
        (Object.values(inputs) as TensorInfo[]).map((t) => backend.id(t)),
      ),
    ),
  );
  return configs;
}
