import type {
  EpochMessage,
  FinalMessage,
  Heartbeat,
  HelloMessage,
  StopReasonName,
  TrialStateName,
} from '../contracts/index.js';
import { ErrorCodes, serializeError, type SerializedError } from '../errors/index.js';
import type { AttemptPlan } from '../policy/attempt-planner.js';
import { AttemptLauncher } from './attempt-launcher.js';
import { AttemptWatch } from './attempt-watch.js';
import { CheckpointLedger } from './checkpoint-ledger.js';
import { planAfterExit } from './plan-after-exit.js';
import type { ResolvedTrial } from './resolve-trial-spec.js';
import {
  TrialEnding,
  finishedVerdict,
  type AttemptSummary,
  type StopRequest,
} from './trial-ending.js';
import type { TrialOutcome } from './trial-outcome.js';
import { recordHandover, type HandoverRequest } from './trial-handover.js';
import type { IngestResult, TrialMessage, TrialRunDeps, WorkerExit } from './trial-ports.js';
import { TrialPolicies } from './trial-policies.js';
import { TrialRecorder } from './trial-recorder.js';
import { TrialTimers } from './trial-timers.js';
import { adoptTakeover, relaunchAfterTakeover, type TrialTakeover } from './trial-takeover.js';
import type { WorkerAttempt } from './worker-attempt.js';

/**
 * One trial's execution: the state machine, the policies and its worker attempts, driven by the
 * messages of its TrialActor's mailbox (one at a time, so no two handlers ever interleave).
 *
 * A worker's failure is decided when its process has exited, from everything known by then (its
 * failed `final`, the exit code or signal, stderr, a liveness kill): the trial is retried, its
 * batch halved, or it ends. Every heartbeat but `heartbeat.progress` is mirrored to the bus with
 * the trial's own `seq`; every state change is persisted, then published. The run reports its
 * outcome once, after its last worker process is gone.
 */
export class TrialRun {
  readonly trialId: string;
  readonly #recorder: TrialRecorder;
  readonly #policies: TrialPolicies;
  readonly #timers: TrialTimers;
  readonly #launcher: AttemptLauncher;
  readonly #ending: TrialEnding;
  readonly #watch: AttemptWatch;
  #attempt: WorkerAttempt | undefined;
  #ingest: IngestResult | undefined;
  /** The stop asked for, with why (the planner's reason, shutdown, …), kept for the record. */
  #stop: StopRequest | undefined;
  #failures = 0;
  #batchSize: number;
  /** Set when this executor took the trial over from another. */
  #takeover: TrialTakeover | undefined;
  /** Set while the executor shuts down and hands the trial over instead of ending it. */
  #handover: HandoverRequest | undefined;
  /** The trial was handed over: nothing more happens to it here. */
  #handedOver = false;
  readonly #ledger: CheckpointLedger;

  constructor(
    private readonly trial: ResolvedTrial,
    private readonly deps: TrialRunDeps,
    onFinished: (outcome: TrialOutcome) => void,
  ) {
    this.trialId = trial.spec.trial_id;
    this.#batchSize = trial.batchSize;
    this.#recorder = new TrialRecorder(this.trialId, deps);
    this.#policies = new TrialPolicies(trial, deps.settings, deps.clock);
    this.#timers = new TrialTimers(deps.clock, deps.post);
    this.#watch = new AttemptWatch(this.trialId, deps, this.#timers, this.#policies);
    const ledger = new CheckpointLedger();
    this.#ledger = ledger;
    this.#launcher = new AttemptLauncher(trial, deps, this.#policies, ledger);
    this.#ending = new TrialEnding(trial, deps, this.#recorder, this.#policies, ledger, onFinished);
  }

  get state(): TrialStateName | null {
    return this.#recorder.state;
  }

