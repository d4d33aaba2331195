import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
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

/** Line feed and carriage return bytes; UTF-8 never uses them inside a multi-byte character. */
const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into UTF-8 lines (`\n` or `\r\n`), gunzipping gzip input and tallying the
 * stored bytes. Memory holds one chunk and the current line, however large the file.
 *
 * Lines are found in the bytes and each is decoded on its own, which costs half what decoding
 * whole chunks and cutting the text did: the reading thread is the one feeding every ingest
 * thread. A line feed byte never occurs inside a UTF-8 character, so the text is the same.
 */
export async function* readLines(stream: Readable, tally: ByteTally): AsyncGenerator<Line> {
  // The bytes of a line that runs over chunk boundaries, joined once its end is found.
  const pieces: Buffer[] = [];
  let number = 0;
  for await (const chunk of gunzipped(tallied(stream, tally), tally)) {
    let start = 0;
    for (let end = chunk.indexOf(LF); end !== -1; end = chunk.indexOf(LF, start)) {
      number += 1;
      yield { number, text: decodeLine(joined(pieces, chunk.subarray(start, end))) };
      start = end + 1;
    }
    if (start < chunk.length) pieces.push(chunk.subarray(start));
  }
  if (pieces.length > 0) yield { number: number + 1, text: decodeLine(joined(pieces)) };
}

/** The pieces and `last` as one buffer; empties `pieces`. */
function joined(pieces: Buffer[], last?: Buffer): Buffer {
  if (last !== undefined) pieces.push(last);
  const bytes = pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
  pieces.length = 0;
  return bytes;
}

/** The line's text without a final carriage return. */
function decodeLine(bytes: Buffer): string {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
  return bytes.toString('utf8', 0, end);
}
