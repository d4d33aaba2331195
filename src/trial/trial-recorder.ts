import { eventKey, heartbeatKey } from '../bus/routing-keys.js';
import type { Clock } from '../clock/clock.js';
import type {
  BestMetricValue,
  EpochMessage,
  Heartbeat,
  StopReasonName,
  TrialStateName,
} from '../contracts/index.js';
import type { SerializedError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { TrialStore } from '../store/trial-store.js';
import { TrialFsm } from './trial-fsm.js';

export interface TransitionExtra {
  stopReason?: StopReasonName;
  error?: SerializedError;
  bestMetric?: BestMetricValue;
}

export interface TrialRecorderDeps {
  store: TrialStore;
  mirror: (routingKey: string, message: Record<string, unknown>) => void;
  clock: Clock;
  logger: Logger;
}

/**
 * Where a trial's history goes: every state change is checked by the FSM, logged, persisted,
 * then published as `trial.state_changed`; every event and mirrored heartbeat gets the trial's
 * next bus `seq`.
 */
export class TrialRecorder {
  readonly #fsm: TrialFsm;
  #busSeq = 0;
  /** The attempt the trial is on; stamped on every transition from the first launch on. */
  attempt = 0;

  constructor(
    readonly trialId: string,
    private readonly deps: TrialRecorderDeps,
  ) {
    this.#fsm = new TrialFsm(() => deps.clock.now());
  }

  get state(): TrialStateName | null {
    return this.#fsm.state;
  }

  get terminal(): boolean {
    return this.#fsm.terminal;
  }

  /** Goes on with a trial taken over: its stored state, attempt and next bus `seq`. */
  restore(state: TrialStateName, attempt: number, nextSeq: number): void {
    this.#fsm.restore(state);
    this.attempt = attempt;
    this.#busSeq = nextSeq;
  }

  async transition(to: TrialStateName, reason: string, extra: TransitionExtra = {}): Promise<void> {
    const change = this.#fsm.transition(to, reason);
    const { trialId, attempt } = this;
    this.deps.logger.info('trial state changed', { trialId, from: change.from, to, reason });
    const { stopReason, error, bestMetric } = extra;
    await this.deps.store.recordTransition({
      trialId,
      from: change.from,
      to,
      reason,
      ...(attempt > 0 ? { attempt } : {}),
      ...(stopReason ? { stopReason } : {}),
      ...(error ? { error } : {}),
      at: new Date(change.at).toISOString(),
    });
    this.publishEvent({
      type: 'trial.state_changed',
      from: change.from,
      to,
      reason,
      ...(stopReason ? { stop_reason: stopReason } : {}),
      ...(error ? { error } : {}),
      ...(attempt > 0 ? { attempt } : {}),
      ...(bestMetric ? { best_metric: bestMetric } : {}),
    });
  }

  /** Stores an epoch's metrics under the current attempt. */
  recordEpoch(epoch: EpochMessage): Promise<void> {
    return this.deps.store.recordEpoch({
      trialId: this.trialId,
      attempt: this.attempt,
      epoch: epoch.epoch,
      primary: epoch.metrics.primary,
      metrics: epoch.metrics,
      durationMs: epoch.duration_ms,
      recordedAt: epoch.ts,
    });
  }

  publishEvent(body: Record<string, unknown>): void {
    const stamped = { ...body, trial_id: this.trialId, seq: this.#busSeq++, ts: this.isoNow() };
    this.deps.mirror(eventKey(this.trialId), stamped);
  }

  mirrorHeartbeat(heartbeat: Heartbeat): void {
    const { seq, ...rest } = heartbeat;
    const message = { ...rest, source_seq: seq, seq: this.#busSeq++ };
    this.deps.mirror(heartbeatKey(this.trialId), message);
  }

  isoNow(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }
}
