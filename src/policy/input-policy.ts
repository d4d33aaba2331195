import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrialSpec } from '../contracts/index.js';
import { AutomatError, ErrorCodes, ValidationError } from '../errors/index.js';
import { datasetLocation } from '../ingest/sources/dataset-uri.js';
import { TOKENIZER_REGISTRY } from '../ingest/tokenizer-registry.js';

/**
 * Where a TrialSpec may point. A planner names datasets and tokenizers by URI; these rules keep
 * such a URI from making the executor read a file outside the folders it was given
 * (`/etc/passwd`, `../../secrets`, a symbolic link that leads out) or reach a scheme it was not
 * configured for.
 */
export interface InputPolicy {
  /** Folders (resolved, symbolic links followed) that local paths must stay inside. */
  roots: readonly string[];
  /** URI schemes besides local paths and `file://`, e.g. `s3`. */
  schemes: readonly string[];
}

/** Schemes that the dataset and tokenizer readers can open, besides local paths and file://. */
export const READABLE_SCHEMES: readonly string[] = ['s3'];

/**
 * Resolves the configured roots. A root that is not a folder, or a scheme no reader opens, is a
 * mistake in the configuration (every such input would fail), so it is reported at start-up,
 * naming the variable.
 */
export function createInputPolicy(
  roots: readonly string[],
  schemes: readonly string[],
): InputPolicy {
  for (const scheme of schemes) {
    if (!READABLE_SCHEMES.includes(scheme)) {
      throw new AutomatError(
        ErrorCodes.CONFIG_INVALID,
        `AUTOMAT_INPUT_SCHEMES may name ${READABLE_SCHEMES.join(', ')} (what Automat0 reads ` +
          `besides local paths and file://); ${JSON.stringify(scheme)} is not one`,
      );
    }
  }
  for (const root of roots) {
    if (!statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
      throw new AutomatError(
        ErrorCodes.CONFIG_INVALID,
        `AUTOMAT_INPUT_ROOTS must name existing folders; ${JSON.stringify(root)} is not one`,
      );
    }
  }
  return { roots: roots.map((root) => realOrNearest(resolve(root))), schemes: [...schemes] };
}

/** Throws a ValidationError naming the field when the spec points outside the policy. */
export function checkInputLocations(spec: TrialSpec, policy: InputPolicy): void {
  const dataset = spec.dataset_uri;
  checkLocation('trial.dataset_uri', dataset, datasetLocation(dataset), policy);
  const tokenizer = spec.tokenizer_ref;
  if (Object.hasOwn(TOKENIZER_REGISTRY, tokenizer)) return;
  // A bare word that names nothing here was meant as a registry name.
  if (!/[\\/]/.test(tokenizer) && !existsSync(tokenizer)) {
    const known = Object.keys(TOKENIZER_REGISTRY).join(', ');
    const path = 'the path of a tokenizer.json or its folder';
    refuse('trial.tokenizer_ref', tokenizer, `must be a registry name (${known}) or ${path}`);
  }
  // A tokenizer reference has no options: all of it is the location.
  checkLocation('trial.tokenizer_ref', tokenizer, tokenizer, policy);
}

/**
 * Checks `location`, the part of `value` that the reader will open (a `#` is part of a path
 * unless an option list follows it, so it must not be cut off here).
 */
function checkLocation(field: string, value: string, location: string, policy: InputPolicy): void {
  const written = /^([a-z][a-z0-9+.-]*):\/\//i.exec(location)?.[1];
  const scheme = written?.toLowerCase();
  // Every reader downstream matches `s3://` and `file://` as written, so other spellings are
  // refused here rather than failing later as an unsupported scheme.
  if (written !== scheme) {
    refuse(
      field,
      value,
      `must write its scheme in lower case ("${scheme}://", not "${written}://")`,
    );
  }
  if (scheme && scheme !== 'file') {
    if (policy.schemes.includes(scheme)) return;
    const allowed = ['a local path', 'file://', ...policy.schemes.map((s) => `${s}://`)];
    refuse(field, value, `must use one of ${allowed.join(', ')}`);
  }
  if (location.split(/[\\/]/).includes('..')) refuse(field, value, 'must not contain ".."');

  const path = scheme === 'file' ? fileURLToPath(location) : resolve(location);
  const roots = policy.roots.join(' or ');
  if (!insideRoots(realOrNearest(path), policy)) {
    // Named inside the roots, yet resolving outside: a symbolic link on the way leads out.
    const viaLink = insideRoots(path, policy) || insideRoots(realOrNearest(dirname(path)), policy);
    const them = policy.roots.length === 1 ? 'it' : 'them';
    const why = viaLink ? ` (it is a symbolic link that leads out of ${them})` : '';
    refuse(field, value, `must be inside ${roots}${why}`);
  }
}

function insideRoots(real: string, policy: InputPolicy): boolean {
  return policy.roots.some((root) => real === root || real.startsWith(root + sep));
}

function refuse(field: string, value: string, expectation: string): never {
  const shown = value.length > 120 ? `${value.slice(0, 117)}...` : value;
  throw new ValidationError(field, [`${field} ${expectation}, got ${JSON.stringify(shown)}`]);
}

/**
 * The path with symbolic links followed; for a path that does not exist yet, its nearest
 * existing parent resolved and the rest appended, so a missing file is still placed correctly.
 */
function realOrNearest(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    if (parent === path || !isAbsolute(path)) return path;
    return resolve(realOrNearest(parent), path.slice(parent.length + 1));
  }
}
