import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** One line of a dataset file, without its line break. */
export interface Line {
  /** 1-based. */
  number: number;
  /** The line's text; empty for an overlong line. */
  text: string;
  /** Set when the line ran past the byte limit: its length in bytes. Its text was dropped. */
  overlongBytes?: number;
}

/**
 * Default bound on one line's bytes. A line is held whole until its end, so without a bound a
 * file with no line breaks (a binary blob, a minified dump) would be read into memory entire.
 */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

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
 * stored bytes. Memory holds one chunk and the current line, however large the file: a line longer
 * than `maxLineBytes` is dropped as its bytes arrive and yielded with `overlongBytes` set.
 *
 * Lines are found in the bytes and each is decoded on its own, which costs half what decoding
 * whole chunks and cutting the text did: the reading thread is the one feeding every ingest
 * thread. A line feed byte never occurs inside a UTF-8 character, so the text is the same.
 */
export async function* readLines(
  stream: Readable,
  tally: ByteTally,
  maxLineBytes = MAX_LINE_BYTES,
): AsyncGenerator<Line> {
  const line = new LineBuffer(maxLineBytes);
  let number = 0;
  for await (const chunk of gunzipped(tallied(stream, tally), tally)) {
    let start = 0;
    for (let end = chunk.indexOf(LF); end !== -1; end = chunk.indexOf(LF, start)) {
      number += 1;
      yield line.end(number, chunk.subarray(start, end));
      start = end + 1;
    }
    if (start < chunk.length) line.add(chunk.subarray(start));
  }
  if (line.pending) yield line.end(number + 1, Buffer.alloc(0));
}

/** The bytes of a line that runs over chunk boundaries, joined once its end is found. */
class LineBuffer {
  readonly #limit: number;
  readonly #pieces: Buffer[] = [];
  #bytes = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Whether bytes of an unfinished line are waiting. */
  get pending(): boolean {
    return this.#bytes > 0;
  }

  add(piece: Buffer): void {
    this.#bytes += piece.length;
    // Past the limit only the count is kept.
    if (this.#bytes > this.#limit) this.#pieces.length = 0;
    else this.#pieces.push(piece);
  }

  /** The line made of what was added and `last`; starts the next line. */
  end(number: number, last: Buffer): Line {
    this.add(last);
    const bytes = this.#bytes;
    const joined =
      this.#pieces.length === 1 ? (this.#pieces[0] as Buffer) : Buffer.concat(this.#pieces);
    this.#pieces.length = 0;
    this.#bytes = 0;
    if (bytes > this.#limit) return { number, text: '', overlongBytes: bytes };
    return { number, text: decodeLine(joined) };
  }
}

/** The line's text without a final carriage return. */
function decodeLine(bytes: Buffer): string {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
  return bytes.toString('utf8', 0, end);
}
