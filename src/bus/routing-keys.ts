/**
 * Routing keys on the topic exchange. A trial id is one routing-key word: the contract allows
 * only letters, digits, `_` and `-`, so it never contains the `.` separator.
 */
export const heartbeatKey = (trialId: string): string => `automat.heartbeats.${trialId}`;
export const eventKey = (trialId: string): string => `automat.events.${trialId}`;

/** Every trial's heartbeats. */
export const HEARTBEATS_PATTERN = 'automat.heartbeats.#';
/** Every trial's lifecycle events. */
export const EVENTS_PATTERN = 'automat.events.#';
