/** Longest text kept by default; a parser's message quotes the line, which may be huge. */
const MAX_CHARS = 200;

/**
 * `text` (a bad line's reason, a header's column names, a planner's cancel reason) with control
 * characters, replacement characters (undecodable bytes) and other invisible code points written
 * as `\uXXXX`, and cut to `maxChars`: a binary file's bytes or a planner's escape sequences would
 * otherwise reach errors, terminals and logs.
 */
export function printable(text: string, maxChars = MAX_CHARS): string {
  const escaped = escapeInvisible(text);
  return escaped.length > maxChars ? `${escaped.slice(0, maxChars - 3)}...` : escaped;
}

/**
 * `text` with control characters, zero-width and direction-changing marks (U+202E would show
 * `bad\u202egnp` as `badpng`), line separators, byte order marks and replacement characters
 * written as `\uXXXX`.
 */
export function escapeInvisible(text: string): string {
  return text.replace(
    // Matching control characters is the point here.
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\ufffd]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
