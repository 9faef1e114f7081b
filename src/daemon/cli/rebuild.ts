// `storaged rebuild [--force]`: a new catalog from the blob store alone, for
// when the database file is lost and no backup is usable. The daemon must be
// stopped (its socket must not answer). An existing catalog with photos in it
// is refused unless --force, and is then moved aside, never deleted.

import * as fs from 'node:fs';
import Database from 'better-sqlite3';
import pino from 'pino';
import { configuredBlobStore } from '../blobs/configured-blob-store';
import type { DaemonConfig } from '../config/daemon-config';
import { Catalog } from '../db/catalog';
import { adoptMissingObjects, type AdoptionReport } from '../recovery/adopt-objects';
import { somebodyListens } from '../socket/socket-path';

export interface RebuildReport extends AdoptionReport {
  database: string;
  /** Where the catalog that was there went, if there was one. */
  movedAside: string | null;
}

/** Thrown for what the operator must change before trying again (exit 2, one line). */
export class RefusedError extends Error {}

/** Fails unless the daemon is stopped: rebuild and restore replace the database under it otherwise. */
export async function assertDaemonStopped(config: DaemonConfig, command: string): Promise<void> {
  if (fs.existsSync(config.socketPath) && (await somebodyListens(config.socketPath))) {
    throw new RefusedError(`the daemon is running (its socket ${config.socketPath} answers); stop it before ${command}`);
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

/** Moves the database and its WAL files to `<file>.<suffix>-<time>`; returns the new name of the database. */
export function moveDatabaseAside(file: string, suffix: string): string {
  const aside = `${file}.${suffix}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  for (const ext of ['-wal', '-shm']) if (fs.existsSync(file + ext)) fs.renameSync(file + ext, aside + ext);
  fs.renameSync(file, aside);
  return aside;
}

export async function runRebuild(config: DaemonConfig, force: boolean): Promise<RebuildReport> {
  await assertDaemonStopped(config, 'a rebuild');
  let movedAside: string | null = null;
  if (fs.existsSync(config.sqlitePath)) {
    const photos = photoCount(config.sqlitePath);
    if (photos > 0 && !force) {
      throw new RefusedError(
        `${config.sqlitePath} holds ${photos} photos; a rebuild starts from an empty catalog: use \`storaged restore\`, or --force to move this one aside`,
      );
    }
    movedAside = moveDatabaseAside(config.sqlitePath, 'before-rebuild');
  }
  const logger = pino({ name: 'storaged-rebuild', level: 'warn' }, pino.destination(2));
  const catalog = Catalog.open({ path: config.sqlitePath, logger });
  try {
    const { blobs } = configuredBlobStore(config, logger, config.http.publicUrl ?? 'http://127.0.0.1');
    await blobs.ping();
    const report = await adoptMissingObjects(catalog, blobs, { namespace: config.namespace, logger });
    return { database: config.sqlitePath, movedAside, ...report };
  } finally {
    await catalog.close();
  }
}
