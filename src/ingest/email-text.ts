import { decodeCharset } from './decode-charset.js';

/**
 * Reduces a raw RFC 822 message to its subject and readable body text. Deliberately simple: it
 * understands multipart bodies, quoted-printable and base64 text parts, RFC 2047 subjects and
 * crude HTML stripping; attachments and other non-text parts are dropped.
 */

/** The subject, a blank line, then the body text; either may be empty. */
export function emailToText(raw: string): string {
  const email = parseEmail(raw);
  return [email.subject, email.body].filter((part) => part !== '').join('\n\n');
}

export interface EmailText {
  subject: string;
  body: string;
}

export function parseEmail(raw: string): EmailText {
  const entity = splitEntity(raw.replace(/\r\n?/g, '\n'));
  const subject = tidy(decodeEncodedWords(entity.headers.get('subject') ?? ''));
  return { subject, body: tidy(entityText(entity, 0)) };
}

interface Entity {
  /** Lower-cased header name → unfolded value of its first occurrence. */
  headers: Map<string, string>;
  body: string;
}

// Messages nest (multipart inside multipart, forwarded messages); a limit stops hostile input.
const MAX_DEPTH = 8;

function splitEntity(text: string): Entity {
  const end = text.startsWith('\n') ? 0 : text.indexOf('\n\n');
  const head = end === -1 ? text : text.slice(0, end);
  const body = end === -1 ? '' : text.slice(end + (end === 0 ? 1 : 2));
  const headers = new Map<string, string>();
  // Continuation lines start with whitespace and belong to the header above them.
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const match = /^([!-9;-~]+):[ \t]*(.*)$/.exec(line);
    if (match === null) continue; // e.g. the mbox "From sender date" line
    const name = (match[1] as string).toLowerCase();
    if (!headers.has(name)) headers.set(name, (match[2] as string).trim());
  }
  return { headers, body };
}

interface ContentType {
  type: string;
  params: Map<string, string>;
}

function contentType(headers: Map<string, string>): ContentType {
  const value = headers.get('content-type') ?? 'text/plain';
  const type = (/^\s*([^;\s]+)/.exec(value)?.[1] ?? 'text/plain').toLowerCase();
  const params = new Map<string, string>();
  for (const match of value.matchAll(/;\s*([^=\s;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/g)) {
    const raw = match[2] as string;
    const unquoted = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    params.set((match[1] as string).toLowerCase(), unquoted);
  }
  return { type, params };
}

function entityText(entity: Entity, depth: number): string {
  if (depth > MAX_DEPTH) return '';
  const { type, params } = contentType(entity.headers);
  const boundary = params.get('boundary');
  if (type.startsWith('multipart/') && boundary !== undefined && boundary !== '') {
    return multipartText(type, splitMultipart(entity.body, boundary), depth);
  }
  if (type === 'message/rfc822') {
    const inner = parseEmail(entity.body);
    return [inner.subject, inner.body].filter((part) => part !== '').join('\n\n');
  }
  if (!type.startsWith('text/') && !type.startsWith('multipart/')) return '';
  const encoding = (entity.headers.get('content-transfer-encoding') ?? '').trim().toLowerCase();
  const text = decodeBody(entity.body, encoding, params.get('charset'));
  // Plenty of spam labels HTML as text/plain; a body that opens with a tag is treated as HTML.
  const html = type === 'text/html' || /^\s*<(!doctype|html|head|body|table|font)\b/i.test(text);
  return html ? stripHtml(text) : text;
}

function multipartText(type: string, parts: Entity[], depth: number): string {
  const texts = parts.map((part) => ({ part, text: tidy(entityText(part, depth + 1)) }));
  if (type === 'multipart/alternative') {
    // Alternatives say the same thing twice; prefer the plain one, else the first with text.
    const plain = texts.find((t) => contentType(t.part.headers).type === 'text/plain' && t.text);
    return plain?.text ?? texts.find((t) => t.text !== '')?.text ?? '';
  }
  return texts
    .map((t) => t.text)
    .filter((text) => text !== '')
    .join('\n\n');
}

function splitMultipart(body: string, boundary: string): Entity[] {
  const delimiter = `--${boundary}`;
  const parts: Entity[] = [];
  let current: string[] | null = null; // null until the first delimiter: that is the preamble
  for (const line of body.split('\n')) {
    const trimmed = line.trimEnd();
    if (trimmed === delimiter || trimmed === `${delimiter}--`) {
      if (current !== null) parts.push(splitEntity(current.join('\n')));
      if (trimmed !== delimiter) return parts;
      current = [];
    } else {
      current?.push(line);
    }
  }
  // A missing closing delimiter is common in spam; keep the last part anyway.
  if (current !== null) parts.push(splitEntity(current.join('\n')));
  return parts;
}

function decodeBody(body: string, encoding: string, charset: string | undefined): string {
  if (encoding === 'base64') {
    return decodeCharset(Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64'), charset);
  }
  if (encoding === 'quoted-printable') return decodeCharset(quotedPrintableBytes(body), charset);
  return body; // 7bit, 8bit, binary: the corpus already holds these as text
}

function quotedPrintableBytes(text: string): Buffer {
  const unfolded = text.replace(/=[ \t]*\n/g, ''); // "=" at a line end is a soft break
  const bytes: number[] = [];
  for (let i = 0; i < unfolded.length; i += 1) {
    const hex = unfolded[i] === '=' ? unfolded.slice(i + 1, i + 3) : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      // Literal text should be ASCII; anything wider is kept as its UTF-8 bytes.
      const point = unfolded.codePointAt(i) as number;
      if (point < 0x80) bytes.push(point);
      else bytes.push(...Buffer.from(String.fromCodePoint(point), 'utf8'));
      if (point > 0xffff) i += 1;
    }
  }
  return Buffer.from(bytes);
}

/** RFC 2047 `=?charset?B|Q?text?=` words, as found in Subject lines. */
function decodeEncodedWords(value: string): string {
  const word = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;
  const joined = value.replace(/(\?=)\s+(=\?)/g, '$1$2'); // space between two words is dropped
  return joined.replace(word, (_, charset: string, kind: string, text: string) => {
    const bytes =
      kind.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64')
        : quotedPrintableBytes(text.replace(/_/g, ' '));
    return decodeCharset(bytes, charset);
  });
}

const ENTITIES: Readonly<Record<string, string>> = {
  nbsp: ' ',
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  copy: '©',
  reg: '®',
};

function stripHtml(html: string): string {
  return html
    .replace(/<(script|style|head|title)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(br|p|div|tr|li|h[1-6]|table|blockquote)\b[^>]*>/gi, '\n')
    .replace(/<\/?[a-z!][^>]*>/gi, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
      if (name.startsWith('#')) {
        const code = /^#x/i.test(name) ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[name.toLowerCase()] ?? whole;
    });
}

/** Collapses runs of spaces, trims lines and keeps at most one blank line in a row. */
function tidy(text: string): string {
  return text
    .replace(/[ \t\f\v\u00a0]+/g, ' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
