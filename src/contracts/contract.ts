import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { ErrorCodes, ValidationError } from '../errors/index.js';
import { escapeInvisible } from '../log/printable.js';

/** A compiled schema that turns unknown input into a typed value or a readable error. */
export interface Contract<S extends TSchema> {
  readonly schema: S;
  /** Returns the value typed, or throws a ValidationError naming the field and expectation. */
  parse(value: unknown): Static<S>;
  /** Parses a JSON text first; a syntax error is reported as such. */
  parseJson(text: string | Buffer): Static<S>;
  is(value: unknown): value is Static<S>;
}

/**
 * Compiles `schema` once. `label` prefixes field paths in messages, so that an error reads
 * `trial.seq_len must be an integer between 8 and 8192, got "abc"`.
 */
export function defineContract<S extends TSchema>(schema: S, label: string): Contract<S> {
  const check = TypeCompiler.Compile(schema);
  const members = discriminatedMembers(schema);
  const parse = (value: unknown): Static<S> => {
    if (check.Check(value)) return value;
    // For a union keyed by `type`, report against the member the message claims to be, so the
    // error names the bad field instead of "expected union value".
    const member = members?.get(typeOf(value));
    if (member) member.parse(value);
    return parseWith(check, label, value);
  };
  return {
    schema,
    is: (value): value is Static<S> => check.Check(value),
    parse,
    parseJson(text) {
      let value: unknown;
      try {
        // A byte order mark some tools write before JSON is not part of the message.
        const json = typeof text === 'string' ? text : text.toString('utf8');
        value = JSON.parse(json.charCodeAt(0) === 0xfeff ? json.slice(1) : json);
      } catch (cause) {
        const detail = cause instanceof Error ? cause.message : String(cause);
        throw new ValidationError(
          label,
          [`${label} must be a JSON object, got invalid JSON (${detail})`],
          ErrorCodes.INVALID_JSON,
        );
      }
      return parse(value);
    },
  };
}

/** Members of a union whose every member fixes `type` to a constant, keyed by that constant. */
function discriminatedMembers(schema: TSchema): Map<string, Contract<TSchema>> | undefined {
  const anyOf = (schema as { anyOf?: TSchema[] }).anyOf;
  if (!anyOf) return undefined;
  const entries = anyOf.map((member) => {
    const constant = (member as { properties?: { type?: { const?: unknown } } }).properties?.type
      ?.const;
    return typeof constant === 'string' ? ([constant, member] as const) : undefined;
  });
  if (entries.some((e) => e === undefined)) return undefined;
  return new Map(
    entries.map((e) => {
      const [constant, member] = e as readonly [string, TSchema];
      return [constant, defineContract(member, constant)];
    }),
  );
}

function typeOf(value: unknown): string {
  return typeof value === 'object' && value !== null && 'type' in value ? String(value.type) : '';
}

function parseWith<S extends TSchema>(
  check: TypeCheck<S>,
  label: string,
  value: unknown,
): Static<S> {
  if (check.Check(value)) return value;

  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(label, [`${label} must be a JSON object, got ${describe(value)}`]);
  }
  // A missing field is reported once, as required, not again as "got nothing".
  const errors = [...check.Errors(value)].filter(
    (e) => e.value !== undefined || e.type === ValueErrorType.ObjectRequiredProperty,
  );
  const problems = dedupe(errors.map((e) => explain(label, e)));
  throw new ValidationError(fieldName(label, errors[0]?.path ?? ''), problems);
}

function explain(label: string, error: ValueError): string {
  const field = fieldName(label, error.path);
  const expectation = error.schema.description ?? defaultExpectation(error);
  if (error.type === ValueErrorType.ObjectRequiredProperty) {
    return `${field} is required (${expectation})`;
  }
  if (error.type === ValueErrorType.ObjectAdditionalProperties) {
    return `${field} is not a known field`;
  }
  return `${field} must be ${expectation}, got ${describe(error.value)}`;
}

function defaultExpectation(error: ValueError): string {
  const raw = error.message.replace(/^Expected /, '');
  // A literal (`'planner.cancel'`) takes no article.
  if (/^['"]/.test(raw)) return raw;
  return /^[aeiou]/i.test(raw) ? `an ${raw}` : `a ${raw}`;
}

function fieldName(label: string, path: string): string {
  if (path === '') return label;
  return `${label}${path.split('/').slice(1).map(segment).join('')}`;
}

function segment(part: string): string {
  return /^\d+$/.test(part) ? `[${part}]` : `.${part.replace(/~1/g, '/').replace(/~0/g, '~')}`;
}

/**
 * The offending value as the message quotes it. JSON would show an out-of-range number (`1e400`
 * parses to Infinity) as `null`, and cannot show a value nested deeper than the stack allows.
 */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return Number.isNaN(value) ? 'NaN' : `${value} (a number beyond the range of a double)`;
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return `${Array.isArray(value) ? 'an array' : 'an object'} nested too deeply to show`;
  }
  if (text === undefined) return String(value);
  text = escapeInvisible(text);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function dedupe(items: string[]): string[] {
  return [...new Set(items)];
}
