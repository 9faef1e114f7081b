// Finds a MinIO server binary, or builds the pinned one with Go into a cache
// outside the checkout (CI clones into a fresh folder on the same machine, so
// the cache outlives checkouts). Run directly, it prints the binary's path.

import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** MinIO at commit 7aac2a2c5b7c; the proxy refuses the short hash, so it is asked for by pseudo-version. */
export const MINIO_COMMIT = '7aac2a2c5b7c';
export const MINIO_MODULE_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';

/** A build takes minutes; a lock older than this belongs to a build that died. */
const STALE_LOCK_MS = 20 * 60_000;

export function minioCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'storaged', 'minio', `bin-${MINIO_COMMIT}`);
}

/** An executable regular file (the test servers' binaries, MinIO's and PostgreSQL's). */
export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, 'minio'))) return path.join(dir, 'minio');
  }
  return null;
}

function goInstall(gobin: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('go', ['install', `github.com/minio/minio@${MINIO_MODULE_VERSION}`], {
      env: { ...process.env, GOBIN: gobin, CGO_ENABLED: process.env.CGO_ENABLED ?? '0' },
      // stdout is reserved for the path this file prints when run directly.
      stdio: ['ignore', process.stderr, process.stderr],
    });
    child.once('error', (err) => reject(new Error(`could not run go to build MinIO: ${err.message}; install Go or set MINIO_BIN`)));
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`go install of MinIO failed (${signal ?? `exit code ${code}`})`)),
    );
  });
}

/** mkdir is atomic, so it is the lock: whoever creates it builds, the others wait for the binary. */
async function acquireLock(lock: string, target: string): Promise<boolean> {
  const deadline = Date.now() + STALE_LOCK_MS;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (isExecutable(target)) return false;
    let age = 0;
    try {
      age = Date.now() - fs.statSync(lock).mtimeMs;
    } catch {
      continue; // released between our mkdir and stat
    }
    if (age > STALE_LOCK_MS) fs.rmSync(lock, { recursive: true, force: true });
    else if (Date.now() > deadline) throw new Error(`timed out waiting for the MinIO build lock ${lock}`);
    else await sleep(2000);
  }
}

/** Builds into a temporary GOBIN and renames, so a half-built binary is never found. */
async function build(target: string): Promise<void> {
  const dir = path.dirname(target);
  fs.mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, '.build.lock');
  if (!(await acquireLock(lock, target))) return;
  try {
    if (isExecutable(target)) return;
    const gobin = fs.mkdtempSync(path.join(dir, '.build-'));
    try {
      process.stderr.write(`building MinIO ${MINIO_COMMIT} with go install (a few minutes, once per machine)...\n`);
      await goInstall(gobin);
      fs.renameSync(path.join(gobin, 'minio'), target);
    } finally {
      fs.rmSync(gobin, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** $MINIO_BIN, else `minio` on PATH, else the cached pinned build (built on first use). */
export async function findOrBuildMinio(): Promise<string> {
  const fromEnv = process.env.MINIO_BIN;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`MINIO_BIN=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const found = onPath();
  if (found) return found;
  const cached = path.join(minioCacheDir(), 'minio');
  if (!isExecutable(cached)) await build(cached);
  return cached;
}

if (require.main === module) {
  findOrBuildMinio().then(
    (bin) => {
      // Fail here, before any test starts, if the binary cannot even run.
      execFileSync(bin, ['--version'], { stdio: ['ignore', 'ignore', 'inherit'] });
      process.stdout.write(`${bin}\n`);
    },
    (err: Error) => {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 1;
    },
  );
}
