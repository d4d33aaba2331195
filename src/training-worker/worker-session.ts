import { systemClock, type Clock } from '../clock/clock.js';
import type { BestMetricValue, ControlMessage, TrainMessage } from '../contracts/index.js';
import { AutomatError, ErrorCodes, type SerializedError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { WorkerEndpoint } from '../worker-protocol/worker-endpoint.js';
import { WorkerExitCode, looksLikeOutOfMemory } from '../worker-protocol/worker-exit.js';
import { ProgressBeat, progressIntervalFrom } from './progress-beat.js';
import type { Trainer, TrainerHooks } from './trainer.js';
import { FaultInjector, faultsFor } from './worker-faults.js';
import { EXECUTION_PROVIDER } from './execution-provider.js';

export interface WorkerSessionOptions {
  endpoint: WorkerEndpoint;
  logger: Logger;
  /** Fail when no `control.train` arrives within this time. */
  trainTimeoutMs: number;
  clock?: Clock;
  /**
   * Where the progress-beat interval (progress-beat.ts) and test-only faults (worker-faults.ts)
   * are read from. Default `process.env`.
   */
  env?: NodeJS.ProcessEnv;
}

type Start = { kind: 'train'; message: TrainMessage } | { kind: 'cancel' };
type TrainerClass = typeof Trainer;

/**
 * One worker process's conversation with its executor: wait for `control.train`, say hello,
 * train, and always end with exactly one `heartbeat.final`. A `control.cancel_after_epoch`
 * lets the current epoch and its checkpoint finish; one that arrives before any train request
 * ends the session as cancelled with nothing trained. `run()` resolves with the exit code.
 */
export class WorkerSession {
  readonly #endpoint: WorkerEndpoint;
  readonly #log: Logger;
  readonly #trainTimeoutMs: number;
  readonly #clock: Clock;
  readonly #env: NodeJS.ProcessEnv;
  #cancelRequested = false;
  #started: ((start: Start) => void) | undefined;
  #pending: Start | undefined;

  constructor(options: WorkerSessionOptions) {
    this.#endpoint = options.endpoint;
    this.#log = options.logger;
    this.#trainTimeoutMs = options.trainTimeoutMs;
    this.#clock = options.clock ?? systemClock;
    this.#env = options.env ?? process.env;
  }

  /** `signal` aborts the session (the executor is gone); it still tries to send a final. */
  async run(signal: AbortSignal): Promise<number> {
    const training = preloadTraining();
    void this.#pumpControl();
    let start: Start;
    try {
      start = await this.#awaitStart(signal);
    } catch (error) {
      return this.#fail(error, noBest('unknown'), 0);
    }
    if (start.kind === 'cancel') {
      await this.#sendFinal({
        status: 'cancelled',
        best_metric: noBest('unknown'),
        epochs_completed: 0,
      });
      return WorkerExitCode.ok;
    }
    return this.#train(start.message, await training, signal);
  }

  /** The reference worker has one provider; a different request is honoured as far as it can be. */
  #warnOnProvider(requested: string | undefined): void {
    if (requested === undefined || requested === EXECUTION_PROVIDER || requested === 'cpu') return;
    this.#log.warn('execution provider not available; training on WebAssembly (CPU)', {
      requested,
      used: EXECUTION_PROVIDER,
    });
  }

  async #train(
    request: TrainMessage,
    training: TrainerClass | Error,
    signal: AbortSignal,
  ): Promise<number> {
    let trainer: Trainer | undefined;
    let beat: ProgressBeat | undefined;
    try {
      if (training instanceof Error) throw training;
      trainer = await training.prepare(request, this.#log);
      await this.#endpoint.send({
        type: 'heartbeat.hello',
        actual_batch: trainer.actualBatch,
        tokenizer_ref: trainer.tokenizerRef,
        pid: process.pid,
        start_epoch: trainer.startEpoch,
        execution_provider: EXECUTION_PROVIDER,
      });
      this.#warnOnProvider(request.model.execution_provider);
      const interval = progressIntervalFrom(this.#env);
      beat = new ProgressBeat(this.#endpoint, this.#clock, this.#log, interval, trainer.startEpoch);
      beat.start();
      const faults = this.#faults(trainer.actualBatch);
      faults.beforeTraining(trainer.startEpoch);
      const outcome = await trainer.run(this.#hooks(beat, faults, signal), signal);
      beat.stop();
      await this.#sendFinal({
        status: outcome.status,
        best_metric: outcome.bestMetric,
        epochs_completed: outcome.epochsCompleted,
      });
      return WorkerExitCode.ok;
    } catch (error) {
      beat?.stop();
      const best = trainer?.bestMetric ?? noBest(request.model.primary_metric);
      return this.#fail(error, best, trainer?.epochsCompleted ?? 0);
    } finally {
      beat?.stop();
      trainer?.dispose();
    }
  }

  #faults(batch: number): FaultInjector {
    return new FaultInjector(faultsFor(this.#endpoint.trialId, this.#env, this.#log), batch);
  }

  #hooks(beat: ProgressBeat, faults: FaultInjector, signal: AbortSignal): TrainerHooks {
    return {
      onEpoch: async ({ epoch, durationMs, metrics }) => {
        await this.#endpoint.send({
          type: 'heartbeat.epoch',
          epoch,
          duration_ms: durationMs,
          metrics,
        });
      },
      onCheckpoint: async (epoch, { path, bytes }) => {
        await this.#endpoint.send({ type: 'heartbeat.checkpoint', epoch, path, bytes });
        beat.epochStarted(epoch + 1);
        await faults.afterCheckpoint(epoch, signal);
      },
      stopRequested: () => this.#cancelRequested,
    };
  }

  async #fail(error: unknown, best: BestMetricValue, epochsCompleted: number): Promise<number> {
    const wire = toWireError(error);
    this.#log.error('training worker failed', { ...wire });
    await this.#sendFinal({
      status: 'failed',
      best_metric: best,
      epochs_completed: epochsCompleted,
      error: wire,
    });
    return looksLikeOutOfMemory(wire.message) ? WorkerExitCode.outOfMemory : WorkerExitCode.failed;
  }

  async #sendFinal(final: {
    status: 'completed' | 'cancelled' | 'failed';
    best_metric: BestMetricValue;
    epochs_completed: number;
    error?: SerializedError;
  }): Promise<void> {
    try {
      await this.#endpoint.send({ type: 'heartbeat.final', ...final });
    } catch (error) {
      // Nobody may be listening any more; the exit code still tells the launcher what happened.
      this.#log.error('final heartbeat not sent', { error: String(error), status: final.status });
    }
  }

  async #awaitStart(signal: AbortSignal): Promise<Start> {
    if (this.#pending) return this.#pending;
    let cancelTimer = (): void => undefined;
    let onAbort = (): void => undefined;
    try {
      return await new Promise<Start>((resolve, reject) => {
        this.#started = resolve;
        cancelTimer = this.#clock.setTimer(this.#trainTimeoutMs, () =>
          reject(
            new AutomatError(
              ErrorCodes.WORKER_TIMEOUT,
              `no control.train arrived within ${this.#trainTimeoutMs} ms`,
            ),
          ),
        );
        onAbort = () => reject(signal.reason);
        if (signal.aborted) onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
      });
    } finally {
      cancelTimer();
      signal.removeEventListener('abort', onAbort);
      this.#started = undefined;
    }
  }

  async #pumpControl(): Promise<void> {
    try {
      for await (const message of this.#endpoint.controlMessages()) this.#dispatch(message);
    } catch (error) {
      this.#log.error('control channel failed', { error: String(error) });
    }
  }

  #dispatch(message: ControlMessage): void {
    if (message.type === 'control.cancel_after_epoch') {
      this.#log.info('cancel requested', { reason: message.reason });
      this.#cancelRequested = true;
      this.#begin({ kind: 'cancel' });
      return;
    }
    if (this.#pending?.kind === 'train') {
      this.#log.warn('control.train ignored: already training', { seq: message.seq });
      return;
    }
    this.#begin({ kind: 'train', message });
  }

  /** Records the first start request; later ones do not replace it. */
  #begin(start: Start): void {
    if (this.#pending) return;
    this.#pending = start;
    this.#started?.(start);
  }
}

/**
 * Loading tfjs takes one to two seconds, so it starts while the worker waits for its train
 * request, not after. A failure to load is returned, to be reported once a request arrives.
 */
async function preloadTraining(): Promise<TrainerClass | Error> {
  try {
    const [{ Trainer: trainerClass }, { initWasmBackend }] = await Promise.all([
      import('./trainer.js'),
      import('./wasm-backend.js'),
    ]);
    await initWasmBackend();
    return trainerClass;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function noBest(name: string): BestMetricValue {
  return { name, value: null, epoch: null };
}

/** Errors leave the worker as {name, code, message}; unexpected ones as TRAINING_FAILED. */
function toWireError(error: unknown): SerializedError {
  if (error instanceof AutomatError) return error.toJSON();
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return { name, code: ErrorCodes.TRAINING_FAILED, message: `training failed: ${message}` };
}
