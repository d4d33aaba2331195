/**
 * ChunkGatherer: the write gathering under the token spill and the shard writer, on a real file.
 */
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChunkGatherer, writeFully } from '../src/ingest/chunk-gatherer.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'automat-gatherer-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ChunkGatherer', () => {
  it('writes pieces across chunk boundaries in order, one write per full chunk', async () => {
    const path = join(dir, 'out.i32');
    const handle = await open(path, 'wx');
    const writes: number[] = [];
    const gatherer = new ChunkGatherer(16, async (chunk) => {
      writes.push(chunk.length);
      await writeFully(handle, chunk);
    });
    // 3 + 5 + 1 ids of 4 bytes: 36 bytes, two full chunks of 16 and 4 bytes left.
    const pieces = [Int32Array.of(1, 2, 3), Int32Array.of(4, 5, 6, 7, 8), Int32Array.of(9)];
    for (const piece of pieces) {
      await gatherer.append(piece);
      piece.fill(-1); // the caller may reuse its ids at once
    }
    expect(writes).toEqual([16, 16]);
    expect(gatherer.pending).toBe(4);
    await gatherer.flush();
    await gatherer.flush();
    await handle.close();

    expect(writes).toEqual([16, 16, 4]);
    const bytes = await readFile(path);
    expect([...new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)]).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
  });
});