  async handle(message: TrialMessage): Promise<void> {
    switch (message.type) {
      case 'trial.accept':
        return this.#recorder.transition('queued', 'accepted');
      case 'trial.adopt':
        return this.#adopt(message.takeover);
      case 'trial.start':
        return this.#start();
      case 'trial.cancel':
        return this.#cancel(message.reason);
      case 'trial.abandon':
        return this.#abandon(message.reason);
      case 'trial.hand_over':
        return this.#handOver({ executor: message.executor, reason: message.reason });
      case 'ingest.completed':
        return this.#onIngested(message.result);
      case 'ingest.failed':
        return this.#finish('failed', 'ingest failed', message.error);
      case 'worker.heartbeat':
        return this.#onHeartbeat(message.attempt, message.heartbeat);
      case 'worker.exited':
        return this.#onWorkerExited(message.attempt, message.exit);
      case 'timer.liveness':
        return this.#withLive(message.attempt, (a) => this.#watch.checkLiveness(a));
      case 'timer.budget':
        return this.#onBudgetCheck(message.attempt);
      case 'timer.grace':
        return this.#onGraceExpired(message.attempt);
      case 'timer.exit_overdue':
        return this.#onExitOverdue(message.attempt);
      case 'timer.retry':
        return this.#onRetryDue(message.attempt);
    }
  }

  /**
   * Ends the run after its actor crashed: kills the worker and reports a failed outcome. Writes
   * are best-effort here, since the crash may have come from the store itself.
   */
  async abort(error: unknown): Promise<void> {
    const wire = serializeError(error);
    this.#dropWorker();
    try {
      await this.#finish('failed', 'the trial actor crashed', wire);
    } catch (writeError) {
      this.deps.logger.error('could not record the crash', {
        trialId: this.trialId,
        error: serializeError(writeError),
      });
    }
    this.#ending.forceOutcome(wire, this.#summary());
    this.#timers.clear();
  }

  /** Another executor owns the trial now: its worker here is killed and nothing more written. */
  #abandon(reason: string): void {
    if (this.#recorder.terminal) return;
    this.deps.logger.error('trial abandoned', { trialId: this.trialId, reason });
    this.#dropWorker();
    const error = { name: 'LeaseLostError', code: ErrorCodes.CANCELLED, message: reason };
    this.#ending.forceOutcome(error, this.#summary());
  }

  // ── lifecycle ────────────────────────────────────────────────────────────────────────────

