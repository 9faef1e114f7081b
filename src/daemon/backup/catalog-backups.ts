// Backups of the catalog in the blob store: a consistent snapshot of the
// database (snapshot-database.ts) uploaded to the `backups` bucket under the
// daemon's namespace, beside a small manifest that says what it is (time,
// schema version, size, sha256, catalog id). The newest `keep` of each
// catalog are kept.
// Restore fetches one back and checks it against its manifest before use.

import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { InternalError, NotFoundError, ValidationError } from '../../protocol/errors';
import { readWhole } from '../blobs/part-returns';
import type { BlobStore } from '../blobs/blob-store';

export const BACKUP_BUCKET = 'backups';
const MANIFEST_BYTES = 64 * 1024;
const NAME = /^catalog-\d{8}T\d{9}Z$/;

export interface BackupManifest {
  name: string;
  /** ISO time the snapshot was taken: everything committed before it is in it. */
  createdAt: string;
  schemaVersion: number;
  size: number;
  sha256: string;
  catalogId: string | null;
}

/** Makes the snapshot file `target` (which must not exist) from the database at `source`. */
export type Snapshotter = (source: string, target: string) => Promise<unknown>;

const keyOf = (namespace: string, name: string, ext: 'sqlite' | 'json') => `${namespace}/${name}.${ext}`;

/**
 * A snapshot's temporary file, in the spool directory: a whole copy of the
 * catalog, which a daemon (or `storaged backup`) killed while it uploads
 * leaves behind. Its name carries the taking process's pid, so that the next
 * start removes the copies of processes that are gone and never one that a
 * `storaged backup` running beside it is still uploading.
 */
const SNAPSHOT_NAME = /^storaged-backup-(\d+)-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.sqlite$/;

function snapshotPath(dir: string): string {
  return path.join(dir, `storaged-backup-${process.pid}-${randomUUID()}.sqlite`);
}

/** Whether process `pid` exists on this host (EPERM: another user's, alive). */
function processLives(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes snapshot files of backups whose process is gone; returns how many. Anything else in `dir` is left. */
export async function clearStaleSnapshots(dir: string): Promise<number> {
  let removed = 0;
  for (const entry of await fs.promises.readdir(dir, { withFileTypes: true })) {
    const pid = SNAPSHOT_NAME.exec(entry.name)?.[1];
    if (!entry.isFile() || pid === undefined || processLives(Number(pid))) continue;
    await fs.promises.rm(path.join(dir, entry.name), { force: true });
    removed++;
  }
  return removed;
}

function backupName(at: Date): string {
  return `catalog-${at.toISOString().replace(/[-:.]/g, '')}`;
}

async function fileDigest(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Schema version and catalog id of a database file, read without changing it. */
export function describeDatabase(file: string): { schemaVersion: number; catalogId: string | null } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const schemaVersion = (db.prepare('SELECT max(version) FROM schema_migrations').pluck().get() as number | null) ?? 0;
    const hasIdentity = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'catalog_identity'").get() !== undefined;
    const catalogId = hasIdentity ? ((db.prepare('SELECT catalog_id FROM catalog_identity').pluck().get() as string | undefined) ?? null) : null;
    return { schemaVersion, catalogId };
  } finally {
    db.close();
  }
}

export interface BackupTarget {
  blobs: BlobStore;
  namespace: string;
}

/** Takes a snapshot of `sqlitePath`, uploads it with its manifest, prunes past `keep`; the temp file goes in `tempDir` and is always removed. */
export async function takeBackup(
  target: BackupTarget,
  options: { sqlitePath: string; tempDir: string; keep: number; snapshot: Snapshotter; now?: Date },
): Promise<BackupManifest> {
  const createdAt = options.now ?? new Date();
  const name = backupName(createdAt);
  await fs.promises.mkdir(options.tempDir, { recursive: true, mode: 0o700 });
  const temp = snapshotPath(options.tempDir);
  try {
    await options.snapshot(options.sqlitePath, temp);
    const { size } = await fs.promises.stat(temp);
    const sha256 = await fileDigest(temp);
    const manifest: BackupManifest = { name, createdAt: createdAt.toISOString(), ...describeDatabase(temp), size, sha256 };
    const { blobs, namespace } = target;
    await blobs.put(BACKUP_BUCKET, keyOf(namespace, name, 'sqlite'), { path: temp }, size, 'application/vnd.sqlite3', sha256);
    // The manifest last: a backup is listed only once its file is whole in the store.
    const text = Buffer.from(JSON.stringify(manifest));
    await blobs.put(BACKUP_BUCKET, keyOf(namespace, name, 'json'), { buffer: text }, text.length, 'application/json');
    await pruneBackups(target, options.keep);
    return manifest;
  } finally {
    await fs.promises.rm(temp, { force: true });
  }
}

