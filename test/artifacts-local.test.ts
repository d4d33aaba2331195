import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkpointKeyPrefix } from '../src/artifacts/artifact-key.js';
import { LocalArtifactStore } from '../src/artifacts/local-artifact-store.js';
import { ErrorCodes } from '../src/errors/index.js';

describe('LocalArtifactStore', () => {
  let work: string;
  let store: LocalArtifactStore;

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'automat-artifacts-'));
    store = new LocalArtifactStore({ root: join(work, 'store'), prefix: 'checkpoints' });
    await mkdir(join(work, 'ckpt', 'weights'), { recursive: true });
    await writeFile(join(work, 'ckpt', 'model.json'), '{"layers":3}');
    await writeFile(join(work, 'ckpt', 'weights', 'group1.bin'), Buffer.alloc(1000, 1));
  });

  afterEach(async () => {
    await store.close();
    await rm(work, { recursive: true, force: true });
  });

  it('round-trips a file', async () => {
    const put = await store.putFile('t-1/1/epoch-1/model.json', join(work, 'ckpt', 'model.json'));
    expect(put).toEqual({
      uri: expect.stringMatching(/^file:\/\/.*\/store\/checkpoints\/t-1\/1\/epoch-1\/model\.json$/),
      bytes: 12,
    });
    expect(await store.head(put.uri)).toEqual({ bytes: 12 });
    const copy = join(work, 'back', 'model.json');
    await store.getFile(put.uri, copy);
    expect(await readFile(copy, 'utf8')).toBe('{"layers":3}');
  });

  it('uploads a checkpoint folder under <prefix>/<trial>/<attempt>/epoch-<n>/', async () => {
    const put = await store.putDirectory(checkpointKeyPrefix('t-1', 2, 3), join(work, 'ckpt'));
    expect(put.files).toBe(2);
    expect(put.bytes).toBe(1012);
    expect(put.uri).toMatch(/\/store\/checkpoints\/t-1\/2\/epoch-3\/$/);
    expect(await store.head(put.uri)).toEqual({ bytes: 1012 });

    const weights = `${put.uri}weights/group1.bin`;
    expect(fileURLToPath(weights)).toContain(join('epoch-3', 'weights', 'group1.bin'));
    const copy = join(work, 'group1.bin');
    await store.getFile(weights, copy);
    expect((await readFile(copy)).equals(Buffer.alloc(1000, 1))).toBe(true);
  });

  it('answers undefined for a missing key and ARTIFACT_NOT_FOUND on download', async () => {
    const missing = (await store.putFile('a/b', join(work, 'ckpt', 'model.json'))).uri + '-nope';
    expect(await store.head(missing)).toBeUndefined();
    await expect(store.getFile(missing, join(work, 'x'))).rejects.toMatchObject({
      code: ErrorCodes.ARTIFACT_NOT_FOUND,
    });
  });

  it('refuses keys that would leave its folder', async () => {
    await expect(store.putFile('../escape', join(work, 'ckpt', 'model.json'))).rejects.toThrow(
      /key must be/,
    );
  });

  it('closes idempotently', async () => {
    const first = store.close();
    expect(store.close()).toBe(first);
    await first;
  });
});
