/**
 * A TensorFlow.js KernelBackend whose tensors are ATen tensors held by the native addon. Each dataId maps to one
 * native tensor id; disposing the last reference releases the native tensor at once. Kernels (./kernels/) call `run`
 * with an op name and its named arguments (declared in native/torch-backend/op-declarations.json) and get TensorInfos
 * back.
 */
import { KernelBackend, util } from '@tensorflow/tfjs';
import type { BackendTimingInfo, DataId, DataType, TensorInfo } from '@tensorflow/tfjs';
import type { CaptureOutcome, NativeValues, ReplayMode, TorchAddon } from './addon.ts';
import { NATIVE_OP_SIGNATURES } from './native-ops.ts';
import type { NativeArgKind, NativeOp, NativeOpArguments } from './native-ops.ts';
import { torchMemoryInfo } from './memory-info.ts';
import type { TorchMemoryInfo } from './memory-info.ts';
import { opIndices } from './op-indices.ts';

type BackendValues = Float32Array | Int32Array | Uint8Array | Uint8Array[];

const DTYPE_CODES: Record<string, number> = { float32: 0, int32: 1, bool: 2 };
const CODE_DTYPES: DataType[] = ['float32', 'int32', 'bool'];

export function dtypeCode(dtype: DataType): number {
  const code = DTYPE_CODES[dtype];
  if (code === undefined) throw new Error(`the torch backend has no ${dtype} tensors`);
  return code;
}

interface TorchData {
  /** Native tensor id. */
  id: number;
  dtype: DataType;
  bytes: number;
  refCount: number;
}

type OpArg = number | string | boolean | readonly number[];

function bytesOf(shape: readonly number[], dtype: DataType): number {
  return util.sizeFromShape(shape as number[]) * (dtype === 'bool' ? 1 : 4);
}

function toNativeValues(values: BackendValues, dtype: DataType): NativeValues {
  if (dtype === 'float32')
    return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  if (dtype === 'int32') return values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>);
  if (dtype === 'bool') {
    if (values instanceof Uint8Array) return values;
    return Uint8Array.from(values as ArrayLike<number>, (v) => (v ? 1 : 0));
  }
  throw new Error(`the torch backend has no ${dtype} tensors`);
}

/** An error the addon raised (its message names the op); the kernel that ran the op adds its own name. */
export class NativeOpError extends Error {
  override readonly name = 'NativeOpError';
}

export class TorchBackend extends KernelBackend {
  private readonly data = new Map<DataId, TorchData>();
  private readonly opIndex: Map<string, number>;
  private readonly meta = new Int32Array(4096);
  private bytes = 0;

  constructor(
    private readonly addon: TorchAddon,
    /** Where tensors live: 'cpu' or 'cuda:N'. */
    readonly device: string,
    /** Intra-op threads (registerTorchBackend updates it when the count changes). */
    public threads: number,
  ) {
    super();
    addon.setMeta(this.meta);
    this.opIndex = opIndices(addon);
  }

