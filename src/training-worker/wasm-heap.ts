import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Views onto the WebAssembly heap for kernels written in JavaScript. These use BackendWasm's
 * `makeOutput` and `typedArrayFromHeap`, which are public on the class but not documented API:
 * package.json must pin @tensorflow/tfjs-backend-wasm to the exact version tested (4.22.0).
 *
 * Hazard: allocating (makeOutput) may grow the heap, which detaches every view taken before.
 * Allocate all outputs first, then take views, and never keep a view across kernel calls.
 */
export function wasmBackend(backend: unknown): BackendWasm {
  const candidate = backend as Partial<BackendWasm>;
  if (
    typeof candidate.makeOutput !== 'function' ||
    typeof candidate.typedArrayFromHeap !== 'function'
  ) {
    throw new Error('kernel registered for "wasm" ran on a backend without a WebAssembly heap');
  }
  return backend as BackendWasm;
}

export function floatView(backend: BackendWasm, info: TensorInfo): Float32Array {
  const view = backend.typedArrayFromHeap(info);
  if (!(view instanceof Float32Array))
    throw new Error(`expected a float32 tensor, got ${info.dtype}`);
  return view;
}

export function intView(backend: BackendWasm, info: TensorInfo): Int32Array {
  const view = backend.typedArrayFromHeap(info);
  if (!(view instanceof Int32Array)) throw new Error(`expected an int32 tensor, got ${info.dtype}`);
  return view;
}

/** Input `name` of a kernel call, or a clear error naming it. */
export function input(inputs: Record<string, TensorInfo | undefined>, name: string): TensorInfo {
  const info = inputs[name];
  if (info === undefined) throw new Error(`kernel input "${name}" is missing`);
  return info;
}

/**
 * `id` when it is a valid row of a `vocab`-row table. Otherwise frees the kernel's output `outId`
 * (a kernel that throws still owns it) and throws a RangeError naming the id.
 */
export function checkedTokenId(
  id: number | undefined,
  vocab: number,
  outId: object,
  backend: { disposeData(dataId: object): boolean },
): number {
  if (id !== undefined && id >= 0 && id < vocab) return id;
  backend.disposeData(outId);
  throw new RangeError(`token id ${String(id)} is outside the vocabulary [0, ${vocab})`);
}
