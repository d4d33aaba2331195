import { existsSync, readFileSync } from 'node:fs';
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

/** The S3 settings scripts/s3/start.sh publishes, as the artifact store wants them. */
export interface S3TestEnv {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  bucket: string;
}

const DEFAULT_ENV_FILE = '/tmp/automat0-s3/s3.env';

/**
 * Reads AUTOMAT_S3_* from the environment or, when AUTOMAT_S3_ENDPOINT is unset, from the env
 * file (AUTOMAT_S3_ENV_FILE, default /tmp/automat0-s3/s3.env). Throws with a hint when neither
 * is there, so a missing server reads as a setup problem rather than a failing store.
 */
export function loadS3Env(): S3TestEnv {
  const file = process.env.AUTOMAT_S3_ENV_FILE ?? DEFAULT_ENV_FILE;
  const values = process.env.AUTOMAT_S3_ENDPOINT ? process.env : readEnvFile(file);
  const get = (name: string): string => {
    const value = values[`AUTOMAT_S3_${name}`];
    if (!value)
      throw new Error(`AUTOMAT_S3_${name} is not set (nor in ${file}); run npm run s3:start`);
    return value;
  };
  return {
    endpoint: get('ENDPOINT'),
    region: get('REGION'),
    credentials: { accessKeyId: get('ACCESS_KEY_ID'), secretAccessKey: get('SECRET_ACCESS_KEY') },
    bucket: get('BUCKET'),
  };
}

function readEnvFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const entries = readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line): [string, string] => {
      const at = line.indexOf('=');
      const raw = line.slice(at + 1).trim();
      return [line.slice(0, at).trim(), raw.replace(/^(['"])(.*)\1$/, '$2')];
    });
  return Object.fromEntries(entries);
}

/** A client on the same server, for tests that look behind the store or clean up after it. */
export function s3TestClient(env: S3TestEnv): S3Client {
  return new S3Client({
    endpoint: env.endpoint,
    region: env.region,
    credentials: env.credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Deletes every object under `prefix`; returns how many there were. */
export async function deleteS3Prefix(env: S3TestEnv, prefix: string): Promise<number> {
  const client = s3TestClient(env);
  let deleted = 0;
  try {
    for (;;) {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: env.bucket, Prefix: prefix }),
      );
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
      if (keys.length === 0) return deleted;
      await client.send(
        new DeleteObjectsCommand({ Bucket: env.bucket, Delete: { Objects: keys, Quiet: true } }),
      );
      deleted += keys.length;
    }
  } finally {
    client.destroy();
  }
}
