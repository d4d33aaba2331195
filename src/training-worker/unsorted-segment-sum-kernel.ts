import { UnsortedSegmentSum, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs';
import { floatView, input, intView, wasmBackend } from './wasm-heap.js';

/**
 * UnsortedSegmentSum for the WebAssembly backend, which ships without one (tfjs 4.22). The
 * gradient of `gather`, and so of every embedding lookup, calls it. Like TensorFlow, rows with a
 * negative segment id are skipped; an id at or beyond `numSegments` is an error.
 */
export const unsortedSegmentSumKernel: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend: rawBackend, attrs }) => {
    const backend = wasmBackend(rawBackend);
    const x = input(inputs, 'x');
    const segmentIds = input(inputs, 'segmentIds');
    const numSegments = Number(attrs?.['numSegments']);
    const rows = segmentIds.shape.reduce((a, b) => a * b, 1);
    const innerShape = x.shape.slice(segmentIds.shape.length);
    const inner = innerShape.reduce((a, b) => a * b, 1);

    const out: TensorInfo = backend.makeOutput([numSegments, ...innerShape], x.dtype);
    const outValues = x.dtype === 'int32' ? intView(backend, out) : floatView(backend, out);
    const xValues = x.dtype === 'int32' ? intView(backend, x) : floatView(backend, x);
    const ids = intView(backend, segmentIds);
    outValues.fill(0);
    for (let row = 0; row < rows; row++) {
      const segment = ids[row] ?? -1;
      if (segment < 0) continue;
      if (segment >= numSegments) {
        backend.disposeData(out.dataId);
        throw new RangeError(`segment id ${segment} is not below numSegments ${numSegments}`);
      }
      const from = row * inner;
      const to = segment * inner;
      for (let k = 0; k < inner; k++) {
        outValues[to + k] = (outValues[to + k] as number) + (xValues[from + k] as number);
      }
    }
    return out;
  },
};
