import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ByteTally, readLines, type Line } from '../src/ingest/sources/byte-lines.js';

/** Every line of `bytes` fed in chunks of `sizes` (cycled), as readLines yields them. */
async function linesOf(bytes: Buffer, sizes: number[]): Promise<Line[]> {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i += 1) {
    const size = sizes[i % sizes.length] as number;
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  const lines: Line[] = [];
  for await (const line of readLines(Readable.from(chunks), new ByteTally())) lines.push(line);
  return lines;
}

/** What the lines must be: the whole file decoded at once, cut at `\n`, less a final `\r`. */
function expected(bytes: Buffer): Line[] {
  const parts = bytes.toString('utf8').split('\n');
  if (parts.at(-1) === '') parts.pop();
  return parts.map((text, i) => ({ number: i + 1, text: text.replace(/\r$/, '') }));
}

describe('readLines', () => {
  it('cuts lines in the bytes, whatever the chunks, even through multi-byte characters', async () => {
    const text = 'café résumé 😀\r\nsecond line\n\nfourth — 中文\r\nlast without end';
    const bytes = Buffer.from(text, 'utf8');

    for (const sizes of [[1], [2, 3], [7], [1 << 20]]) {
      expect(await linesOf(bytes, sizes)).toEqual(expected(bytes));
    }
  });

  it('decodes invalid UTF-8 and a byte order mark as decoding the whole file would', async () => {
    const bytes = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('a\n'),
      Buffer.from([0xe2, 0x82, 0x0a, 0xff, 0xc3, 0x0d, 0x0a, 0xf0, 0x9f, 0x98]),
    ]);

    for (const sizes of [[1], [2], [3, 1], [64]]) {
      expect(await linesOf(bytes, sizes)).toEqual(expected(bytes));
    }
  });

  it('joins a line longer than many chunks once', async () => {
    const long = 'x'.repeat(100_000);
    const bytes = Buffer.from(`${long}\n${long}y\n`);

    const lines = await linesOf(bytes, [4096]);

    expect(lines.map((l) => l.text.length)).toEqual([100_000, 100_001]);
  });

  it('drops a line past the byte limit as it arrives, reporting its length', async () => {
    const bytes = Buffer.from(`short\n${'y'.repeat(50)}\r\nafter\n${'z'.repeat(11)}`);
    const lines: Line[] = [];
    for await (const line of readLines(
      Readable.from([bytes.subarray(0, 9), bytes.subarray(9)]),
      new ByteTally(),
      10,
    )) {
      lines.push(line);
    }

    expect(lines).toEqual([
      { number: 1, text: 'short' },
      { number: 2, text: '', overlongBytes: 51 },
      { number: 3, text: 'after' },
      { number: 4, text: '', overlongBytes: 11 },
    ]);
  });
});
