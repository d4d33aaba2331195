/**
 * Where checkpoints go. The executor uploads each epoch's checkpoint folder with
 * `putDirectory(checkpointKeyPrefix(trialId, attempt, epoch), dir)`; a store puts its own prefix
 * in front, so objects land at
 *
 *     <prefix>/<trial_id>/<attempt>/epoch-<n>/<file>
 *
 * e.g. `s3://automat0/checkpoints/t-42/1/epoch-3/model.json`. Implementations:
 * {@link S3ArtifactStore} for `serve`, {@link LocalArtifactStore} (a folder) for `run`.
 *
 * URIs name what they point at: a file URI (`s3://bucket/key`, `file:///abs/path`) or, with a
 * trailing `/`, a folder of files as `putDirectory` returns it.
 */
export interface ArtifactStore {
  /** Uploads one file under `key` (relative to the store's prefix). */
  putFile(key: string, localPath: string): Promise<{ uri: string; bytes: number }>;
  /** Uploads every file below `localDir`, keeping relative paths, under `keyPrefix`. */
  putDirectory(
    keyPrefix: string,
    localDir: string,
  ): Promise<{ uri: string; bytes: number; files: number }>;
  /** Size of a file, or the total of a folder URI; undefined when nothing is there. */
  head(uri: string): Promise<{ bytes: number } | undefined>;
  /** Downloads a file URI to `localPath`, creating folders; ARTIFACT_NOT_FOUND if missing. */
  getFile(uri: string, localPath: string): Promise<void>;
  /** Releases connections. Idempotent: every call returns the same promise. */
  close(): Promise<void>;
}
