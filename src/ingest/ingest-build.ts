import { basename, dirname, join } from 'node:path';
import { AutomatError, ErrorCodes } from '../errors/index.js';
import { ingestCacheKey } from './cache-key.js';
import type { Logger } from '../log/logger.js';
import { ClassificationCollector, type BuiltSplits } from './classification-shards.js';
import { GenerationCollector } from './generation-shards.js';
import type { BuildOutcome, IngestContext } from './ingest-outcome.js';
import type { ResolvedIngestRequest } from './ingest-request.js';
import type { LoadedTokenizer } from './loaded-tokenizer.js';
import type { ShardCache } from './shard-cache.js';
import type { ShardSplit } from './shard-manifest.js';
import { sweepAbandonedStaging } from './staging-sweep.js';
import { StagedShards, type ManifestHeader } from './shard-writer.js';
import type { ByteSource } from './sources/byte-source.js';
import type { DatasetFormat, DatasetUri } from './sources/dataset-uri.js';
import { RecordSource } from './sources/record-source.js';
import { tokenizeSource, type TokenizeTotals } from './tokenize-source.js';
import { loadTokenizer, type TokenizerIdentity } from './tokenizer-registry.js';

/** Everything an ingest call resolved before looking at the cache. */
export interface BuildPlan {
  request: ResolvedIngestRequest;
  uri: DatasetUri;
  source: ByteSource;
  format: DatasetFormat;
  /** `format:textField:labelField`, part of the cache key. */
  reading: string;
  tokenizer: TokenizerIdentity;
  cache: ShardCache;
}

type Collector = ClassificationCollector | GenerationCollector;

/** The cache key once the dataset's content hash is known. */
export function keyFor(plan: BuildPlan, datasetSha256: string): string {
  const { seqLen, taskType, seed, valFraction } = plan.request;
  return ingestCacheKey({
    datasetSha256,
    reading: plan.reading,
    tokenizerSha256: plan.tokenizer.sha256,
    tokenizerConfigSha256: plan.tokenizer.configSha256,
    seqLen,
    taskType,
    seed,
    valFraction,
  });
}

/**
 * Reads the dataset once, tokenizing as it goes and hashing its bytes, then splits, writes and
 * publishes the shards under the key the hash gives. Memory stays flat: ids wait in a spill file,
 * not in RAM. If shards for the same content were published meanwhile (the same bytes under
 * another name), those are kept.
 */
export async function buildShards(
  plan: BuildPlan,
  context: IngestContext,
  signal: AbortSignal,
): Promise<BuildOutcome> {
  const { request, source, cache } = plan;
  const log = context.logger.child({ dataset: source.name });
  log.info('ingest started', { taskType: request.taskType, seqLen: request.seqLen });
  warmThreads(plan, context);
  const tokenizer = await loadTokenizer(request.tokenizerRef, {
    s3: context.s3,
    downloadDir: join(cache.root, 'tokenizers'),
  });
  await sweepAbandonedStaging(cache.root, log);
  const staged = await StagedShards.create(cache.root);
  let collector: Collector | undefined;
  try {
    collector =
      request.taskType === 'classification'
        ? await ClassificationCollector.create(staged.folder, request.seqLen, source.name)
        : await GenerationCollector.create(staged.folder);
    const read = await readDataset(plan, tokenizer, collector, context, signal);
    if (read.records.report.badLines > 0) {
      const { badLines, firstBad } = read.records.report;
      log.warn('dataset has bad lines', { badLines, firstBad });
    }
    return await publish(plan, tokenizer, collector, staged, read, context, log);
  } finally {
    await collector?.discard();
    await staged.discard();
  }
}

/** Starts the threads and their tokenizer builds while this thread reads the tokenizer's facts. */
function warmThreads(plan: BuildPlan, context: IngestContext): void {
  const { ref, files, sha256 } = plan.tokenizer;
  context.pool.warm({
    ref,
    files,
    sha256,
    backend: plan.request.tokenizerBackend,
    wordBounded: false,
    texts: [],
    layout: { kind: 'ragged', eosId: null },
  });
}

interface ReadDataset {
  records: RecordSource;
  totals: TokenizeTotals;
}

/** The one pass over the dataset: read, tokenize into the collector, then check what was read. */
async function readDataset(
  plan: BuildPlan,
  tokenizer: LoadedTokenizer,
  collector: Collector,
  context: IngestContext,
  signal: AbortSignal,
): Promise<ReadDataset> {
  const records = new RecordSource(plan.source, {
    format: plan.format,
    requireLabel: plan.request.taskType === 'classification',
    textField: plan.uri.textField,
    labelField: plan.uri.labelField,
    signal,
  });
  const totals = await tokenize(plan, tokenizer, records, collector, context, signal);
  if (signal.aborted) {
    throw new AutomatError(ErrorCodes.CANCELLED, 'ingest cancelled', { cause: signal.reason });
  }
  records.assertUsable(plan.request.maxBadFraction);
  await plan.source.assertUnchanged();
  return { records, totals };
}

