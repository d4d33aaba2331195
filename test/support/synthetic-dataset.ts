import { writeFile } from 'node:fs/promises';

/**
 * Writes a small, learnable two-class JSON Lines dataset: each line mixes neutral words with a
 * few words typical of its class. Real text, tokenized by the real tokenizer; the model must
 * still learn which words matter. Deterministic for a given seed.
 */
export async function writeSyntheticDataset(
  path: string,
  options: { rows: number; wordsPerLine?: number; seed?: number },
): Promise<void> {
  const neutral = 'the a of to and in for on with as at by from this that is was be it or'.split(
    ' ',
  );
  const spam = 'winner cash prize free offer money credit urgent click bonus'.split(' ');
  const ham = 'meeting agenda project review notes schedule team report draft lunch'.split(' ');
  let state = options.seed ?? 7;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const pick = (words: string[]) => words[Math.floor(random() * words.length)] as string;

  const lines: string[] = [];
  for (let i = 0; i < options.rows; i += 1) {
    const label = i % 2 === 0 ? 'spam' : 'ham';
    const marked = label === 'spam' ? spam : ham;
    const words = Array.from({ length: options.wordsPerLine ?? 12 }, (_, j) =>
      j % 4 === 0 ? pick(marked) : pick(neutral),
    );
    lines.push(JSON.stringify({ text: words.join(' '), label }));
  }
  await writeFile(path, `${lines.join('\n')}\n`);
}
