/**
 * Malformed and hostile TrialSpecs for the fault suite: broken JSON, wrong shapes, path escapes,
 * oversized fields, prototype-pollution keys. Every one must end in the dead-letter queue with a
 * reason; none may start a trial or stop the executor.
 */
export function hostileSpecs(root: string, count: number): Buffer[] {
  const base = {
    task_type: 'classification',
    tokenizer_ref: 'llama2',
    device_profile: 'cpu',
    seq_len: 64,
    embed_dim: 16,
    budget_seconds: 60,
    dataset_uri: 'examples/data/spam-assassin.jsonl',
    primary_metric: 'val_accuracy',
  };
  const variants: Array<(id: string) => unknown> = [
    () => '{"trial_id": ',
    () => '',
    () => '[1, 2, 3]',
    () => 'null',
    (id) => ({ ...base, trial_id: id, seq_len: 'abc' }),
    (id) => ({ ...base, trial_id: id, task_type: 'translation' }),
    (id) => ({ ...base, trial_id: id, dataset_uri: undefined }),
    (id) => ({ ...base, trial_id: id, dataset_uri: '../../../../etc/passwd' }),
    (id) => ({ ...base, trial_id: id, dataset_uri: 'file:///etc/shadow' }),
    (id) => ({ ...base, trial_id: id, tokenizer_ref: '/etc/passwd' }),
    (id) => ({ ...base, trial_id: `${id}.with.dots` }),
    (id) => ({ ...base, trial_id: id, seq_len: -5 }),
    (id) => ({ ...base, trial_id: id, hparams: { epochs: 1e9 } }),
    (id) => ({ ...base, trial_id: id, hparams: { shell: 'rm -rf /' } }),
    (id) => ({ ...base, trial_id: id, device_profile: 'tpu-v9' }),
    (id) => ({ ...base, trial_id: id, primary_metric: 'val_perplexity' }),
    (id) => ({ ...base, trial_id: id, dataset_uri: 'x'.repeat(100_000) }),
    (id) => `{"__proto__": {"polluted": true}, "trial_id": "${id}"}`,
    (id) => `${'['.repeat(5000)}"${id}"${']'.repeat(5000)}`,
  ];
  return Array.from({ length: count }, (_, i) => {
    const id = `${root}-bad${i}`;
    const value = (variants[i % variants.length] as (id: string) => unknown)(id);
    return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
  });
}
