/** A checkpoint the executor has uploaded and recorded. */
export interface LedgerEntry {
  epoch: number;
  attempt: number;
  /** The folder the worker wrote, on this machine. */
  localPath: string;
  /** The uploaded folder, ending in `/`. */
  uri: string;
  /** Paths of its files relative to the folder, for a download. */
  files: readonly string[];
}

/**
 * The checkpoints of one trial by epoch. An epoch trained again by a later attempt replaces the
 * earlier entry; a retry that resumes from epoch k forgets the entries after k, which the
 * policies forget too.
 */
export class CheckpointLedger {
  readonly #byEpoch = new Map<number, LedgerEntry>();

  record(entry: LedgerEntry): void {
    this.#byEpoch.set(entry.epoch, entry);
  }

  uriFor(epoch: number): string | null {
    return this.#byEpoch.get(epoch)?.uri ?? null;
  }

  /** The checkpoint of the latest epoch, which a retry resumes from. */
  latest(): LedgerEntry | undefined {
    let latest: LedgerEntry | undefined;
    for (const entry of this.#byEpoch.values()) {
      if (!latest || entry.epoch > latest.epoch) latest = entry;
    }
    return latest;
  }

  forgetAfter(epoch: number): void {
    for (const key of [...this.#byEpoch.keys()]) if (key > epoch) this.#byEpoch.delete(key);
  }
}
