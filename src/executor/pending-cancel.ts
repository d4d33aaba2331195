import type { PendingCancel, PendingCancelStore } from '../store/trial-store.js';

/**
 * How long a cancel for a trial not received yet is remembered: 7 days. A planner's backlog can
 * wait in the intake queue for hours or days, but a cancel for a trial_id that never arrives (a
 * typo, a spec never published) must not be kept forever.
 */
export const PENDING_CANCEL_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** The `message` of an accepted cancel for a trial whose spec has not arrived. */
export function notReceivedMessage(expiresAt: string): string {
  return (
    'trial not received yet; it will end cancelled when it arrives ' +
    `(the cancel is kept until ${expiresAt})`
  );
}

/** The reason recorded with a trial cancelled on arrival; it names the planner's command. */
export function arrivalCancelReason(cancel: PendingCancel): string {
  const command =
    cancel.commandId === null ? 'a planner.cancel' : `planner.cancel ${cancel.commandId}`;
  return `cancelled on arrival by ${command} of ${cancel.requestedAt}: ${cancel.reason}`;
}

/**
 * The reason to cancel a just-stored (or taken-over) trial with, or undefined when no cancel
 * waits for it. Call it after the trial is stored: see PendingCancelStore for why the order
 * matters.
 */
export async function cancelOnArrival(
  store: Pick<PendingCancelStore, 'getPendingCancel'>,
  trialId: string,
  now: string,
): Promise<string | undefined> {
  const cancel = await store.getPendingCancel(trialId, now);
  return cancel === undefined ? undefined : arrivalCancelReason(cancel);
}
