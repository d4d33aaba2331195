import { Type } from '@sinclair/typebox';

/**
 * Building blocks shared by every message. `description` states the expectation in words: the
 * validator quotes it in error messages, and workers in other languages read it in the exported
 * JSON Schema.
 */

/** Letters, digits, `_` and `-`: a trial id is also one word of a RabbitMQ routing key. */
export const TrialId = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$',
  description: 'a string of 1-128 letters, digits, "_" or "-", starting with a letter or digit',
});

export const Seq = Type.Integer({
  minimum: 0,
  description: 'a non-negative integer that increases with every message of the trial',
});

export const Timestamp = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$',
  description: 'an ISO 8601 timestamp such as 2026-01-31T12:00:00.000Z',
});

export const Attempt = Type.Integer({
  minimum: 1,
  description: 'the attempt number, starting at 1 and increasing with every retry',
});

export const FiniteNumber = Type.Number({ description: 'a finite number' });

/** Metric values may be missing (null) when a worker measured NaN or Infinity. */
export const MetricValue = Type.Union([Type.Number(), Type.Null()], {
  description: 'a finite number, or null when the measured value was NaN or infinite',
});

export const WireError = Type.Object(
  {
    name: Type.String(),
    code: Type.String({ description: 'a stable AUTOMAT_E_* code' }),
    message: Type.String(),
  },
  { description: 'an error as it crosses a process boundary' },
);

/** The fields every message carries. */
export const envelope = {
  trial_id: TrialId,
  seq: Seq,
  ts: Timestamp,
};
