import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { emailToText, parseEmail } from '../src/ingest/email-text.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/ingest/${name}`, import.meta.url), 'utf8');

describe('emailToText', () => {
  it('keeps the decoded subject and the text parts of a nested multipart message', () => {
    const email = parseEmail(fixture('multipart.eml'));

    expect(email.subject).toBe('Café menü for Friday');
    // The plain alternative wins over the HTML one; the GIF attachment is dropped.
    expect(email.body).toBe(
      'The soup costs 5€ and the coffee is free.\n\nAttached is the résumé you asked for.',
    );
  });

  it('strips tags, scripts, styles and comments from an HTML-only message', () => {
    const text = emailToText(fixture('html-only.eml'));

    expect(text).toBe('Lowest rates &amp; more\n\nSave 75%\nClick here & win!');
  });

  it('reads a message without MIME headers as plain text', () => {
    const text = emailToText('Subject: hi\nFrom: a@b.c\n\nline one\n\n\n\nline   two\n');

    expect(text).toBe('hi\n\nline one\n\nline two');
  });
});
