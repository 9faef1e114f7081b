// `storaged rebuild [--force]`: a new catalog from the blob store alone, for
// when the database file is lost and no backup is usable. The daemon must be
// stopped (its socket must not answer). An existing catalog with photos in it
// is refused unless --force, and is then moved aside, never deleted.

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { configuredBlobStore } from '../blobs/configured-blob-store';
import type { DaemonConfig } from '../config/daemon-config';
import { Catalog } from '../db/catalog';
import { moveDatabaseAside, renameDatabase } from '../db/open-database';
import { adoptMissingObjects, type AdoptionReport } from '../recovery/adopt-objects';
import { somebodyListens } from '../socket/socket-path';
import { CatalogInUseError, CatalogLock, CatalogPathIsDirectory } from '../db/catalog-lock';

export interface RebuildReport extends AdoptionReport {
  database: string;
  /** Where the catalog that was there went, if there was one. */
  movedAside: string | null;
}

/** Thrown for what the operator must change before trying again (exit 2, one line). */
export class RefusedError extends Error {}

/**
 * Runs `work` with the catalog held by this process (catalog-lock.ts), which
 * a running daemon holds whatever its socket: rebuild, restore, migrate and
 * repair replace or rewrite the database under it otherwise. Refused while
 * the daemon's socket answers (the plainer message) or anything holds the lock.
 */
export async function whileDaemonStopped<T>(config: DaemonConfig, command: string, work: () => Promise<T>): Promise<T> {
  if (fs.existsSync(config.socketPath) && (await somebodyListens(config.socketPath))) {
    throw new RefusedError(`the daemon is running (its socket ${config.socketPath} answers); stop it before ${command}`);
  }
  let lock: CatalogLock;
  try {
    lock = CatalogLock.take(config.sqlitePath, command);
  } catch (err) {
    if (err instanceof CatalogInUseError || err instanceof CatalogPathIsDirectory) throw new RefusedError(err.message);
    throw err;
  }
  try {
    return await work();
  } finally {
    lock.release();
  }
}

function photoCount(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const hasPhotos = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'photos'").get() !== undefined;
    return hasPhotos ? (db.prepare('SELECT count(*) FROM photos').pluck().get() as number) : 0;
  } finally {
    db.close();
  }
}

export function runRebuild(config: DaemonConfig, force: boolean): Promise<RebuildReport> {
  return whileDaemonStopped(config, 'a rebuild', () => rebuild(config, force));
}

async function rebuild(config: DaemonConfig, force: boolean): Promise<RebuildReport> {
  if (fs.existsSync(config.sqlitePath)) {
    let photos: number;
    try {
      photos = photoCount(config.sqlitePath);
    } catch (err) {
      // A lost catalog is often a damaged file: exactly what --force is for, and what to move aside.
      if (!force) {
        throw new RefusedError(
          `${config.sqlitePath} cannot be read as a catalog (${err instanceof Error ? err.message : String(err)}); try \`storaged restore\`, or --force to move it aside and rebuild`,
        );
      }
      photos = 0;
    }
    if (photos > 0 && !force) {
      throw new RefusedError(
        `${config.sqlitePath} holds ${photos} photos; a rebuild starts from an empty catalog: use \`storaged restore\`, or --force to move this one aside`,
      );
    }
  }
  const logger = pino({ name: 'storaged-rebuild', level: 'warn' }, pino.destination(2));
  const { blobs } = configuredBlobStore(config, logger, config.http.publicUrl ?? 'http://127.0.0.1');
  await blobs.ping();
  // Built beside the database and switched in only once complete: a rebuild
  // that fails half-way (blob store gone, disk full, interrupted) leaves the
  // catalog that was there in place, not a partial one the next daemon would serve.
  fs.mkdirSync(path.dirname(config.sqlitePath), { recursive: true, mode: 0o700 });
  const temp = path.join(path.dirname(config.sqlitePath), `.rebuild-${randomUUID()}.sqlite`);
  try {
    const catalog = Catalog.open({ path: temp, logger });
    let report: AdoptionReport;
    try {
      report = await adoptMissingObjects(catalog, blobs, { namespace: config.namespace, logger });
    } finally {
      await catalog.close();
    }
    const movedAside = moveDatabaseAside(config.sqlitePath, 'before-rebuild');
    renameDatabase(temp, config.sqlitePath);
    return { database: config.sqlitePath, movedAside, ...report };
  } finally {
    for (const ext of ['', '-wal', '-shm']) fs.rmSync(temp + ext, { force: true });
  }
}
