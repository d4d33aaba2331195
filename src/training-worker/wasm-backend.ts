import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import {
  embeddingMeanPoolGrad,
  embeddingMeanPoolGradKernel,
  embeddingMeanPoolKernel,
} from './embedding-mean-pool.js';
import {
  embeddingLookupGrad,
  embeddingLookupGradKernel,
  embeddingLookupKernel,
} from './embedding-lookup.js';
import { softmaxCrossEntropyKernel, tokenScoresKernel } from './softmax-cross-entropy.js';
import { unsortedSegmentSumKernel } from './unsorted-segment-sum-kernel.js';

let ready: Promise<void> | undefined;

/**
 * Makes tfjs compute on the WebAssembly backend, loading the .wasm binary from the installed
 * package (never from the network), and registers the kernels Automat0 adds to it. Runs once
 * per process; later calls return the same promise. Under Node the backend is single-threaded.
 */
export function initWasmBackend(): Promise<void> {
  ready ??= init();
  return ready;
}

async function init(): Promise<void> {
  const require = createRequire(import.meta.url);
  // The package's main file sits in its dist/ folder, beside the .wasm binaries.
  setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  for (const kernel of [
    unsortedSegmentSumKernel,
    embeddingMeanPoolKernel,
    embeddingMeanPoolGradKernel,
    embeddingLookupKernel,
    embeddingLookupGradKernel,
    softmaxCrossEntropyKernel,
    tokenScoresKernel,
  ]) {
    if (!tf.getKernel(kernel.kernelName, 'wasm')) tf.registerKernel(kernel);
  }
  tf.registerGradient(embeddingMeanPoolGrad);
  tf.registerGradient(embeddingLookupGrad);
  if (!(await tf.setBackend('wasm')))
    throw new Error('the tfjs WebAssembly backend failed to start');
  await tf.ready();
}