  /** Goes on with a trial another executor was running: its state, history and checkpoints. */
  #adopt(takeover: TrialTakeover): void {
    this.#takeover = takeover;
    this.#failures = adoptTakeover(takeover, {
      trialId: this.trialId,
      recorder: this.#recorder,
      policies: this.#policies,
      launcher: this.#launcher,
      logger: this.deps.logger,
    });
  }

  async #start(): Promise<void> {
    if (this.#settled) return;
    const state = this.#recorder.state;
    if (state === 'launching' || state === 'running') return this.#relaunchTakenOver();
    if (state !== 'ingesting') await this.#recorder.transition('ingesting', 'preparing shards');
    this.#requestIngest();
  }

  /** A taken-over trial had a worker: the next attempt starts, from the latest checkpoint. */
  async #relaunchTakenOver(): Promise<void> {
    const retry = this.#policies.retryOptions;
    const decision = relaunchAfterTakeover(
      this.#takeover,
      this.#recorder.attempt,
      this.#failures,
      retry,
    );
    if (!decision.relaunch) return this.#finish('failed', decision.why, decision.error);
    this.#recorder.attempt = decision.attempt;
    await this.#recorder.transition('launching', decision.reason);
    this.#requestIngest();
  }

  #requestIngest(): void {
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
    if (this.#settled) return;
    this.#ingest = result;
    this.deps.logger.info('shards ready', {
      trialId: this.trialId,
      manifest: result.manifestPath,
      cacheHit: result.cacheHit,
    });
    if (this.#recorder.state === 'ingesting') {
      this.#recorder.attempt = 1;
      await this.#recorder.transition('launching', 'starting worker, attempt 1');
    }
    await this.#launch(this.#recorder.attempt);
  }

  async #launch(number: number): Promise<void> {
    if (!this.#ingest) throw new Error('launch before ingest');
    const launched = await this.#launcher.launch(number, this.#batchSize, this.#ingest);
    this.#attempt = launched.attempt;
    if (launched.error) return this.#finish('failed', 'worker did not start', launched.error);
    this.#watch.armLiveness(launched.attempt);
  }

  async #onRetryDue(number: number): Promise<void> {
    if (this.#settled || number !== this.#recorder.attempt) return;
    await this.#launch(number);
  }

  // ── heartbeats ──────────────────────────────────────────────────────────────────────────

  async #onHeartbeat(attempt: number, heartbeat: Heartbeat): Promise<void> {
    const current = this.#current(attempt);
    if (!current || this.#recorder.terminal) {
      this.deps.logger.warn('heartbeat from a finished attempt dropped', {
        trialId: this.trialId,
        attempt,
        current: this.#attempt?.number,
        type: heartbeat.type,
      });
      return;
    }
    this.#policies.liveness.heard(this.deps.clock.now());
    if (heartbeat.type === 'heartbeat.progress') return;
    this.#recorder.mirrorHeartbeat(heartbeat);
    switch (heartbeat.type) {
      case 'heartbeat.hello':
        return this.#onHello(current, heartbeat);
      case 'heartbeat.epoch':
        return this.#onEpoch(current, heartbeat);
      case 'heartbeat.checkpoint':
        return this.#launcher.recordCheckpoint(current.number, heartbeat);
      case 'heartbeat.final':
        return this.#onFinal(current, heartbeat);
    }
  }

  async #onHello(attempt: WorkerAttempt, hello: HelloMessage): Promise<void> {
    const now = this.deps.clock.now();
    // A worker may train with less than it was asked (a split smaller than the batch); an
    // out-of-memory back-off must halve what it really used.
    this.#batchSize = Math.min(this.#batchSize, hello.actual_batch);
    this.#policies.budget.start(now);
    this.#policies.liveness.hello(now);
    this.#watch.armLiveness(attempt);
    this.#watch.armBudget(attempt);
    const resumed = hello.start_epoch > 1 ? `, resuming at epoch ${hello.start_epoch}` : '';
    await this.#recorder.transition(
      'running',
      `worker ${hello.pid} started at batch ${hello.actual_batch}${resumed}`,
    );
  }

  async #onEpoch(attempt: WorkerAttempt, epoch: EpochMessage): Promise<void> {
    const now = this.deps.clock.now();
    await this.#recorder.recordEpoch(epoch);
    const decision = this.#policies.onEpoch(epoch, now);
    this.#watch.armLiveness(attempt);
    this.deps.logger.info('epoch finished', {
      trialId: this.trialId,
      epoch: epoch.epoch,
      primary: epoch.metrics.primary,
      tokensPerS: Math.round(epoch.metrics.tokens_per_s),
      wait: decision.wait,
    });
    if (decision.stop) await this.#requestStop(decision.stop.reason, decision.stop.detail);
  }

  async #onFinal(attempt: WorkerAttempt, final: FinalMessage): Promise<void> {
    attempt.final = final;
    this.#policies.noteEpochsCompleted(final.epochs_completed);
    if (final.status === 'failed') {
      // The verdict waits for the exit, which tells out-of-memory and signals apart.
      return this.#watch.startGrace(attempt);
    }
    const verdict = finishedVerdict(final, this.trial.epochs, this.#stop);
    // Stopped for a handover: the exit completes it. A worker that trained every epoch first
    // has simply completed the trial.
    if (this.#handover && !this.#stop && verdict.reason === 'cancelled') return;
    await this.#finish(verdict.reason, verdict.why);
  }

  // ── stopping ────────────────────────────────────────────────────────────────────────────

  async #cancel(reason: string): Promise<void> {
    if (this.#settled) return;
    if (this.#attempt?.live) return this.#requestStop('cancelled', reason);
    await this.#finish('cancelled', reason);
  }

  /**
   * The executor shuts down gracefully: the worker is asked to stop after its current epoch (its
   * checkpoint written) and killed if it has not within the stop grace; then the trial is
   * handed over, unended. A trial without a worker is handed over at once. A stop already
   * under way (a planner's cancel, early stopping, the budget) ends the trial as it asked.
   */
  async #handOver(request: HandoverRequest): Promise<void> {
    if (this.#settled || this.#handover || this.#stop) return;
    this.#handover = request;
    const attempt = this.#attempt;
    if (!attempt?.live) {
      await this.#completeHandover('no worker was running');
      return this.#report();
    }
    this.deps.logger.info('handover requested', { trialId: this.trialId, reason: request.reason });
    this.#launcher.send(attempt, {
      type: 'control.cancel_after_epoch',
      reason: `handover: ${request.reason}`,
    });
    this.#watch.startGrace(attempt);
  }

  /** Asks the worker to stop after its current epoch; kills it if it has not within the grace. */
  async #requestStop(reason: StopReasonName, detail: string): Promise<void> {
    const attempt = this.#attempt;
    if (this.#stop || !attempt?.live) return;
    this.#stop = { reason, detail };
    this.deps.logger.info('stop requested', { trialId: this.trialId, reason, detail });
    this.#launcher.send(attempt, {
      type: 'control.cancel_after_epoch',
      reason: `${reason}: ${detail}`,
    });
    this.#watch.startGrace(attempt);
  }

  /** Also after the trial ended: a worker that lingers after its `final` is killed too. */
  #onGraceExpired(number: number): void {
    const attempt = this.#current(number);
    if (!attempt) return;
    // Killed for outstaying the handover's stop, not after a failed `final` of its own.
    if (this.#handover && !attempt.final && !this.#recorder.terminal) this.#handover.killed = true;
    this.#watch.kill(attempt, 'it outstayed the stop grace');
  }

  async #onBudgetCheck(number: number): Promise<void> {
    const attempt = this.#current(number);
    if (!attempt || this.#recorder.terminal || !this.#watch.budgetSpent(attempt)) return;
    const seconds = this.trial.spec.budget_seconds;
    await this.#requestStop('budget_exhausted', `budget of ${seconds} s spent`);
  }

  /** A killed worker that never exits must not leave the trial running forever. */
  async #onExitOverdue(number: number): Promise<void> {
    const attempt = this.#current(number);
    if (!attempt) return;
    this.deps.logger.error('killed worker did not exit; giving up on it', {
      trialId: this.trialId,
      pid: attempt.session?.pid,
    });
    await this.#attemptGone(attempt);
    if (this.#handover?.killed && !this.#recorder.terminal) {
      await this.#completeHandover('its killed worker did not exit, and goes with this executor');
      return this.#report();
    }
    await this.#finish(this.#stop?.reason ?? 'failed', 'worker did not exit after SIGKILL', {
      name: 'WorkerCrashedError',
      code: ErrorCodes.WORKER_CRASHED,
      message: `worker ${attempt.session?.pid} did not exit after SIGKILL`,
    });
    await this.#report();
  }

  // ── attempt endings ─────────────────────────────────────────────────────────────────────

  async #onWorkerExited(number: number, exit: WorkerExit): Promise<void> {
    const attempt = this.#current(number);
    if (!attempt) return;
    await this.#attemptGone(attempt);
    if (this.#recorder.terminal) return this.#report();
    if (this.#handover && (attempt.final?.status === 'cancelled' || this.#handover.killed)) {
      const how = this.#handover.killed
        ? 'worker killed after the stop grace; the epoch it was on is trained again'
        : `worker stopped after epoch ${this.#policies.epochsCompleted}`;
      await this.#completeHandover(how);
    } else {
      await this.#afterFailure(attempt, exit);
    }
    await this.#report();
  }

  async #attemptGone(attempt: WorkerAttempt): Promise<void> {
    attempt.gone = true;
    this.#policies.attemptEnded(this.deps.clock.now());
    this.#watch.attemptOver();
    await attempt.session?.close();
  }

  async #afterFailure(attempt: WorkerAttempt, exit: WorkerExit): Promise<void> {
    const { failure, plan } = planAfterExit(attempt, exit, this.trial, this.#policies, {
      failures: this.#failures,
      batchSize: this.#batchSize,
      stopRequested: this.#stop?.reason,
      now: this.deps.clock.now(),
    });
    this.deps.logger.warn('worker attempt failed', {
      trialId: this.trialId,
      attempt: attempt.number,
      kind: failure.kind,
      detail: failure.detail,
      plan: plan.kind,
    });
    if (plan.kind === 'end') return this.#finish(plan.stopReason, plan.why, plan.error);
    await this.#scheduleRetry(attempt, plan, failure.error);
  }

  async #scheduleRetry(
    failed: WorkerAttempt,
    plan: Extract<AttemptPlan, { kind: 'retry' }>,
    error: SerializedError,
  ): Promise<void> {
    const next = failed.number + 1;
    this.#failures = plan.failures;
    if (plan.backoff) await this.#ending.recordBackoff(failed.number, next, plan.backoff, plan.why);
    this.#batchSize = plan.batchSize;
    this.#recorder.attempt = next;
    const reason = `retry: ${plan.why}; attempt ${next} in ${plan.delayMs} ms`;
    await this.#recorder.transition('launching', reason, { error });
    if (this.#handover) {
      // The failure stays counted (no handover of attempt `failed`); the retry is the next
      // executor's.
      return this.#completeHandover(`attempt ${failed.number} failed; attempt ${next} is left`);
    }
    this.#timers.set('retry', plan.delayMs, { type: 'timer.retry', attempt: next });
  }

  /** Records the handover and sets the outcome to report once the worker is gone. */
  async #completeHandover(how: string): Promise<void> {
    const request = this.#handover;
    if (!request || this.#handedOver) return;
    this.#handedOver = true;
    this.#timers.clear();
    // The next owner may run on another machine: it resumes from what reached the store.
    await this.#launcher.flushCheckpoints(this.deps.settings.checkpointFlushMs);
    const parts = {
      recorder: this.#recorder,
      policies: this.#policies,
      ledger: this.#ledger,
      store: this.deps.store,
      logger: this.deps.logger,
    };
    const context = { adoptedAttempt: this.#takeover?.attempt, summary: this.#summary() };
    this.#ending.handOver(await recordHandover(parts, request, how, context));
  }

  async #finish(stopReason: StopReasonName, reason: string, error?: SerializedError) {
    // Handed over: the next owner ends the trial, not this executor.
    if (this.#settled) return;
    this.#timers.clear();
    // The best checkpoint's URI goes into the result: give failed uploads a last chance.
    await this.#launcher.flushCheckpoints(this.deps.settings.checkpointFlushMs);
    await this.#ending.finish(stopReason, reason, this.#summary(), error);
    // The worker normally exits right after its final message; one that lingers is killed.
    if (this.#attempt?.live) this.#watch.startGrace(this.#attempt);
    await this.#report();
  }

  // ── plumbing ────────────────────────────────────────────────────────────────────────────

  /** Ended, or handed over: nothing starts or launches any more. */
  get #settled(): boolean {
    return this.#recorder.terminal || this.#handedOver;
  }

  /** Stops every timer and kills the worker, which this run then no longer waits for. */
  #dropWorker(): void {
    this.#timers.clear();
    this.#attempt?.kill();
    if (this.#attempt) this.#attempt.gone = true;
  }

  /** The current attempt when `number` is it and its worker may still run. */
  #current(number: number): WorkerAttempt | undefined {
    const attempt = this.#attempt;
    return attempt && attempt.number === number && !attempt.gone ? attempt : undefined;
  }

  /**
   * Once the trial has ended, or was handed over, and its worker is gone: reports. An ended
   * trial's local checkpoints are removed first; a handed-over one keeps them, so that this
   * executor restarted on the same machine resumes without downloading.
   */
  async #report(): Promise<void> {
    const summary = this.#summary();
    if (!this.#ending.readyToReport(summary)) return;
    if (this.#recorder.terminal) await this.#launcher.removeScratch();
    if (this.#ending.reportIfDone(summary)) this.#timers.clear();
  }

  #summary(): AttemptSummary {
    return {
      attempts: this.#attempt?.number ?? 0,
      workerGone: !this.#attempt?.live,
      batchSize: this.#batchSize,
    };
  }

  /** Runs `act` on the current attempt `number` while the trial has not ended. */
  #withLive(number: number, act: (attempt: WorkerAttempt) => void): void {
    const attempt = this.#current(number);
    if (attempt && !this.#recorder.terminal) act(attempt);
  }
}
