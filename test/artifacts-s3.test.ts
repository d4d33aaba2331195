import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkpointKeyPrefix } from '../src/artifacts/artifact-key.js';
import { S3ArtifactStore } from '../src/artifacts/s3-artifact-store.js';
import { ErrorCodes } from '../src/errors/index.js';
import { silentLogger } from '../src/log/logger.js';
import { deleteS3Prefix, loadS3Env, s3TestClient, type S3TestEnv } from './support/s3-env.js';

describe('S3ArtifactStore against the local S3 server', () => {
  let env: S3TestEnv;
  let prefix: string;
  let work: string;
  let store: S3ArtifactStore;

  beforeEach(async () => {
    env = loadS3Env();
    prefix = `test/${randomUUID()}`;
    store = new S3ArtifactStore({ ...env, prefix, logger: silentLogger });
    work = await mkdtemp(join(tmpdir(), 'automat-s3-'));
    await mkdir(join(work, 'ckpt', 'weights'), { recursive: true });
    await writeFile(join(work, 'ckpt', 'model.json'), '{"layers":3}');
    await writeFile(join(work, 'ckpt', 'weights', 'group1.bin'), Buffer.alloc(300_000, 7));
  });

  afterEach(async () => {
    // Guarded: when beforeEach failed (no S3 server), report that, not a TypeError from here.
    await store?.close();
    if (env) await deleteS3Prefix(env, `${prefix}/`);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('round-trips a file through putFile, head and getFile', async () => {
    const put = await store.putFile('t-1/1/epoch-1/model.json', join(work, 'ckpt', 'model.json'));
    expect(put).toEqual({
      uri: `s3://${env.bucket}/${prefix}/t-1/1/epoch-1/model.json`,
      bytes: 12,
    });
    expect(await store.head(put.uri)).toEqual({ bytes: 12 });
    const copy = join(work, 'back', 'model.json');
    await store.getFile(put.uri, copy);
    expect(await readFile(copy, 'utf8')).toBe('{"layers":3}');
  });

  it('uploads a checkpoint folder under <prefix>/<trial>/<attempt>/epoch-<n>/', async () => {
    const put = await store.putDirectory(checkpointKeyPrefix('t-1', 2, 3), join(work, 'ckpt'));
    expect(put).toEqual({
      uri: `s3://${env.bucket}/${prefix}/t-1/2/epoch-3/`,
      bytes: 300_012,
      files: 2,
    });
    expect(await store.head(put.uri)).toEqual({ bytes: 300_012 });

    const client = s3TestClient(env);
    const key = `${prefix}/t-1/2/epoch-3/weights/group1.bin`;
    const object = await client.send(new GetObjectCommand({ Bucket: env.bucket, Key: key }));
    expect(object.ContentLength).toBe(300_000);
    await object.Body?.transformToByteArray();
    client.destroy();

    const copy = join(work, 'group1.bin');
    await store.getFile(`${put.uri}weights/group1.bin`, copy);
    expect((await readFile(copy)).equals(Buffer.alloc(300_000, 7))).toBe(true);
  });

  it('answers head of a missing key with undefined and getFile with ARTIFACT_NOT_FOUND', async () => {
    const missing = `s3://${env.bucket}/${prefix}/nothing/here.bin`;
    expect(await store.head(missing)).toBeUndefined();
    expect(await store.head(`s3://${env.bucket}/${prefix}/nothing/`)).toBeUndefined();
    await expect(store.getFile(missing, join(work, 'x'))).rejects.toMatchObject({
      code: ErrorCodes.ARTIFACT_NOT_FOUND,
    });
  });

  it('creates its bucket when missing', async () => {
    const bucket = `automat-test-${randomUUID().slice(0, 8)}`;
    const other = new S3ArtifactStore({ ...env, bucket, logger: silentLogger });
    try {
      const put = await other.putFile('a.json', join(work, 'ckpt', 'model.json'));
      expect(put.uri).toBe(`s3://${bucket}/a.json`);
      expect(await other.head(put.uri)).toEqual({ bytes: 12 });
    } finally {
      await deleteS3Prefix({ ...env, bucket }, '');
      await other.close();
      const { DeleteBucketCommand } = await import('@aws-sdk/client-s3');
      const client = s3TestClient(env);
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      client.destroy();
    }
  });

  it('reports refused credentials as CONFIG_INVALID and a dead endpoint as unavailable', async () => {
    const wrong = new S3ArtifactStore({
      ...env,
      credentials: { accessKeyId: env.credentials.accessKeyId, secretAccessKey: 'wrong' },
      logger: silentLogger,
    });
    await expect(wrong.putFile('x', join(work, 'ckpt', 'model.json'))).rejects.toMatchObject({
      code: ErrorCodes.CONFIG_INVALID,
    });
    await wrong.close();

    const dead = new S3ArtifactStore({
      ...env,
      endpoint: 'http://127.0.0.1:7489',
      logger: silentLogger,
    });
    await expect(dead.putFile('x', join(work, 'ckpt', 'model.json'))).rejects.toMatchObject({
      code: ErrorCodes.ARTIFACT_UNAVAILABLE,
    });
    await dead.close();
  });
});
