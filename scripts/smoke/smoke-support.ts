/**
 * Helpers shared by the smoke scripts: environment, the executor child process, the bus
 * recorder, and S3 checks. Smokes are CLI programs: they print to stdout on purpose.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

/**
 * Loads AUTOMAT_S3_* from the S3 server's env file when they are not already set. Also hides
 * the AWS SDK's Node 22 notice, as the automat0 commands do (README, "Node versions").
 */
export function loadS3Env(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  if (process.env.AUTOMAT_S3_ENDPOINT) return;
  const file =
    process.env.AUTOMAT_S3_ENV_FILE ??
    join(process.env.AUTOMAT_S3_DATA ?? '/tmp/automat0-s3', 's3.env');
  if (!existsSync(file)) {
    throw new Error(`S3 is not configured: set AUTOMAT_S3_* or run npm run s3:start (${file})`);
  }
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^(?:export\s+)?(AUTOMAT_S3_[A-Z_]+)=(.*)$/.exec(line.trim());
    if (match?.[1]) process.env[match[1]] = match[2]?.replace(/^['"]|['"]$/g, '');
  }
}

/** Starts `automat0 serve` as a child process; its log goes to `logFile`. */
export async function startExecutor(
  env: NodeJS.ProcessEnv,
  logFile: string,
): Promise<ChildProcess> {
  await mkdir(join(logFile, '..'), { recursive: true });
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, ['dist/src/cli/main.js', 'serve'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

/** Sends SIGTERM and waits for the exit code; SIGKILL after `graceMs`. */
export function stopProcess(child: ChildProcess, graceMs = 90_000): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface BusRecord {
  routingKey: string;
  message: Record<string, unknown>;
}

/**
 * Waits until `predicate` holds, polling every `pollMs`; rejects after `timeoutMs` with `what`.
 * The smokes, the fault suite and the tests all use this one.
 */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs: number,
  what: string,
  pollMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

export function s3Client(): S3Client {
  return new S3Client({
    endpoint: process.env.AUTOMAT_S3_ENDPOINT,
    region: process.env.AUTOMAT_S3_REGION ?? 'us-east-1',
    forcePathStyle: true,
    // radosgw rejects the SDK's default streamed checksums; send them only when required.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: {
      accessKeyId: process.env.AUTOMAT_S3_ACCESS_KEY_ID ?? '',
      secretAccessKey: process.env.AUTOMAT_S3_SECRET_ACCESS_KEY ?? '',
    },
  });
}

/** HEADs every object under an `s3://bucket/prefix` URI; returns their total size. */
export async function headS3Prefix(uri: string): Promise<{ objects: number; bytes: number }> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match?.[1] || !match[2]) throw new Error(`not an s3:// URI: ${uri}`);
  const [bucket, prefix] = [match[1], match[2]];
  const client = s3Client();
  try {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    let bytes = 0;
    for (const object of listed.Contents ?? []) {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: object.Key }));
      bytes += head.ContentLength ?? 0;
    }
    return { objects: listed.Contents?.length ?? 0, bytes };
  } finally {
    client.destroy();
  }
}

export function check(
  results: Array<[string, boolean, string]>,
  name: string,
  ok: boolean,
  detail: string,
) {
  results.push([name, ok, detail]);
}

export function printChecks(results: Array<[string, boolean, string]>): boolean {
  const width = Math.max(...results.map(([name]) => name.length));
  for (const [name, ok, detail] of results) {
    console.log(`${ok ? 'PASS' : 'FAIL'}  ${name.padEnd(width)}  ${detail}`);
  }
  return results.every(([, ok]) => ok);
}
