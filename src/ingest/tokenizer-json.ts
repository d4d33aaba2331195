/**
 * Facts read straight from a parsed tokenizer.json, without building a tokenizer: the main thread
 * needs the vocabulary size and the special ids for the manifest, and building llama2 natively
 * costs ~0.35 s that a cache hit must not pay.
 */
export interface TokenizerJsonFacts {
  /** Token text → id, model vocabulary and added tokens together (added tokens win). */
  vocab: Map<string, number>;
  /** BPE merges as pairs; empty for other models. */
  merges: Array<[string, string]>;
  /** `BPE`, `WordPiece`, `WordLevel` or `Unigram`. */
  modelType: string;
  /** The model's own unknown token, when it names one. */
  unkToken: string | undefined;
  /** BPE `byte_fallback`: `<0x00>`…`<0xFF>` then stand for bytes and are never merged. */
  byteFallback: boolean;
}

/** Reads the vocabulary of any of the four model types; throws a plain Error naming the gap. */
export function readTokenizerJson(json: Record<string, unknown>): TokenizerJsonFacts {
  const model = json.model as Record<string, unknown> | undefined;
  if (model === undefined || model === null || typeof model !== 'object') {
    throw new Error('it has no "model" object');
  }
  const vocab = modelVocab(model);
  for (const added of Array.isArray(json.added_tokens) ? json.added_tokens : []) {
    const { id, content } = added as { id?: unknown; content?: unknown };
    if (typeof id === 'number' && typeof content === 'string') vocab.set(content, id);
  }
  if (vocab.size === 0) throw new Error('its vocabulary is empty');
  return {
    vocab,
    merges: readMerges(model.merges),
    modelType: typeof model.type === 'string' ? model.type : 'BPE',
    unkToken: typeof model.unk_token === 'string' ? model.unk_token : undefined,
    byteFallback: model.byte_fallback === true,
  };
}

function modelVocab(model: Record<string, unknown>): Map<string, number> {
  const vocab = new Map<string, number>();
  const raw = model.vocab;
  if (Array.isArray(raw)) {
    // Unigram: `[piece, score]` pairs; a piece's id is its position.
    raw.forEach((entry: unknown, id) => {
      if (Array.isArray(entry) && typeof entry[0] === 'string') vocab.set(entry[0], id);
    });
    return vocab;
  }
  if (raw === null || typeof raw !== 'object') throw new Error('its model has no "vocab"');
  for (const [token, id] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof id === 'number') vocab.set(token, id);
  }
  return vocab;
}

/** tokenizer.json writes merges as `"a b"` strings or as `["a", "b"]` pairs. */
function readMerges(merges: unknown): Array<[string, string]> {
  if (!Array.isArray(merges)) return [];
  return merges.map((merge: unknown) => {
    const pair = typeof merge === 'string' ? merge.split(' ', 2) : (merge as unknown[]);
    return [String(pair[0]), String(pair[1] ?? '')];
  });
}
