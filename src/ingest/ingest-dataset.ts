import { join } from 'node:path';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import { sha256Hex } from './cache-key.js';
import { BuildLock } from './build-lock.js';
import { buildShards, keyFor, type BuildPlan } from './ingest-build.js';
import type { BuildOutcome, IngestContext, IngestOutcome } from './ingest-outcome.js';
import { resolveIngestRequest, type IngestRequest } from './ingest-request.js';
import { ShardCache, type CachedShards } from './shard-cache.js';
import { SingleFlight } from './single-flight.js';
import { locateBytes } from './sources/byte-source.js';
import { formatFromName, parseDatasetUri } from './sources/dataset-uri.js';
import { identifyTokenizer } from './tokenizer-registry.js';

export type {
  IngestContext,
  IngestOutcome,
  IngestProgress,
  IngestStats,
} from './ingest-outcome.js';

// Per process, so that trials asking for the same shards at once share one build.
const builds = new SingleFlight<BuildOutcome>();

/**
 * Tokenizes a dataset into shards under `cacheDir/<key>/`, or returns the shards already there
 * (locally, else in the S3 mirror). The key covers the dataset's bytes and reading options, the
 * tokenizer, seq_len, task type and split, so equal keys always mean equal shards. A dataset seen
 * before is recognised by its identity (path, size, mtime; or S3 ETag) without reading it again.
 */
export async function ingestDataset(
  request: IngestRequest,
  context: IngestContext,
): Promise<IngestOutcome> {
  const started = performance.now();
  const plan = await planIngest(request, context);
  const flightKey = sha256Hex(
    [
      plan.cache.root,
      plan.source.identity,
      plan.reading,
      plan.tokenizer.sha256,
      paramsOf(plan),
    ].join('\n'),
  );
  const outcome = await builds.run(
    flightKey,
    async (signal) =>
      (await findShards(plan, context)) ?? buildExclusively(plan, context, flightKey, signal),
    context.signal,
  );
  return { ...outcome, stats: { ...outcome.stats, ms: Math.round(performance.now() - started) } };
}

/**
 * Builds under the cache folder's lock for these inputs, so that another process on the same
 * cache (a second executor, `automat0 ingest`) builds them at most once. The cache is looked at
 * again once the lock is held: another process may have published the shards just before.
 */
async function buildExclusively(
  plan: BuildPlan,
  context: IngestContext,
  flightKey: string,
  signal: AbortSignal,
): Promise<BuildOutcome> {
  const path = join(plan.cache.root, 'locks', `${flightKey}.lock`);
  const { lock } = await BuildLock.acquire(path, { signal, logger: context.logger });
  try {
    return (await findShards(plan, context)) ?? (await buildShards(plan, context, signal));
  } finally {
    await lock.release();
  }
}

async function planIngest(request: IngestRequest, context: IngestContext): Promise<BuildPlan> {
  const resolved = resolveIngestRequest(request);
  const uri = parseDatasetUri(resolved.datasetUri);
  const downloadDir = join(context.cacheDir, 'tokenizers');
  const [source, tokenizer] = await Promise.all([
    locateBytes(uri.location, context.s3),
    identifyTokenizer(resolved.tokenizerRef, { s3: context.s3, downloadDir }),
  ]);
  const format = uri.format ?? formatFromName(source.name);
  if (format === undefined) {
    throw new AutomatError(
      ErrorCodes.DATASET_INVALID,
      `dataset ${source.name}: cannot tell its format from the name; name it .jsonl, .csv, .tsv ` +
        'or .txt (optionally .gz), or add #format=jsonl|csv|tsv|text to the URI',
    );
  }
  const reading = [format, uri.textField, uri.labelField].join(':');
  const cache = new ShardCache(context.cacheDir, context.logger);
  return { request: resolved, uri, source, format, reading, tokenizer, cache };
}

function paramsOf(plan: BuildPlan): string {
  const { seqLen, taskType, seed, valFraction, maxBadFraction } = plan.request;
  const config = plan.tokenizer.configSha256 ?? '-';
  return [config, seqLen, taskType, seed, valFraction, maxBadFraction].join(':');
}

/** Finished shards for a dataset whose content hash is remembered, locally or in S3; else null. */
async function findShards(plan: BuildPlan, context: IngestContext): Promise<BuildOutcome | null> {
  const { cache, source } = plan;
  const log = context.logger;
  const sha256 =
    (await cache.fingerprint(source.identity)) ??
    (await context.mirror?.fingerprint(source.identity).catch((error: unknown) => {
      log.warn('S3 shard index unreadable; building locally', { error: String(error) });
      return undefined;
    }));
  if (sha256 === undefined) return null;
  const key = keyFor(plan, sha256);
  const local = await cache.lookup(key);
  if (local !== null) {
    log.info('shard cache hit', { key, manifestPath: local.manifestPath });
    return hit(plan, local, 'local');
  }
  const remote = await context.mirror?.fetch(key, cache).catch((error: unknown) => {
    log.warn('S3 shard copy unreadable; building locally', { key, error: String(error) });
    return null;
  });
  if (remote === null || remote === undefined) return null;
  await cache.remember({ identity: source.identity, sha256 });
  log.info('shard cache hit in S3', { key, manifestPath: remote.manifestPath });
  return hit(plan, remote, 's3');
}

/**
 * The outcome of a cache hit. The bad-line threshold is not part of the key, so shards built
 * under a looser one are refused to a stricter request here, from the manifest's counts.
 */
function hit(plan: BuildPlan, shards: CachedShards, source: 'local' | 's3'): BuildOutcome {
  const { rows, bad_lines, first_bad } = shards.manifest.dataset;
  const fraction = bad_lines / (rows + bad_lines);
  if (fraction > plan.request.maxBadFraction) {
    // Manifests before v1.2 kept only the count.
    const samples =
      first_bad === undefined || first_bad.length === 0
        ? '; the lines are named in the log of the build that cached it'
        : `; first bad: ${first_bad.map((b) => `line ${b.line}: ${b.reason}`).join('; ')}`;
    throw new AutomatError(
      ErrorCodes.DATASET_INVALID,
      `dataset ${plan.source.name}: ${bad_lines} of ${rows + bad_lines} lines are bad ` +
        `(${percent(fraction)}, more than the ${percent(plan.request.maxBadFraction)} ` +
        `allowed)${samples}`,
    );
  }
  return {
    ...shards,
    cacheHit: true,
    source,
    stats: { lines: rows + bad_lines, rows, bad_lines, tokens: 0, bytes: 0 },
  };
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}