async function readManifest(blobs: BlobStore, key: string): Promise<BackupManifest | null> {
  const bytes = await readWhole(await blobs.read(BACKUP_BUCKET, key), MANIFEST_BYTES);
  if (bytes === null) return null;
  try {
    const m = JSON.parse(bytes.toString('utf8')) as BackupManifest;
    const valid =
      typeof m.name === 'string' && NAME.test(m.name) && typeof m.createdAt === 'string' && Number.isSafeInteger(m.schemaVersion) &&
      Number.isSafeInteger(m.size) && typeof m.sha256 === 'string' && /^[0-9a-f]{64}$/.test(m.sha256);
    // Manifests from before catalog ids have none: those are counted as one catalog.
    return valid ? { ...m, catalogId: typeof m.catalogId === 'string' ? m.catalogId : null } : null;
  } catch {
    return null;
  }
}

/** The namespace's backups, newest first. A manifest that cannot be read is skipped. */
export async function listBackups({ blobs, namespace }: BackupTarget): Promise<BackupManifest[]> {
  const found: BackupManifest[] = [];
  for await (const blob of blobs.list(BACKUP_BUCKET, `${namespace}/`)) {
    const name = blob.key.slice(namespace.length + 1).replace(/\.json$/, '');
    if (!blob.key.endsWith('.json') || !NAME.test(name)) continue;
    const manifest = await readManifest(blobs, blob.key);
    if (manifest !== null && manifest.name === name) found.push(manifest);
  }
  return found.sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
}

/**
 * Removes each catalog's backups past its newest `keep`. Counted per catalog
 * id: a daemon that lost its database file starts on a new, empty catalog,
 * and counting every backup together would have its hourly backups of that
 * empty catalog push out the lost one's within `keep` hours, while they are
 * the quickest way back (`restore`). A catalog that is gone makes no new
 * backups, so what it leaves is bounded by `keep`; the operator removes it.
 */
export async function pruneBackups(target: BackupTarget, keep: number): Promise<number> {
  const seen = new Map<string | null, number>();
  const old = (await listBackups(target)).filter((m) => {
    const newer = seen.get(m.catalogId) ?? 0;
    seen.set(m.catalogId, newer + 1);
    return newer >= keep;
  });
  for (const m of old) {
    // The manifest first: a half-pruned backup is never listed as usable.
    await target.blobs.remove(BACKUP_BUCKET, keyOf(target.namespace, m.name, 'json'));
    await target.blobs.remove(BACKUP_BUCKET, keyOf(target.namespace, m.name, 'sqlite'));
  }
  return old.length;
}

/** The backup `which` names (`latest` or a name from the list). */
export async function findBackup(target: BackupTarget, which: string): Promise<BackupManifest> {
  const all = await listBackups(target);
  if (which === 'latest') {
    if (all.length === 0) throw new NotFoundError(`no backups in bucket ${BACKUP_BUCKET} under ${target.namespace}/`);
    return all[0]!;
  }
  if (!NAME.test(which)) throw new ValidationError(`'${which}' is not a backup name (catalog-YYYYMMDDTHHMMSSmmmZ) or 'latest'`);
  const found = all.find((m) => m.name === which);
  if (found === undefined) throw new NotFoundError(`no backup named ${which} under ${target.namespace}/`);
  return found;
}

/** Downloads a backup to `file` (0600) and checks its size and sha256 against its manifest. */
export async function fetchBackup(target: BackupTarget, manifest: BackupManifest, file: string): Promise<void> {
  const out = fs.createWriteStream(file, { flags: 'wx', mode: 0o600 });
  const hash = createHash('sha256');
  let size = 0;
  const source = await target.blobs.read(BACKUP_BUCKET, keyOf(target.namespace, manifest.name, 'sqlite'));
  await pipeline(source, async function* (chunks: AsyncIterable<Buffer>) {
    for await (const chunk of chunks) {
      hash.update(chunk);
      size += chunk.length;
      yield chunk;
    }
  }, out);
  const digest = hash.digest('hex');
  if (size !== manifest.size || digest !== manifest.sha256) {
    await fs.promises.rm(file, { force: true });
    throw new InternalError(
      `backup ${manifest.name} is damaged: ${size} bytes with sha256 ${digest}, its manifest says ${manifest.size} bytes with ${manifest.sha256}`,
    );
  }
}
