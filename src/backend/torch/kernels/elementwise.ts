/** Element-wise kernels: unary and broadcasting binary ops, activations, casts, select, AddN, Identity. */
import type { DataType, KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import type { NativeOp, NativeOpArguments } from '../native-ops.ts';
import { ANY, FLOAT, NUMERIC, input, torchKernel } from './kernel.ts';

/** The native ops whose arguments are exactly `Args`. */
type OpsTaking<Args> = {
  [K in NativeOp]: [NativeOpArguments[K]] extends [Args] ? ([Args] extends [NativeOpArguments[K]] ? K : never) : never;
}[NativeOp];
type UnaryOp = OpsTaking<{ x: TensorInfo }>;
type BinaryOp = OpsTaking<{ x: TensorInfo; y: TensorInfo }>;

/** TensorFlow.js kernel -> native op, for one-input kernels with input `x`. */
const UNARY: Record<string, [UnaryOp, readonly DataType[]]> = {
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
const BINARY: Record<string, [BinaryOp, string, string, readonly DataType[]]> = {
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
    configs.push(torchKernel(name, dtypes, ({ inputs, backend }) => backend.runOne(op, { x: input(inputs, 'x') })));
  }
  for (const [name, [op, first, second, dtypes]] of Object.entries(BINARY)) {
    configs.push(
      torchKernel(name, dtypes, ({ inputs, backend }) =>
        backend.runOne(op, { x: input(inputs, first), y: input(inputs, second) }),
      ),
    );
  }
  configs.push(
    torchKernel('Identity', ANY, ({ inputs, backend }) => backend.alias(input(inputs, 'x'))),
    torchKernel('Step', NUMERIC, ({ inputs, attrs, backend }) =>
      backend.runOne('step', { x: input(inputs, 'x'), alpha: Number(attrs.alpha ?? 0) }),
    ),
    torchKernel('LeakyRelu', FLOAT, ({ inputs, attrs, backend }) =>
      backend.runOne('leakyRelu', { x: input(inputs, 'x'), alpha: Number(attrs.alpha) }),
    ),
    torchKernel('ClipByValue', NUMERIC, ({ inputs, attrs, backend }) =>
      backend.runOne('clip', {
        x: input(inputs, 'x'),
        min: Number(attrs.clipValueMin),
        max: Number(attrs.clipValueMax),
      }),
    ),
    torchKernel('Cast', ANY, ({ inputs, attrs, backend }) => {
      const x = input(inputs, 'x');
      const dtype = attrs.dtype as DataType;
      if (dtype === x.dtype) return backend.alias(x);
      return backend.runOne('cast', { x, dtype });
    }),
    torchKernel('Select', ANY, ({ inputs, backend }) =>
      backend.runOne('select', {
        condition: input(inputs, 'condition'),
        t: input(inputs, 't'),
        e: input(inputs, 'e'),
      }),
    ),
    torchKernel('AddN', ANY, ({ inputs, backend }) =>
      backend.runOne('addN', { inputs: Object.values(inputs) as TensorInfo[] }),
    ),
  );
  return configs;
}