/** Keys the build by the content hash, then writes and publishes it (or keeps an equal one). */
async function publish(
  plan: BuildPlan,
  tokenizer: LoadedTokenizer,
  collector: Collector,
  staged: StagedShards,
  read: ReadDataset,
  context: IngestContext,
  log: Logger,
): Promise<BuildOutcome> {
  const { records, totals } = read;
  const { cache } = plan;
  const key = keyFor(plan, records.sha256);
  const report = records.report;
  const stats = {
    lines: report.lines,
    rows: report.records,
    bad_lines: report.badLines,
    tokens: totals.tokens,
    bytes: records.bytesRead,
  };
  const fingerprint = { identity: plan.source.identity, sha256: records.sha256 };
  const existing = await cache.lookup(key);
  if (existing !== null) {
    await cache.remember(fingerprint);
    log.info('same content already cached; keeping those shards', { key });
    return { ...existing, cacheHit: false, source: 'built', stats };
  }
  const splits = await writeSplits(plan, collector, staged.folder);
  const header = manifestHeader(plan, tokenizer, records, splits, collector);
  const written = await staged.publish(cache.dirOf(key), { ...header, key }, splits);
  const indexPath = await cache.remember(fingerprint);
  await mirror(context, key, written, fingerprint, indexPath, log);
  log.info('ingest finished', { ...stats, key, manifestPath: written.manifestPath });
  const { manifestPath, manifest } = written;
  const tokens = splits.tokens;
  return { manifestPath, manifest, cacheHit: false, source: 'built', stats: { ...stats, tokens } };
}

async function tokenize(
  plan: BuildPlan,
  tokenizer: LoadedTokenizer,
  records: RecordSource,
  collector: Collector,
  context: IngestContext,
  signal: AbortSignal,
): Promise<TokenizeTotals> {
  const { request } = plan;
  let tokens = 0;
  return tokenizeSource(records, {
    pool: context.pool,
    tokenizer,
    backend: request.tokenizerBackend,
    layout:
      collector instanceof ClassificationCollector
        ? { kind: 'padded', seqLen: request.seqLen, padId: tokenizer.padId }
        : { kind: 'ragged', eosId: tokenizer.eosId },
    signal,
    consume: async (output, labels) => {
      if (collector instanceof ClassificationCollector) await collector.add(output, labels);
      else await collector.add(output);
      for (const length of output.lengths) tokens += length;
      const report = records.report;
      context.onProgress?.({
        bytesRead: records.bytesRead,
        bytesTotal: plan.source.bytes,
        lines: report.lines,
        records: report.records,
        badLines: report.badLines,
        tokens,
      });
    },
  });
}

async function writeSplits(
  plan: BuildPlan,
  collector: Collector,
  folder: string,
): Promise<BuiltSplits> {
  const { seqLen, seed, valFraction } = plan.request;
  const splits =
    collector instanceof ClassificationCollector
      ? await collector.write(folder, seed, valFraction)
      : await collector.write(folder, seqLen + 1, seed, valFraction);
  assertNotEmpty(plan, 'train', splits.train);
  assertNotEmpty(plan, 'validation', splits.validation);
  return splits;
}

/** Best effort: a failed upload costs other executors a rebuild, never this trial its shards. */
async function mirror(
  context: IngestContext,
  key: string,
  written: { manifestPath: string; manifest: BuildOutcome['manifest'] },
  fingerprint: { identity: string; sha256: string },
  indexPath: string,
  log: Logger,
): Promise<void> {
  if (context.mirror === undefined) return;
  try {
    await context.mirror.push(key, dirname(written.manifestPath), written.manifest);
    await context.mirror.remember(fingerprint, indexPath);
  } catch (error) {
    log.warn('shards not mirrored to S3', { key, error: String(error) });
  }
}

function manifestHeader(
  plan: BuildPlan,
  tokenizer: LoadedTokenizer,
  records: RecordSource,
  splits: BuiltSplits,
  collector: Collector,
): Omit<ManifestHeader, 'key'> {
  const { request, uri, format, source } = plan;
  const report = records.report;
  const classification = request.taskType === 'classification';
  return {
    task_type: request.taskType,
    seq_len: classification ? request.seqLen : request.seqLen + 1,
    tokenizer: {
      ref: request.tokenizerRef,
      sha256: tokenizer.sha256,
      vocab_size: tokenizer.vocabSize,
      pad_id: tokenizer.padId,
    },
    dataset: {
      uri: request.datasetUri,
      sha256: records.sha256,
      rows: report.records,
      bad_lines: report.badLines,
      first_bad: report.firstBad,
      name: datasetName(source.name),
      version: records.sha256.slice(0, 12),
      format,
      gzip: records.gzip,
      bytes: records.bytesRead,
      schema: { text: uri.textField, label: classification ? uri.labelField : null },
    },
    labels: splits.labels,
    split: { seed: request.seed, val_fraction: request.valFraction },
    stats: {
      tokens: splits.tokens,
      truncated: collector instanceof ClassificationCollector ? collector.truncated : 0,
      backend: request.tokenizerBackend,
    },
  };
}

/** `s3://b/corpora/reviews.v2.csv.gz` → `reviews.v2`. */
function datasetName(name: string): string {
  return basename(name)
    .replace(/\.(gz|gzip)$/i, '')
    .replace(/\.[^.]+$/, '');
}

function assertNotEmpty(plan: BuildPlan, name: string, split: ShardSplit): void {
  if (split.rows > 0) return;
  const { request } = plan;
  const unit =
    request.taskType === 'classification' ? 'rows' : `blocks of ${request.seqLen + 1} tokens`;
  throw new AutomatError(
    ErrorCodes.DATASET_INVALID,
    `dataset ${plan.source.name}: the ${name} split would hold no ${unit} ` +
      `(val_fraction ${request.valFraction}); the dataset is too small`,
  );
}