  // ---- storage ----

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    const dataId = {};
    this.store(dataId, values, shape, dtype, 1);
    return dataId;
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    this.store(dataId, values, shape, dtype, refCount);
  }

  private store(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    const native = toNativeValues(values ?? new Uint8Array(util.sizeFromShape(shape)), dtype);
    const id = this.addon.fromArray(native, shape, dtypeCode(dtype));
    const bytes = bytesOf(shape, dtype);
    this.data.set(dataId, { id, dtype, bytes, refCount });
    this.bytes += bytes;
  }

  override readSync(dataId: DataId): NativeValues {
    return this.addon.toArray(this.entry(dataId).id);
  }

  override async read(dataId: DataId): Promise<NativeValues> {
    return this.readSync(dataId);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const entry = this.data.get(dataId);
    if (entry === undefined) return true;
    entry.refCount--;
    if (!force && entry.refCount > 0) return false;
    this.data.delete(dataId);
    this.bytes -= entry.bytes;
    this.addon.release(entry.id);
    return true;
  }

  override refCount(dataId: DataId): number {
    return this.data.get(dataId)?.refCount ?? 0;
  }

  override incRef(dataId: DataId): void {
    this.entry(dataId).refCount++;
  }

  override numDataIds(): number {
    return this.data.size;
  }

  override memory(): TorchMemoryInfo {
    return torchMemoryInfo(this.device, this.bytes, this.addon.liveTensors());
  }

  /** Waits for the device's queued kernels (CUDA runs them asynchronously); nothing to wait for on the CPU. */
  synchronize(): void {
    this.addon.synchronize();
  }

  /** The time of `f`'s kernels: the device is synchronized before the clock starts and before it is read. */
  override async time(f: () => void): Promise<BackendTimingInfo> {
    this.synchronize();
    const start = util.now();
    f();
    this.synchronize();
    return { kernelMs: util.now() - start };
  }

  override floatPrecision(): 32 {
    return 32;
  }

  override dispose(): void {
    for (const entry of this.data.values()) this.addon.release(entry.id);
    this.data.clear();
    this.bytes = 0;
  }

  private entry(dataId: DataId): TorchData {
    const entry = this.data.get(dataId);
    if (entry === undefined) throw new Error('torch backend: a tensor was used after it was disposed');
    return entry;
  }

  // ---- step capture (src/train/captured-step-engine.ts) ----

  /** Starts recording the native calls of a step; every call until `captureEnd` is recorded. */
  captureBegin(): void {
    this.addon.captureBegin();
  }

  /** Closes a recording (see TorchAddon.captureEnd); ids are native tensor ids (`id`). */
  captureEnd(inputs: TensorInfo[], variablesBefore: number[], variablesAfter: number[], outputs: TensorInfo[]) {
    return this.addon.captureEnd(
      inputs.map((t) => this.id(t)),
      variablesBefore,
      variablesAfter,
      outputs.map((t) => this.id(t)),
    ) satisfies CaptureOutcome;
  }

  captureAbort(): void {
    this.addon.captureAbort();
  }

  /** Replays a captured step; the variables (native ids, in the order captured) get their new values in place. */
  replay(handle: number, inputs: TensorInfo[], variables: number[], learningRate: number): number[] {
    try {
      return this.addon.replay(
        handle,
        inputs.map((t) => this.id(t)),
        variables,
        learningRate,
      );
    } catch (err) {
      throw new NativeOpError(err instanceof Error ? err.message : String(err));
    }
  }

  releaseCapture(handle: number): void {
    this.addon.releaseCapture(handle);
  }

  replayMode(handle: number): ReplayMode {
    return this.addon.replayMode(handle);
  }

  /** Times each op of the replays `f` runs; returns ms and calls per native op. */
  async profileReplays(f: () => Promise<void>): Promise<Record<string, { ms: number; calls: number }>> {
    this.addon.replayProfile(true);
    try {
      await f();
    } catch (err) {
      this.addon.replayProfile(false);
      throw err;
    }
    return this.addon.replayProfile(false);
  }

  // ---- kernels ----

  /** The native id of an input tensor. */
  id(info: TensorInfo): number {
    return this.entry(info.dataId).id;
  }

  /** The same tensor under one more reference (Identity). */
  alias(info: TensorInfo): TensorInfo {
    this.incRef(info.dataId);
    return { dataId: info.dataId, shape: info.shape, dtype: info.dtype };
  }

  /** Runs a native op on its declared arguments and wraps its outputs. */
  run<K extends NativeOp>(op: K, args: NativeOpArguments[K]): TensorInfo[] {
    const named = args as unknown as Record<string, unknown>;
    const values = NATIVE_OP_SIGNATURES[op].map(([name, kind]) => this.nativeArg(kind, named[name]));
    let count: number;
    try {
      count = this.addon.run(this.opIndex.get(op)!, ...values);
    } catch (err) {
      throw new NativeOpError(err instanceof Error ? err.message : String(err));
    }
    return this.takeOutputs(count);
  }

  runOne<K extends NativeOp>(op: K, args: NativeOpArguments[K]): TensorInfo {
    return this.run(op, args)[0]!;
  }

  private nativeArg(kind: NativeArgKind, value: unknown): OpArg {
    switch (kind) {
      case 'tensor':
      case 'tensorId':
        return this.id(value as TensorInfo);
      case 'tensor?':
        return value == null ? -1 : this.id(value as TensorInfo);
      case 'tensors':
        return (value as readonly TensorInfo[]).map((t) => this.id(t));
      case 'dtype':
        return dtypeCode(value as DataType);
      default:
        return value as OpArg;
    }
  }

  /** Wraps the outputs the addon described in the meta buffer. */
  private takeOutputs(count: number): TensorInfo[] {
    const outputs: TensorInfo[] = [];
    let pos = 1;
    for (let k = 0; k < count; k++) {
      const id = this.meta[pos++]!;
      const dtype = CODE_DTYPES[this.meta[pos++]!]!;
      const rank = this.meta[pos++]!;
      const shape = Array.from(this.meta.subarray(pos, pos + rank));
      pos += rank;
      const dataId = {};
      const bytes = bytesOf(shape, dtype);
      this.data.set(dataId, { id, dtype, bytes, refCount: 1 });
      this.bytes += bytes;
      outputs.push({ dataId, shape, dtype });
    }
    return outputs;
  }
}
