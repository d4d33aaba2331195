import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { ingestCacheKey, sha256File } from './cache-key.js';
import { buildClassificationShards } from './classification-shards.js';
import { locateDataset, type DatasetLocation } from './dataset-location.js';
import { buildGenerationShards } from './generation-shards.js';
import type { IngestPool } from './ingest-pool.js';
import {
  resolveIngestRequest,
  type IngestRequest,
  type ResolvedIngestRequest,
} from './ingest-request.js';
import { JsonlSource, type JsonlReport } from './jsonl-source.js';
import type { LoadedTokenizer } from './loaded-tokenizer.js';
import type { ShardManifest } from './shard-manifest.js';
import { findShardProblem, readManifest } from './shard-reader.js';
import { writeShards, type ManifestHeader, type SplitArrays } from './shard-writer.js';
import { SingleFlight } from './single-flight.js';
import { tokenizeSource } from './tokenize-source.js';
import { loadTokenizer } from './tokenizer-registry.js';

export interface IngestContext {
  pool: IngestPool;
  /** Folder holding one sub-folder of shards per cache key. */
  cacheDir: string;
  logger: Logger;
  signal?: AbortSignal;
}

export interface IngestStats {
  /** Non-blank lines of the dataset, good and bad (from the manifest on a cache hit). */
  lines: number;
  /** Examples (classification) or documents (generation) accepted. */
  rows: number;
  bad_lines: number;
  /** Real tokens written into shards by this call; 0 on a cache hit, which writes none. */
  tokens: number;
  /** Wall time of this call. */
  ms: number;
}

export interface IngestOutcome {
  manifestPath: string;
  manifest: ShardManifest;
  /** True when finished shards were already on disk. A call that joined a build is not a hit. */
  cacheHit: boolean;
  stats: IngestStats;
}

type BuildOutcome = Omit<IngestOutcome, 'stats'> & { stats: Omit<IngestStats, 'ms'> };

interface BuildPlan {
  request: ResolvedIngestRequest;
  location: DatasetLocation;
  datasetSha256: string;
  tokenizer: LoadedTokenizer;
  key: string;
  dir: string;
}

// Per process, so that trials asking for the same shards at once share one build.
const builds = new SingleFlight<BuildOutcome>();

/**
 * Tokenizes a JSON Lines dataset into shards under `cacheDir/<key>/`, or returns the shards
 * already there. The key covers the dataset bytes, the tokenizer, seq_len, task type and split,
 * so equal keys always mean equal shards.
 */
export async function ingestDataset(
  request: IngestRequest,
  context: IngestContext,
): Promise<IngestOutcome> {
  const started = performance.now();
  const resolved = resolveIngestRequest(request);
  const location = await locateDataset(resolved.datasetUri);
  const [datasetSha256, tokenizer] = await Promise.all([
    sha256File(location.path),
    loadTokenizer(resolved.tokenizerRef),
  ]);
  const key = ingestCacheKey({
    datasetSha256,
    tokenizerSha256: tokenizer.sha256,
    tokenizerConfigSha256: tokenizer.configSha256,
    seqLen: resolved.seqLen,
    taskType: resolved.taskType,
    seed: resolved.seed,
    valFraction: resolved.valFraction,
  });
  const dir = join(resolve(context.cacheDir), key);
  const plan: BuildPlan = { request: resolved, location, datasetSha256, tokenizer, key, dir };
  const outcome = await builds.run(
    dir,
    async (signal) => (await reuse(plan, context.logger)) ?? build(plan, context, signal),
    context.signal,
  );
  return { ...outcome, stats: { ...outcome.stats, ms: Math.round(performance.now() - started) } };
}

/** The finished shards for this key, or null (after removing anything unusable in their place). */
async function reuse(plan: BuildPlan, logger: Logger): Promise<BuildOutcome | null> {
  const manifestPath = join(plan.dir, 'manifest.json');
  let manifest: ShardManifest;
  try {
    manifest = await readManifest(manifestPath);
  } catch (error) {
    const code = ((error as AutomatError).cause as NodeJS.ErrnoException | undefined)?.code;
    if (code !== 'ENOENT') {
      logger.warn('shard cache entry unreadable; rebuilding', {
        dir: plan.dir,
        error: String(error),
      });
    }
    // Also clears a folder left without its manifest, which would block publishing new shards.
    await rm(plan.dir, { recursive: true, force: true });
    return null;
  }
  const problem =
    manifest.key === plan.key ? await findShardProblem(plan.dir, manifest) : 'key mismatch';
  if (problem !== null) {
    logger.warn('shard cache entry damaged; rebuilding', { dir: plan.dir, problem });
    await rm(plan.dir, { recursive: true, force: true });
    return null;
  }
  logger.info('shard cache hit', { key: plan.key, manifestPath });
  const { rows, bad_lines } = manifest.dataset;
  return {
    manifestPath,
    manifest,
    cacheHit: true,
    stats: { lines: rows + bad_lines, rows, bad_lines, tokens: 0 },
  };
}

