import type {
  CheckpointMessage,
  EpochMessage,
  FinalMessage,
  Heartbeat,
  HelloMessage,
  StopReasonName,
  TrialStateName,
} from '../contracts/index.js';
import {
  AutomatError,
  deserializeError,
  ErrorCodes,
  serializeError,
  type SerializedError,
} from '../errors/index.js';
import { EarlyStopping } from '../policy/early-stopping.js';
import { TimeBudget } from '../policy/time-budget.js';
import { eventKey, heartbeatKey } from '../bus/routing-keys.js';
import type { ResolvedTrial } from './resolve-trial-spec.js';
import { TERMINAL_STATE_FOR, TrialFsm, type TransitionRecord } from './trial-fsm.js';
import type { TrialOutcome } from './trial-outcome.js';
import type {
  IngestResult,
  TrialMessage,
  TrialRunDeps,
  WorkerExit,
  WorkerSession,
} from './trial-ports.js';
import { join } from 'node:path';

/**
 * One trial's execution: the state machine, the policies and the worker, driven by the messages
 * of its TrialActor's mailbox (one at a time, so no two handlers ever interleave).
 *
 * Every heartbeat is mirrored to the bus with the trial's own `seq`; every state change is
 * persisted, then published. The run reports its outcome once, after the worker process is gone.
 */
export class TrialRun {
  readonly trialId: string;
  readonly #fsm: TrialFsm;
  readonly #early: EarlyStopping;
  readonly #checkpoints = new Map<number, string>();
  readonly #timers = new Set<() => void>();
  #attempt = 0;
  #busSeq = 0;
  #session: WorkerSession | undefined;
  #ingest: IngestResult | undefined;
  #budget: TimeBudget | undefined;
  #stopRequested: StopReasonName | undefined;
  #epochsCompleted = 0;
  #outcome: TrialOutcome | undefined;
  #workerGone = true;
  #reported = false;

