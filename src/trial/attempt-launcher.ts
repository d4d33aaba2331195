import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { listFiles } from '../artifacts/list-files.js';
import type { CheckpointMessage, TrainMessage } from '../contracts/index.js';
import { serializeError, type SerializedError } from '../errors/index.js';
import { workerHeapMiB } from '../policy/device-profiles.js';
import type { CheckpointRecord } from '../store/trial-store.js';
import type { CheckpointLedger } from './checkpoint-ledger.js';
import type { ResolvedTrial } from './resolve-trial-spec.js';
import { resumeDirectory } from './resume-checkpoint.js';
import type { IngestResult, OutgoingControl, TrialRunDeps } from './trial-ports.js';
import type { TrialPolicies } from './trial-policies.js';
import { WorkerAttempt } from './worker-attempt.js';

type TrainInput = Omit<TrainMessage, 'trial_id' | 'attempt' | 'seq' | 'ts'>;

/**
 * Starts a trial's worker attempts and keeps their checkpoints. A retry resumes from the latest
 * checkpoint (the local folder, or a download of it), after rewinding the policies to it.
 */
export class AttemptLauncher {
  /** Checkpoints whose upload failed, oldest first, waiting to be tried again. */
  readonly #pending: Array<{ attempt: number; checkpoint: CheckpointMessage }> = [];

  constructor(
    private readonly trial: ResolvedTrial,
    private readonly deps: TrialRunDeps,
    private readonly policies: TrialPolicies,
    private readonly ledger: CheckpointLedger,
  ) {}

  get trialId(): string {
    return this.trial.spec.trial_id;
  }

