import { availableParallelism, totalmem } from 'node:os';
import { AutomatError, ErrorCodes } from '../errors/index.js';

/** What a device profile tells the executor about where trials run. */
export interface DeviceProfile {
  name: string;
  /** Trials this executor runs at once on such a device. */
  concurrency: number;
  /** Memory a worker may use, in MiB (the worker's heap limit on CPU). */
  memoryMiB: number;
  /** The execution provider a worker should ask its runtime for. */
  executionProvider: 'cpu' | 'wasm' | 'cuda';
  /** Tokens (batch × seq_len) per step that fit at embed_dim 128; scaled for other sizes. */
  tokensPerBatchAt128: number;
}

/**
 * The known profiles. GPU profiles describe where a GPU-capable worker would run; the reference
 * worker shipped here trains on CPU (tfjs WebAssembly) whatever the profile asks.
 */
export const DEVICE_PROFILES: Readonly<Record<string, DeviceProfile>> = {
  cpu: {
    name: 'cpu',
    concurrency: Math.max(1, availableParallelism()),
    memoryMiB: 4096,
    executionProvider: 'wasm',
    tokensPerBatchAt128: 32 * 256,
  },
  't4-16gb': {
    name: 't4-16gb',
    concurrency: 1,
    memoryMiB: 15 * 1024,
    executionProvider: 'cuda',
    tokensPerBatchAt128: 256 * 256,
  },
  'a100-80gb': {
    name: 'a100-80gb',
    concurrency: 4,
    memoryMiB: 78 * 1024,
    executionProvider: 'cuda',
    tokensPerBatchAt128: 1024 * 256,
  },
  h200: {
    name: 'h200',
    concurrency: 6,
    memoryMiB: 139 * 1024,
    executionProvider: 'cuda',
    tokensPerBatchAt128: 2048 * 256,
  },
};

export function resolveDeviceProfile(name: string): DeviceProfile {
  const profile = DEVICE_PROFILES[name];
  if (profile) return profile;
  const known = Object.keys(DEVICE_PROFILES).join(', ');
  throw new AutomatError(
    ErrorCodes.UNKNOWN_REFERENCE,
    `trial.device_profile must be one of ${known}, got ${JSON.stringify(name)}`,
  );
}

/** The largest batch a TrialSpec may ask for; the initial batch never exceeds it either. */
export const MAX_BATCH_SIZE = 65536;

/**
 * The initial batch for a profile: the largest power of two whose tokens per step (batch ×
 * seq_len) stay within the profile's budget, scaled by 128 / embed_dim; at least 1 and at most
 * {@link MAX_BATCH_SIZE}. Out-of-memory back-off halves it from there.
 */
export function initialBatchSize(profile: DeviceProfile, seqLen: number, embedDim: number): number {
  const tokens = (profile.tokensPerBatchAt128 * 128) / Math.max(embedDim, 1);
  const rows = Math.min(MAX_BATCH_SIZE, Math.max(1, Math.floor(tokens / seqLen)));
  return 2 ** Math.floor(Math.log2(rows));
}

/** Share of this machine's memory one worker's heap may take when its profile asks for more. */
const MACHINE_MEMORY_SHARE = 0.75;

/**
 * The worker's heap limit: `configured` (AUTOMAT_WORKER_MEMORY_MIB) when set, else the profile's
 * memory, but never more than three quarters of this machine's: a TrialSpec names the device it
 * was planned for, and an `h200` trial that reaches a CPU executor must not be allowed a 139 GiB
 * heap on a machine that has 24 GiB.
 */
export function workerHeapMiB(
  profile: DeviceProfile,
  configured: number | undefined,
  machineBytes = totalmem(),
): number {
  if (configured !== undefined) return configured;
  const machineMiB = Math.floor((machineBytes / 2 ** 20) * MACHINE_MEMORY_SHARE);
  return Math.min(profile.memoryMiB, machineMiB);
}
