import { TextDecoder } from 'node:util';

/**
 * Bytes → text for a MIME charset label. Unknown labels fall back to latin1, which never fails
 * and keeps ASCII intact (misspelt charsets are common in spam).
 */
export function decodeCharset(bytes: Uint8Array, charset: string | undefined): string {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset?.trim() || 'utf-8');
  } catch {
    return Buffer.from(bytes).toString('latin1');
  }
  // Node ≥ 20.18.3 decodes windows-1252 (and latin1, us-ascii, which the Encoding Standard maps to
  // it) as plain latin1, turning smart quotes and € into control characters:
  // https://github.com/nodejs/node/issues/60888. Map 0x80–0x9F ourselves.
  if (decoder.encoding === 'windows-1252') return decodeWindows1252(bytes);
  return decoder.decode(bytes);
}

/** Code points of windows-1252 bytes 0x80–0x9F; the five unassigned bytes map to themselves. */
const HIGH_CONTROLS = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152,
  0x8d, 0x17d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122,
  0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

function decodeWindows1252(bytes: Uint8Array): string {
  return Buffer.from(bytes)
    .toString('latin1')
    .replace(/[\u0080-\u009f]/g, (c) =>
      String.fromCodePoint(HIGH_CONTROLS[c.charCodeAt(0) - 0x80] as number),
    );
}