  /**
   * Takes up the checkpoints of a trial taken over from another executor. Those stored without
   * their file list (by an older version) cannot be downloaded and are left out.
   */
  adoptCheckpoints(records: readonly CheckpointRecord[]): void {
    for (const record of records) {
      if (!record.files) continue;
      this.ledger.record({
        epoch: record.epoch,
        attempt: record.attempt,
        localPath: join(this.#attemptDir(record.attempt), `epoch-${record.epoch}`),
        uri: record.uri,
        files: record.files,
      });
    }
  }

  /** Launches attempt `number`; `error` is set when no worker process could be started. */
  async launch(
    number: number,
    batchSize: number,
    ingest: IngestResult,
  ): Promise<{ attempt: WorkerAttempt; error?: SerializedError }> {
    const resume = await this.#resumePoint(number);
    this.policies.rewindTo(resume.epoch);
    this.ledger.forgetAfter(resume.epoch);
    const attempt = new WorkerAttempt(number, batchSize);
    try {
      attempt.session = await this.deps.launcher.launch({
        trialId: this.trialId,
        attempt: number,
        maxOldSpaceMiB: workerHeapMiB(this.trial.profile, this.deps.settings.workerMemoryMiB),
        onHeartbeat: (heartbeat) =>
          this.deps.post({ type: 'worker.heartbeat', attempt: number, heartbeat }),
        onExit: (exit) => this.deps.post({ type: 'worker.exited', attempt: number, exit }),
      });
    } catch (error) {
      attempt.gone = true;
      return { attempt, error: serializeError(error) };
    }
    this.policies.attemptLaunched();
    this.send(attempt, this.#trainMessage(attempt, ingest, resume.path));
    return { attempt };
  }

  /**
   * Sends without waiting: a worker that died cannot take the message, and its exit (or the
   * liveness watchdog) decides what happens next, not a send timeout in the mailbox.
   */
  send(attempt: WorkerAttempt, message: OutgoingControl): void {
    attempt.session?.send(message).catch((error: unknown) => {
      this.deps.logger.warn('control message not delivered', {
        trialId: this.trialId,
        attempt: attempt.number,
        type: message.type,
        error: serializeError(error),
      });
    });
  }

  /**
   * Uploads a checkpoint and records it. A failed upload (S3 away) is kept and tried again
   * before the next checkpoint and when the trial ends (see flushCheckpoints): the worker's
   * local folder stays, so an outage costs resumability for a while, never the trial.
   */
  async recordCheckpoint(attempt: number, checkpoint: CheckpointMessage): Promise<void> {
    await this.#retryPending();
    if (!(await this.#upload(attempt, checkpoint))) this.#pending.push({ attempt, checkpoint });
    this.#reportPending();
  }

  #reportPending(): void {
    const waiting = this.#pending.length;
    const problem = waiting > 0 ? `${waiting} checkpoint uploads waiting` : undefined;
    this.deps.health?.report('artifacts', this.trialId, problem);
  }

  /**
   * Tries the uploads that failed until they succeed or `withinMs` has passed, waiting 1 s,
   * then 2 s, 4 s, … between rounds. Called before a trial's result is recorded.
   */
  async flushCheckpoints(withinMs: number): Promise<void> {
    const deadline = this.deps.clock.now() + withinMs;
    for (let waitMs = 1_000; ; waitMs = Math.min(waitMs * 2, 8_000)) {
      await this.#retryPending();
      if (this.#pending.length === 0 || this.deps.clock.now() + waitMs > deadline) break;
      await new Promise<void>((resolve) => this.deps.clock.setTimer(waitMs, resolve));
    }
    if (this.#pending.length > 0) {
      this.deps.logger.error('checkpoints never reached the artifact store', {
        trialId: this.trialId,
        epochs: this.#pending.map((p) => p.checkpoint.epoch),
      });
    }
    // The trial is ending: whatever is left is given up on, not waiting any more.
    this.deps.health?.report('artifacts', this.trialId, undefined);
  }

  async #retryPending(): Promise<void> {
    const waiting = this.#pending.splice(0);
    for (const item of waiting) {
      if (!(await this.#upload(item.attempt, item.checkpoint))) this.#pending.push(item);
    }
  }

  async #upload(attempt: number, checkpoint: CheckpointMessage): Promise<boolean> {
    const key = `${this.trialId}/${attempt}/epoch-${checkpoint.epoch}`;
    try {
      const files = (await listFiles(checkpoint.path)).map((file) => file.relative);
      const { uri, bytes } = await this.deps.artifacts.putDirectory(key, checkpoint.path);
      this.ledger.record({
        epoch: checkpoint.epoch,
        attempt,
        localPath: checkpoint.path,
        uri,
        files,
      });
      await this.deps.store.recordCheckpoint({
        trialId: this.trialId,
        attempt,
        epoch: checkpoint.epoch,
        uri,
        bytes,
        files,
        recordedAt: checkpoint.ts,
      });
      return true;
    } catch (error) {
      this.deps.logger.warn('checkpoint upload failed; will retry', {
        trialId: this.trialId,
        epoch: checkpoint.epoch,
        error: serializeError(error),
      });
      return false;
    }
  }

  async #resumePoint(number: number): Promise<{ epoch: number; path?: string }> {
    const latest = this.ledger.latest();
    if (number === 1 || !latest) return { epoch: 0 };
    const downloadDir = join(this.#attemptDir(number), 'resume');
    try {
      const { path, source } = await resumeDirectory(latest, this.deps.artifacts, downloadDir);
      this.deps.logger.info('retry resumes from a checkpoint', {
        trialId: this.trialId,
        attempt: number,
        epoch: latest.epoch,
        source,
      });
      return { epoch: latest.epoch, path };
    } catch (error) {
      this.deps.logger.warn('checkpoint unavailable; the retry starts from scratch', {
        trialId: this.trialId,
        epoch: latest.epoch,
        error: serializeError(error),
      });
      return { epoch: 0 };
    }
  }

  /**
   * Removes the folders the trial's workers wrote their checkpoints to. They are scratch: each
   * checkpoint was copied to the artifact store when it was recorded. Called once the trial has
   * ended and its last worker is gone; an upload that never succeeded keeps them, since they are
   * then the only copy.
   */
  async removeScratch(): Promise<void> {
    const folder = join(this.deps.settings.checkpointDir, this.trialId);
    if (this.#pending.length > 0) {
      this.deps.logger.warn('local checkpoints kept: some never reached the artifact store', {
        trialId: this.trialId,
        folder,
      });
      return;
    }
    await rm(folder, { recursive: true, force: true }).catch((error: unknown) =>
      this.deps.logger.warn('could not remove local checkpoints', {
        trialId: this.trialId,
        folder,
        error: String(error),
      }),
    );
  }

  #attemptDir(number: number): string {
    return join(this.deps.settings.checkpointDir, this.trialId, String(number));
  }

  #trainMessage(attempt: WorkerAttempt, ingest: IngestResult, resumeFrom?: string): TrainInput {
    const { spec } = this.trial;
    return {
      type: 'control.train',
      dataset_uri: ingest.manifestPath,
      checkpoint_dir: this.#attemptDir(attempt.number),
      ...(resumeFrom ? { resume_from: resumeFrom } : {}),
      model: {
        task_type: spec.task_type,
        seq_len: spec.seq_len,
        embed_dim: spec.embed_dim,
        vocab_size: ingest.manifest.tokenizer.vocab_size,
        num_labels: ingest.manifest.labels.length,
        primary_metric: spec.primary_metric,
        execution_provider: this.trial.profile.executionProvider,
      },
      hparams: {
        epochs: this.trial.epochs,
        batch_size: attempt.batchSize,
        learning_rate: this.trial.learningRate,
        seed: this.trial.seed,
      },
    };
  }
}
