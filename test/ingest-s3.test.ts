import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Config } from '../src/config/config.js';
import { ErrorCodes } from '../src/errors/index.js';
import { ShardService } from '../src/executor/shard-service.js';
import { resolveTokenizerRef } from '../src/ingest/tokenizer-registry.js';
import { readShards } from '../src/ingest/shard-reader.js';
import { silentLogger } from '../src/log/logger.js';
import { deleteS3Prefix, loadS3Env, s3TestClient, type S3TestEnv } from './support/s3-env.js';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/ingest/${name}`, import.meta.url));

let env: S3TestEnv;
let client: S3Client;
let prefix: string;
let work: string;
let config: S3Config;
const services: ShardService[] = [];

async function put(key: string, body: Buffer): Promise<string> {
  await client.send(
    new PutObjectCommand({ Bucket: env.bucket, Key: `${prefix}/${key}`, Body: body }),
  );
  return `s3://${env.bucket}/${prefix}/${key}`;
}

function service(cacheName: string): ShardService {
  const created = new ShardService({
    cacheDir: join(work, cacheName),
    threads: 1,
    s3: config,
    logger: silentLogger,
  });
  services.push(created);
  return created;
}

beforeAll(async () => {
  env = loadS3Env();
  client = s3TestClient(env);
  await client.send(new CreateBucketCommand({ Bucket: env.bucket })).catch(() => undefined);
  prefix = `test-ingest-${randomBytes(4).toString('hex')}`;
  work = await mkdtemp(join(tmpdir(), 'automat-ingest-s3-'));
  const { endpoint, region, credentials, bucket } = env;
  config = { endpoint, region, ...credentials, bucket, prefix: `${prefix}/cache` };
});

afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
  client.destroy();
  await deleteS3Prefix(env, `${prefix}/`);
  await rm(work, { recursive: true, force: true });
});

describe('S3 sources and the S3 shard cache', () => {
  it('reads a gzip CSV dataset and a tokenizer from S3, then serves another cache from S3', async () => {
    const data = await put('data/reviews.csv.gz', gzipSync(await readFile(fixture('reviews.csv'))));
    const tokenizer = await put(
      'tokenizers/llama2/tokenizer.json',
      await readFile(resolveTokenizerRef('llama2').tokenizerPath),
    );
    const request = {
      datasetUri: `${data}#text=body&label=stars`,
      tokenizerRef: tokenizer,
      seqLen: 16,
      taskType: 'classification' as const,
      maxBadFraction: 0.25,
    };

    const built = await service('cache-a').prepare(request);
    const fromS3 = await service('cache-b').prepare(request);
    const again = await service('cache-b').prepare(request);

    expect(built).toMatchObject({ source: 'built', cacheHit: false });
    expect(built.manifest.dataset).toMatchObject({ rows: 8, format: 'csv', gzip: true });
    expect(fromS3).toMatchObject({ source: 's3', cacheHit: true });
    expect(fromS3.manifest.splits).toEqual(built.manifest.splits);
    expect(fromS3.manifestPath).toContain(join(work, 'cache-b'));
    expect(again).toMatchObject({ source: 'local', cacheHit: true });
    await expect(readShards(fromS3.manifestPath)).resolves.toBeDefined();
  });

  it('names a missing S3 dataset and a missing S3 tokenizer', async () => {
    const shards = service('cache-c');
    const missing = `s3://${env.bucket}/${prefix}/data/nothing.jsonl`;

    await expect(
      shards.prepare({
        datasetUri: missing,
        tokenizerRef: 'llama2',
        seqLen: 8,
        taskType: 'generation',
      }),
    ).rejects.toMatchObject({
      code: ErrorCodes.DATASET_NOT_FOUND,
      message: expect.stringContaining(`dataset_uri "${missing}": no such object`),
    });
    const tokenizer = `s3://${env.bucket}/${prefix}/tokenizers/none/tokenizer.json`;
    await expect(
      shards.prepare({
        datasetUri: fixture('generation.jsonl'),
        tokenizerRef: tokenizer,
        seqLen: 8,
        taskType: 'generation',
      }),
    ).rejects.toMatchObject({
      code: ErrorCodes.TOKENIZER_INVALID,
      message: expect.stringContaining('no object at'),
    });
  });
});
