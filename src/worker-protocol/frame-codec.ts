import { contracts, type ControlMessage, type Heartbeat } from '../contracts/index.js';

/** Removes keys from every member of a union, keeping it discriminated. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The fields a channel stamps on every message; callers never set them. */
type Stamped = 'trial_id' | 'attempt' | 'seq' | 'ts';

/** A control message as a caller writes it: the channel adds trial, attempt, seq and ts. */
export type ControlInput = DistributiveOmit<ControlMessage, Stamped>;

/** A heartbeat as a worker writes it: the endpoint adds trial, attempt, seq and ts. */
export type HeartbeatInput = DistributiveOmit<Heartbeat, Stamped | 'source_seq'>;

/** Who is sending, and the counter value this message gets. */
export interface Stamp {
  trialId: string;
  attempt: number;
  seq: number;
  ts: string;
}

/** A validated message and the frame that carries it. */
export interface Encoded<M> {
  message: M;
  frame: Buffer;
}

/**
 * One ZeroMQ frame carries one JSON object in UTF-8. Both directions are validated against
 * their contract when encoded, so a bug in the sender fails loudly in the sender, and again
 * when decoded, so nothing unvalidated reaches the other side.
 */
export function encodeControl(input: ControlInput, stamp: Stamp): Encoded<ControlMessage> {
  const message = contracts.control.parse(stampFields(input, stamp));
  return { message, frame: Buffer.from(JSON.stringify(message), 'utf8') };
}

export function encodeHeartbeat(input: HeartbeatInput, stamp: Stamp): Encoded<Heartbeat> {
  const message = contracts.heartbeat.parse(stampFields(input, stamp));
  return { message, frame: Buffer.from(JSON.stringify(message), 'utf8') };
}

/** Throws a ValidationError (AUTOMAT_E_INVALID_JSON or AUTOMAT_E_INVALID_MESSAGE). */
export function decodeControl(frame: Buffer): ControlMessage {
  return contracts.control.parseJson(frame);
}

/** Throws a ValidationError (AUTOMAT_E_INVALID_JSON or AUTOMAT_E_INVALID_MESSAGE). */
export function decodeHeartbeat(frame: Buffer): Heartbeat {
  return contracts.heartbeat.parseJson(frame);
}

function stampFields(input: object, stamp: Stamp): Record<string, unknown> {
  return {
    ...input,
    trial_id: stamp.trialId,
    attempt: stamp.attempt,
    seq: stamp.seq,
    ts: stamp.ts,
  };
}