async function build(
  plan: BuildPlan,
  context: IngestContext,
  signal: AbortSignal,
): Promise<BuildOutcome> {
  const log = context.logger.child({ key: plan.key, dataset: plan.location.path });
  log.info('ingest started', { taskType: plan.request.taskType, seqLen: plan.request.seqLen });
  const { report, shards } = await tokenizeAndSplit(plan, context.pool, signal, log);
  if (signal.aborted) {
    throw new AutomatError(ErrorCodes.CANCELLED, 'ingest cancelled', { cause: signal.reason });
  }
  const written = await writeShards({
    dir: plan.dir,
    header: manifestHeader(plan, shards.labels, report),
    train: shards.train,
    validation: shards.validation,
  });
  const stats = {
    lines: report.records + report.badLines,
    rows: report.records,
    bad_lines: report.badLines,
    tokens: shards.tokens,
  };
  log.info('ingest finished', { ...stats, manifestPath: written.manifestPath });
  return { manifestPath: written.manifestPath, manifest: written.manifest, cacheHit: false, stats };
}

interface SplitShards {
  labels: string[];
  train: SplitArrays;
  validation: SplitArrays;
  tokens: number;
}

/** Reads and tokenizes the dataset, checks its quality, then splits (and for generation packs). */
async function tokenizeAndSplit(
  plan: BuildPlan,
  pool: IngestPool,
  signal: AbortSignal,
  log: Logger,
): Promise<{ report: JsonlReport; shards: SplitShards }> {
  const { request, tokenizer } = plan;
  const classification = request.taskType === 'classification';
  const source = new JsonlSource(plan.location.path, { requireLabel: classification });
  const tokenized = await tokenizeSource(source, {
    pool,
    tokenizer,
    layout: classification
      ? { kind: 'padded', seqLen: request.seqLen, padId: tokenizer.padId }
      : { kind: 'ragged', eosId: tokenizer.eosId },
    signal,
  });
  source.assertUsable(request.maxBadFraction);
  const report = source.report;
  if (report.badLines > 0) {
    log.warn('dataset has bad lines', { badLines: report.badLines, firstBad: report.firstBad });
  }
  const { seed, valFraction } = request;
  const shards: SplitShards = classification
    ? buildClassificationShards(tokenized, columnsOf(request), seed, valFraction)
    : { labels: [], ...buildGenerationShards(tokenized, columnsOf(request), seed, valFraction) };
  assertNotEmpty(plan, 'train', shards.train);
  assertNotEmpty(plan, 'validation', shards.validation);
  return { report, shards };
}

/** Ids per row: generation blocks carry one extra id so inputs and targets both span seq_len. */
function columnsOf(request: ResolvedIngestRequest): number {
  return request.taskType === 'classification' ? request.seqLen : request.seqLen + 1;
}

function manifestHeader(plan: BuildPlan, labels: string[], report: JsonlReport): ManifestHeader {
  const { request, tokenizer } = plan;
  return {
    key: plan.key,
    task_type: request.taskType,
    seq_len: columnsOf(request),
    tokenizer: {
      ref: request.tokenizerRef,
      sha256: tokenizer.sha256,
      vocab_size: tokenizer.vocabSize,
      pad_id: tokenizer.padId,
    },
    dataset: {
      uri: request.datasetUri,
      sha256: plan.datasetSha256,
      rows: report.records,
      bad_lines: report.badLines,
    },
    labels,
    split: { seed: request.seed, val_fraction: request.valFraction },
  };
}

function assertNotEmpty(plan: BuildPlan, name: string, split: SplitArrays): void {
  if (split.rows > 0) return;
  const { request } = plan;
  const unit =
    request.taskType === 'classification' ? 'rows' : `blocks of ${request.seqLen + 1} tokens`;
  throw new AutomatError(
    ErrorCodes.DATASET_INVALID,
    `dataset ${plan.location.path}: the ${name} split would hold no ${unit} ` +
      `(val_fraction ${request.valFraction}); the dataset is too small`,
  );
}
