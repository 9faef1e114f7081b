// What a test MinIO holds on disk and its process, for tests that must act at
// an exact point of a multipart upload: wait for its first part to land,
// freeze the server there (SIGSTOP) while they act, and make its disk refuse
// the next parts. MinIO (single drive) keeps an upload's parts in
//   <data>/.minio.sys/multipart/<hash of bucket/key>/<upload>/<data dir>/part.N

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MinioHandle } from './minio-server';
import { waitFor } from './wait-for';

/** Directories holding part files of multipart uploads in progress. */
export function partDirs(minio: MinioHandle): string[] {
  const root = path.join(minio.dataDir, '.minio.sys', 'multipart');
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // MinIO moved it away meanwhile
    }
    if (depth === 3) {
      if (entries.some((e) => e.isFile() && /^part\.\d+$/.test(e.name))) found.push(dir);
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name), depth + 1);
  };
  walk(root, 0);
  return found;
}

/** The pid of the MinIO server serving `minio.dataDir`. */
export function minioPid(minio: MinioHandle): number {
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let args: string[];
    try {
      args = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (args[1] === 'server' && args[2] === minio.dataDir) return Number(name);
  }
  throw new Error(`no MinIO process serves ${minio.dataDir}`);
}

/**
 * Waits until the first part of an upload is on MinIO's disk, then freezes
 * MinIO: the transfer is surely mid-way (parts done, parts to go) until
 * `resume()`. Returns the directory of that upload's parts.
 */
export async function freezeAtFirstPart(minio: MinioHandle): Promise<{ partDir: string; resume: () => void }> {
  let dirs: string[] = [];
  await waitFor(() => (dirs = partDirs(minio)).length > 0, 'the first part on MinIO disk');
  const pid = minioPid(minio);
  process.kill(pid, 'SIGSTOP');
  return { partDir: dirs[0]!, resume: () => process.kill(pid, 'SIGCONT') };
}

/**
 * Makes MinIO's disk refuse further parts of the upload whose parts are in
 * `partDir`: the directory becomes a plain file, so MinIO cannot move a new
 * part into it and answers the part upload with an error. The upload itself
 * stays listed until someone aborts it (MinIO then removes it as usual).
 */
export function breakPartDir(partDir: string): void {
  fs.rmSync(partDir, { recursive: true });
  fs.writeFileSync(partDir, 'parts cannot be stored here');
}
