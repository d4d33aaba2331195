/** Routing keys of the bus mirror. A trial id is a single routing-key word (no dots). */
export const heartbeatKey = (trialId: string): string => `automat.heartbeats.${trialId}`;
export const eventKey = (trialId: string): string => `automat.events.${trialId}`;
