import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';

/** One line of a dataset file, without its line break. */
export interface Line {
  /** 1-based. */
  number: number;
  text: string;
}

/** Counts and hashes the stored (possibly compressed) bytes as they pass. */
export class ByteTally {
  bytes = 0;
  /** Set once the first bytes turn out to be gzip. */
  gzip = false;
  readonly #hash: Hash = createHash('sha256');
  #digest: string | undefined;

  add(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.#hash.update(chunk);
  }

  /** sha256 of every byte seen; call once the stream has ended. */
  sha256(): string {
    this.#digest ??= this.#hash.digest('hex');
    return this.#digest;
  }
}

async function* tallied(stream: Readable, tally: ByteTally): AsyncGenerator<Buffer> {
  for await (const chunk of stream) {
    tally.add(chunk as Buffer);
    yield chunk as Buffer;
  }
}

/** Passes bytes through, gunzipping them when they start with the gzip magic number. */
async function* gunzipped(
  chunks: AsyncGenerator<Buffer>,
  tally: ByteTally,
): AsyncGenerator<Buffer> {
  const first = await chunks.next();
  if (first.done === true) return;
  const head = first.value;
  if (head.length < 2 || head[0] !== 0x1f || head[1] !== 0x8b) {
    yield head;
    yield* chunks;
    return;
  }
  tally.gzip = true;
  async function* all(): AsyncGenerator<Buffer> {
    yield head;
    yield* chunks;
  }
  const gunzip = Readable.from(all()).pipe(createGunzip({ chunkSize: 1 << 20 }));
  for await (const chunk of gunzip) yield chunk as Buffer;
}

/**
 * Splits a byte stream into UTF-8 lines (`\n` or `\r\n`), gunzipping gzip input and tallying the
 * stored bytes. Memory holds one chunk and the current line, however large the file.
 */
export async function* readLines(stream: Readable, tally: ByteTally): AsyncGenerator<Line> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let number = 0;
  for await (const chunk of gunzipped(tallied(stream, tally), tally)) {
    const text = pending + decoder.write(chunk);
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      number += 1;
      yield { number, text: stripCr(text.slice(start, end)) };
      start = end + 1;
    }
    pending = text.slice(start);
  }
  const rest = pending + decoder.end();
  if (rest !== '') yield { number: number + 1, text: stripCr(rest) };
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