  constructor(
    private readonly trial: ResolvedTrial,
    private readonly deps: TrialRunDeps,
    private readonly onFinished: (outcome: TrialOutcome) => void,
  ) {
    this.trialId = trial.spec.trial_id;
    this.#fsm = new TrialFsm(() => deps.clock.now());
    this.#early = new EarlyStopping({
      mode: trial.mode,
      patience: trial.patience,
      minDelta: trial.minDelta,
    });
  }

  get state(): TrialStateName | null {
    return this.#fsm.state;
  }

  async handle(message: TrialMessage): Promise<void> {
    switch (message.type) {
      case 'trial.accept':
        return this.#transition('queued', 'accepted');
      case 'trial.start':
        return this.#start();
      case 'trial.cancel':
        return this.#cancel(message.reason);
      case 'ingest.completed':
        return this.#onIngested(message.result);
      case 'ingest.failed':
        return this.#fail('ingest failed', message.error);
      case 'worker.heartbeat':
        return this.#onHeartbeat(message.attempt, message.heartbeat);
      case 'worker.exited':
        return this.#onWorkerExited(message.attempt, message.exit);
      case 'timer.startup_expired':
        return this.#onStartupExpired(message.attempt);
      case 'timer.budget_expired':
        return this.#onBudgetExpired(message.attempt);
      case 'timer.grace_expired':
        return this.#onGraceExpired(message.attempt);
    }
  }

  /**
   * Ends the run after its actor crashed: kills the worker and reports a failed outcome. Writes
   * are best-effort here, since the crash may have come from the store itself.
   */
  async abort(error: unknown): Promise<void> {
    if (this.#reported) return;
    const wire = serializeError(error);
    this.#clearTimers();
    this.#session?.kill('SIGKILL');
    this.#workerGone = true;
    try {
      await this.#fail('the trial actor crashed', wire);
    } catch (writeError) {
      this.deps.logger.error('could not record the crash', {
        trialId: this.trialId,
        error: serializeError(writeError),
      });
    }
    this.#outcome ??= {
      trialId: this.trialId,
      state: 'failed',
      stopReason: 'failed',
      bestMetric: { name: this.trial.spec.primary_metric, value: null, epoch: null },
      bestCheckpointUri: null,
      epochsCompleted: this.#epochsCompleted,
      attempts: this.#attempt,
      error: wire,
    };
    this.#reportIfDone();
  }

  // ── lifecycle ────────────────────────────────────────────────────────────────────────────

  async #start(): Promise<void> {
    if (this.#fsm.terminal) return;
    await this.#transition('ingesting', 'preparing shards');
    const { spec } = this.trial;
    this.deps.requestIngest({
      datasetUri: spec.dataset_uri,
      tokenizerRef: spec.tokenizer_ref,
      seqLen: spec.seq_len,
      taskType: spec.task_type,
      valFraction: this.trial.valFraction,
      seed: this.trial.splitSeed,
    });
  }

  async #onIngested(result: IngestResult): Promise<void> {
    if (this.#fsm.terminal) return;
    this.#ingest = result;
    this.deps.logger.info('shards ready', {
      trialId: this.trialId,
      manifest: result.manifestPath,
      cacheHit: result.cacheHit,
    });
    await this.#launchAttempt();
  }

  async #launchAttempt(): Promise<void> {
    const ingest = this.#ingest;
    if (!ingest) throw new AutomatError(ErrorCodes.INTERNAL, 'launch before ingest');

    this.#attempt += 1;
    const attempt = this.#attempt;
    await this.#transition('launching', `starting worker, attempt ${attempt}`);

    try {
      this.#workerGone = false;
      this.#session = await this.deps.launcher.launch({
        trialId: this.trialId,
        attempt,
        maxOldSpaceMiB: this.trial.profile.memoryMiB,
        onHeartbeat: (heartbeat) =>
          this.deps.post({ type: 'worker.heartbeat', attempt, heartbeat }),
        onExit: (exit) => this.deps.post({ type: 'worker.exited', attempt, exit }),
      });
    } catch (error) {
      this.#workerGone = true;
      return this.#fail('worker did not start', serializeError(error));
    }
    await this.#session.send(this.#trainMessage(ingest, attempt));
    this.#after(this.deps.settings.startupTimeoutMs, { type: 'timer.startup_expired', attempt });
  }

  #trainMessage(ingest: IngestResult, attempt: number) {
    const { spec } = this.trial;
    return {
      type: 'control.train' as const,
      dataset_uri: ingest.manifestPath,
      checkpoint_dir: join(this.deps.settings.checkpointDir, this.trialId, String(attempt)),
      model: {
        task_type: spec.task_type,
        seq_len: spec.seq_len,
        embed_dim: spec.embed_dim,
        vocab_size: ingest.manifest.tokenizer.vocab_size,
        num_labels: ingest.manifest.labels.length,
        primary_metric: spec.primary_metric,
      },
      hparams: {
        epochs: this.trial.epochs,
        batch_size: this.trial.batchSize,
        learning_rate: this.trial.learningRate,
        seed: this.trial.seed,
      },
    };
  }

  // ── heartbeats ──────────────────────────────────────────────────────────────────────────

  async #onHeartbeat(attempt: number, heartbeat: Heartbeat): Promise<void> {
    if (attempt !== this.#attempt || this.#fsm.terminal) {
      this.deps.logger.warn('heartbeat from a finished attempt dropped', {
        trialId: this.trialId,
        attempt,
        current: this.#attempt,
        type: heartbeat.type,
      });
      return;
    }
    this.#mirrorHeartbeat(heartbeat);
    switch (heartbeat.type) {
      case 'heartbeat.hello':
        return this.#onHello(heartbeat);
      case 'heartbeat.epoch':
        return this.#onEpoch(heartbeat);
      case 'heartbeat.checkpoint':
        return this.#onCheckpoint(heartbeat);
      case 'heartbeat.final':
        return this.#onFinal(heartbeat);
    }
  }

  async #onHello(hello: HelloMessage): Promise<void> {
    const now = this.deps.clock.now();
    this.#budget = new TimeBudget({ budgetMs: this.trial.budgetMs, startedAt: now });
    this.#after(this.trial.budgetMs, { type: 'timer.budget_expired', attempt: this.#attempt });
    await this.#transition('running', `worker ${hello.pid} started at batch ${hello.actual_batch}`);
  }

  async #onEpoch(epoch: EpochMessage): Promise<void> {
    const primary = epoch.metrics.primary;
    this.#epochsCompleted = Math.max(this.#epochsCompleted, epoch.epoch);
    await this.deps.store.recordEpoch({
      trialId: this.trialId,
      attempt: this.#attempt,
      epoch: epoch.epoch,
      primary,
      metrics: epoch.metrics,
      durationMs: epoch.duration_ms,
      recordedAt: epoch.ts,
    });
    this.#budget?.recordEpoch(epoch.duration_ms);

    const verdict = this.#early.observe(epoch.epoch, primary);
    this.deps.logger.info('epoch finished', {
      trialId: this.trialId,
      epoch: epoch.epoch,
      primary,
      tokensPerS: Math.round(epoch.metrics.tokens_per_s),
      wait: verdict.wait,
    });
    if (epoch.epoch >= this.trial.epochs) return;
    if (verdict.stop) {
      return this.#requestStop('early_stopped', `no improvement for ${verdict.wait} epochs`);
    }
    if (this.#budget && !this.#budget.fitsAnotherEpoch(this.deps.clock.now())) {
      return this.#requestStop('budget_exhausted', 'the budget cannot fit another epoch');
    }
  }

  async #onCheckpoint(checkpoint: CheckpointMessage): Promise<void> {
    const key = `${this.trialId}/${this.#attempt}/epoch-${checkpoint.epoch}`;
    try {
      const { uri, bytes } = await this.deps.artifacts.putDirectory(key, checkpoint.path);
      this.#checkpoints.set(checkpoint.epoch, uri);
      await this.deps.store.recordCheckpoint({
        trialId: this.trialId,
        attempt: this.#attempt,
        epoch: checkpoint.epoch,
        uri,
        bytes,
        recordedAt: checkpoint.ts,
      });
    } catch (error) {
      // The trial goes on: a missing checkpoint costs resumability, not the result.
      this.deps.logger.error('checkpoint upload failed', {
        trialId: this.trialId,
        epoch: checkpoint.epoch,
        error: serializeError(error),
      });
    }
  }

  async #onFinal(final: FinalMessage): Promise<void> {
    this.#epochsCompleted = Math.max(this.#epochsCompleted, final.epochs_completed);
    if (final.status === 'failed') {
      const error = final.error
        ? serializeError(deserializeError(final.error))
        : new AutomatError(
            ErrorCodes.WORKER_REPORTED_FAILURE,
            'the worker failed without an error',
          ).toJSON();
      return this.#fail('worker reported a failure', error);
    }
    const reason: StopReasonName =
      this.#stopRequested ?? (final.status === 'cancelled' ? 'cancelled' : 'completed');
    await this.#finish(reason, `worker finished: ${final.status}`);
  }

  // ── stopping ────────────────────────────────────────────────────────────────────────────

  async #cancel(reason: string): Promise<void> {
    if (this.#fsm.terminal) return;
    if (this.#session && !this.#workerGone) return this.#requestStop('cancelled', reason);
    await this.#finish('cancelled', reason);
  }

  /** Asks the worker to stop after its current epoch; kills it if it has not within the grace. */
  async #requestStop(reason: StopReasonName, detail: string): Promise<void> {
    if (this.#stopRequested || !this.#session) return;
    this.#stopRequested = reason;
    this.deps.logger.info('stop requested', { trialId: this.trialId, reason, detail });
    await this.#session.send({
      type: 'control.cancel_after_epoch',
      reason: `${reason}: ${detail}`,
    });
    this.#after(this.deps.settings.stopGraceMs, {
      type: 'timer.grace_expired',
      attempt: this.#attempt,
    });
  }

  async #onBudgetExpired(attempt: number): Promise<void> {
    if (attempt !== this.#attempt || this.#fsm.terminal) return;
    await this.#requestStop(
      'budget_exhausted',
      `budget of ${this.trial.spec.budget_seconds} s spent`,
    );
  }

  async #onStartupExpired(attempt: number): Promise<void> {
    if (attempt !== this.#attempt || this.#fsm.state !== 'launching') return;
    this.#session?.kill('SIGKILL');
    await this.#fail('worker never said hello', {
      name: 'WorkerTimeoutError',
      code: ErrorCodes.WORKER_TIMEOUT,
      message: `no hello within ${this.deps.settings.startupTimeoutMs} ms`,
    });
  }

  async #onGraceExpired(attempt: number): Promise<void> {
    if (attempt !== this.#attempt || this.#fsm.terminal || this.#workerGone) return;
    this.deps.logger.warn('worker ignored the stop request; killing it', {
      trialId: this.trialId,
      pid: this.#session?.pid,
    });
    this.#session?.kill('SIGKILL');
    await this.#finish(this.#stopRequested ?? 'failed', 'worker killed after the grace period');
  }

  async #onWorkerExited(attempt: number, exit: WorkerExit): Promise<void> {
    if (attempt !== this.#attempt) return;
    this.#workerGone = true;
    await this.#session?.close();
    if (!this.#fsm.terminal) {
      const tail = exit.stderrTail.trim().split('\n').slice(-3).join(' | ');
      await this.#fail(`worker exited (${exit.classification})`, {
        name: 'WorkerCrashedError',
        code: ErrorCodes.WORKER_CRASHED,
        message: `worker exited with code ${exit.code} signal ${exit.signal}: ${tail}`,
      });
    }
    this.#reportIfDone();
  }

  // ── endings ─────────────────────────────────────────────────────────────────────────────

  async #fail(reason: string, error: SerializedError): Promise<void> {
    if (this.#fsm.terminal) return;
    this.deps.logger.error('trial failed', { trialId: this.trialId, reason, error });
    await this.#finish('failed', reason, error);
  }

  async #finish(
    stopReason: StopReasonName,
    reason: string,
    error?: SerializedError,
  ): Promise<void> {
    if (this.#fsm.terminal) return;
    this.#clearTimers();
    const state = TERMINAL_STATE_FOR[stopReason];
    const best = this.#early.best;
    const bestMetric = {
      name: this.trial.spec.primary_metric,
      value: best?.value ?? null,
      epoch: best?.epoch ?? null,
    };
    const bestCheckpointUri = best ? (this.#checkpoints.get(best.epoch) ?? null) : null;

    await this.deps.store.recordResult({
      trialId: this.trialId,
      bestMetric,
      bestCheckpointUri,
      at: this.#isoNow(),
    });
    await this.#transition(state, reason, { stopReason, error });
    this.#publishEvent({
      type: 'trial.promotion_candidate',
      task_type: this.trial.spec.task_type,
      primary_metric: this.trial.spec.primary_metric,
      mode: this.trial.mode,
      best_metric: bestMetric,
      checkpoint_uri: bestCheckpointUri,
      stop_reason: stopReason,
      epochs_completed: this.#epochsCompleted,
    });
    this.#outcome = {
      trialId: this.trialId,
      state,
      stopReason,
      bestMetric,
      bestCheckpointUri,
      epochsCompleted: this.#epochsCompleted,
      attempts: this.#attempt,
      ...(error ? { error } : {}),
    };
    await this.#session?.close();
    // The worker normally exits right after its final message; one that lingers is killed.
    if (!this.#workerGone) this.#killAfterGrace();
    this.#reportIfDone();
  }

  /** After the terminal state, a worker that lingers past the grace is killed. */
  #killAfterGrace(): void {
    const session = this.#session;
    const stop = this.deps.clock.setTimer(this.deps.settings.stopGraceMs, () => {
      if (!this.#workerGone) session?.kill('SIGKILL');
    });
    this.#timers.add(stop);
  }

  #reportIfDone(): void {
    if (this.#reported || !this.#outcome || !this.#workerGone) return;
    this.#reported = true;
    this.#clearTimers();
    this.onFinished(this.#outcome);
  }

  // ── plumbing ────────────────────────────────────────────────────────────────────────────

  async #transition(
    to: TrialStateName,
    reason: string,
    extra: { stopReason?: StopReasonName; error?: SerializedError } = {},
  ): Promise<void> {
    const change: TransitionRecord = this.#fsm.transition(to, reason);
    this.deps.logger.info('trial state changed', {
      trialId: this.trialId,
      from: change.from,
      to,
      reason,
    });
    await this.deps.store.recordTransition({
      trialId: this.trialId,
      from: change.from,
      to,
      reason,
      ...(this.#attempt > 0 ? { attempt: this.#attempt } : {}),
      at: new Date(change.at).toISOString(),
      ...extra,
    });
    this.#publishEvent({
      type: 'trial.state_changed',
      from: change.from,
      to,
      reason,
      ...(extra.stopReason ? { stop_reason: extra.stopReason } : {}),
      ...(extra.error ? { error: extra.error } : {}),
    });
  }

  #publishEvent(body: Record<string, unknown>): void {
    this.deps.mirror(eventKey(this.trialId), this.#stamp(body));
  }

  #mirrorHeartbeat(heartbeat: Heartbeat): void {
    const { seq, ...rest } = heartbeat;
    this.deps.mirror(heartbeatKey(this.trialId), { ...rest, source_seq: seq, seq: this.#busSeq++ });
  }

  #stamp(body: Record<string, unknown>): Record<string, unknown> {
    return { ...body, trial_id: this.trialId, seq: this.#busSeq++, ts: this.#isoNow() };
  }

  #isoNow(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }

  #after(ms: number, message: TrialMessage): void {
    const cancel = this.deps.clock.setTimer(ms, () => {
      this.#timers.delete(cancel);
      this.deps.post(message);
    });
    this.#timers.add(cancel);
  }

  #clearTimers(): void {
    for (const cancel of this.#timers) cancel();
    this.#timers.clear();
  }
}
