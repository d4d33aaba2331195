/**
 * What the reference worker trains on, whatever a TrialSpec's device profile asked for: tfjs on
 * WebAssembly, one thread. Kept apart from wasm-backend.ts so that reading it loads no tfjs.
 */
export const EXECUTION_PROVIDER = 'wasm';
