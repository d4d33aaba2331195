/**
 * Trains the byte-level BPE tokenizer of the SOTU generation trial on the training split of its
 * dataset, and writes it as examples/tokenizers/sotu-bpe-1k/tokenizer.json. The recipe:
 *
 * 1. Read the dataset the trial ingests (examples/data/sotu.jsonl, from prepare-sotu: one
 *    address per line, no blank or bad lines, so line k is ingest's document k) and split its
 *    lines with the ingest's own function, split seed and the trial's val_fraction, so the
 *    held-out addresses play no part in the vocabulary.
 * 2. Train byte-level BPE (GPT-2 pre-tokenization, no prefix space) on the training addresses
 *    with the native `tokenizers` package. Its Node binding trains with the library's default
 *    settings only (30k target); BPE learns merges greedily, most frequent pair first, so
 *    stopping after the first merges is the same as training for a smaller vocabulary.
 * 3. Keep `<|endoftext|>` (id 0, the end-of-document mark ingest appends), the 256 byte symbols
 *    (so any text encodes), then the merged tokens in merge order up to --vocab ids in all.
 *
 * The result depends only on the dataset bytes, the spec and --vocab; --check rebuilds it and
 * fails if the committed file differs.
 *
 *   node dist/scripts/train-sotu-tokenizer.js [--data <jsonl>] [--spec <trial.json>]
 *        [--vocab 1024] [--out <tokenizer.json>] [--check]
 */
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BPE, Tokenizer, byteLevelAlphabet, byteLevelPreTokenizer } from 'tokenizers';
import { contracts } from '../src/contracts/index.js';
import { splitRows } from '../src/ingest/dataset-split.js';
import { resolveTrialSpec } from '../src/trial/resolve-trial-spec.js';

const EOS = '<|endoftext|>';

interface TrainedModel {
  vocab: Record<string, number>;
  merges: Array<[string, string] | string>;
  [field: string]: unknown;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: 'examples/data/sotu.jsonl' },
      spec: { type: 'string', default: 'examples/sotu.trial.json' },
      vocab: { type: 'string', default: '1024' },
      out: { type: 'string', default: 'examples/tokenizers/sotu-bpe-1k/tokenizer.json' },
      check: { type: 'boolean', default: false },
    },
  });
  const vocabSize = Number(values.vocab);
  if (!Number.isInteger(vocabSize) || vocabSize < 258) {
    throw new Error(`--vocab must be an integer of at least 258, got ${values.vocab}`);
  }
  const texts = await trainingTexts(resolve(values.data), resolve(values.spec));
  const out = resolve(values.out);
  const json = await formatted(await train(texts.train, vocabSize), out);
  console.log(
    `trained on ${texts.train.length} of ${texts.total} addresses ` +
      `(${texts.chars} characters); vocabulary ${vocabSize}`,
  );
  if (values.check) {
    const committed = await readFile(out, 'utf8').catch(() => '');
    if (committed === json) {
      console.log(`${out} matches a fresh build`);
      return 0;
    }
    console.error(`${out} differs from a fresh build; run without --check to rewrite it`);
    return 1;
  }
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, json, 'utf8');
  console.log(`wrote ${out}`);
  return 0;
}

/**
 * JSON as the repository's formatter writes it, so `npm run lint` accepts the committed file
 * and --check compares like with like. prettier is a dev dependency, as this script is a tool.
 */
async function formatted(value: object, path: string): Promise<string> {
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(path)) ?? {};
  return prettier.format(JSON.stringify(value), { ...options, parser: 'json' });
}

/** The texts of the training split exactly as ingest will split them for this spec. */
async function trainingTexts(dataPath: string, specPath: string) {
  const trial = resolveTrialSpec(contracts.trialSpec.parseJson(await readFile(specPath)));
  const lines = (await readFile(dataPath, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  const texts = lines.map((line, index) => {
    const text = (JSON.parse(line) as { text?: unknown }).text;
    if (typeof text !== 'string') throw new Error(`${dataPath} line ${index + 1} has no "text"`);
    return text;
  });
  const split = splitRows(new Int32Array(texts.length), trial.splitSeed, trial.valFraction);
  const train = [...split.train].sort((a, b) => a - b).map((row) => texts[row] as string);
  const chars = train.reduce((sum, text) => sum + text.length, 0);
  return { train, total: texts.length, chars };
}

async function train(texts: string[], vocabSize: number): Promise<object> {
  const dir = await mkdtemp(join(tmpdir(), 'automat0-bpe-'));
  try {
    const corpus = join(dir, 'train.txt');
    await writeFile(corpus, `${texts.join('\n')}\n`, 'utf8');
    const tokenizer = new Tokenizer(BPE.empty());
    tokenizer.setPreTokenizer(byteLevelPreTokenizer(false, true));
    tokenizer.train([corpus]);
    tokenizer.save(join(dir, 'full.json'), false);
    const full = JSON.parse(await readFile(join(dir, 'full.json'), 'utf8')) as {
      pre_tokenizer: unknown;
      model: TrainedModel;
    };
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [
        {
          id: 0,
          content: EOS,
          single_word: false,
          lstrip: false,
          rstrip: false,
          normalized: false,
          special: true,
        },
      ],
      normalizer: null,
      pre_tokenizer: full.pre_tokenizer,
      post_processor: null,
      decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      model: { ...full.model, ...truncate(full.model, vocabSize) },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The first merges of `model`, renumbered: EOS, the byte alphabet, then merged tokens. */
function truncate(model: TrainedModel, vocabSize: number): Pick<TrainedModel, 'vocab' | 'merges'> {
  const vocab: Record<string, number> = { [EOS]: 0 };
  let next = 1;
  for (const symbol of byteLevelAlphabet().sort()) {
    if (!Object.hasOwn(vocab, symbol)) vocab[symbol] = next++;
  }
  const merges: Array<[string, string]> = [];
  for (const merge of model.merges) {
    if (next >= vocabSize) break;
    const [left, right] =
      typeof merge === 'string' ? (merge.split(' ', 2) as [string, string]) : merge;
    merges.push([left, right]);
    if (!Object.hasOwn(vocab, left + right)) vocab[left + right] = next++;
  }
  if (next < vocabSize) {
    throw new Error(`the corpus yields only ${next} tokens; ask for a smaller --vocab`);
  }
  return { vocab, merges };
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
