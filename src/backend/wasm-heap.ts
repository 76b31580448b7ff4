/**
 * Running out of the wasm heap (at most 4 GiB per wasm instance, that is per thread). Unguarded, the wasm backend's
 * malloc returns address 0 when the heap cannot grow, the backend writes the tensor there anyway (over the heap's
 * start), and the run fails later as `memory access out of bounds` or `Aborted()`. `guardWasmHeap` makes the failed
 * allocation itself throw a WasmHeapExhaustedError naming the size asked for, the heap in use and what to do;
 * `explainWasmHeapError` rewrites such a wasm trap from an allocation inside a kernel the same way.
 */
import * as tf from '@tensorflow/tfjs';

/** Emscripten's maximum heap for the wasm backend (wasm32 addressing). */
export const WASM_HEAP_LIMIT_BYTES = 4 * 2 ** 30;

const ADVICE =
  'A wasm instance cannot use more: use a smaller --batch-size, split each batch over --workers N (each worker ' +
  'thread has its own heap), or a native backend (--backend torch or tensorflow).';

function size(bytes: number): string {
  return bytes >= 2 ** 30
    ? `${Number((bytes / 2 ** 30).toFixed(2))} GiB`
    : `${Number((bytes / 2 ** 20).toFixed(1))} MiB`;
}

export class WasmHeapExhaustedError extends Error {
  constructor(
    /** Bytes of the allocation that failed; null when only a wasm trap was seen. */
    readonly requestedBytes: number | null,
    /** The heap's size when it failed. */
    readonly heapBytes: number,
    options?: { cause?: unknown },
  ) {
    const heap = `the heap at ${size(heapBytes)} of its ${size(WASM_HEAP_LIMIT_BYTES)} limit`;
    const what =
      requestedBytes === null
        ? `wasm heap exhausted (most likely): '${messageOf(options?.cause)}' with ${heap}`
        : `wasm heap exhausted: an allocation of ${size(requestedBytes)} failed with ${heap}`;
    super(`${what}. ${ADVICE}`, options);
    this.name = 'WasmHeapExhaustedError';
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The parts of the wasm backend's Emscripten module used here. */
interface EmscriptenModule {
  _malloc(bytes: number): number;
  HEAPU8: Uint8Array;
  asm?: { malloc?: (bytes: number) => number };
}

function moduleOf(backend: unknown): EmscriptenModule | null {
  const module = (backend as { wasm?: EmscriptenModule } | null)?.wasm;
  return module && typeof module._malloc === 'function' && module.HEAPU8 instanceof Uint8Array ? module : null;
}

const guarded = new WeakSet<EmscriptenModule>();

/**
 * Makes a failed allocation of the wasm backend throw instead of returning address 0. The backend looks `_malloc` up
 * on its module at every allocation, so replacing it there is enough; the wasm export is wrapped directly (the glue's
 * `_malloc` is a stub that replaces itself with the export on its first call).
 */
export function guardWasmHeap(backend: unknown): void {
  const module = moduleOf(backend);
  if (module === null || guarded.has(module)) return;
  const malloc = module.asm?.malloc ?? module._malloc.bind(module);
  module._malloc = (bytes: number): number => {
    // 4 GiB or more would wrap around in wasm32's size argument and allocate the remainder
    const address = bytes < WASM_HEAP_LIMIT_BYTES ? malloc(bytes) : 0;
    if (address === 0 && bytes > 0) throw new WasmHeapExhaustedError(bytes, module.HEAPU8.length);
    return address;
  };
  guarded.add(module);
}

const WASM_TRAPS = /memory access out of bounds|Aborted\(/;

/**
 * `err` itself, or, when it is a wasm trap of the kind a failed allocation inside a kernel causes and the wasm
 * backend runs, a WasmHeapExhaustedError that says so (with `err` as its cause).
 */
export function explainWasmHeapError(err: unknown): unknown {
  if (err instanceof WasmHeapExhaustedError || !WASM_TRAPS.test(messageOf(err))) return err;
  if (/wasm heap exhausted/.test(messageOf(err))) return err;
  const module = tf.getBackend() === 'wasm' ? moduleOf(tf.backend()) : null;
  if (module === null) return err;
  return new WasmHeapExhaustedError(null, module.HEAPU8.length, { cause: err });
}
