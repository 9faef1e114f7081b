// `storaged restore [--from NAME|latest]` (daemon stopped): brings the catalog
// back from a backup, then reconciles it with the blob store, which is the
// truth about what exists:
// - photos stored after the backup are adopted back from their objects' identity;
// - rows whose object is gone (deleted after the backup) are removed;
// - rows the backup caught mid-store or mid-delete are finished as recovery would;
// - metadata updates and processing states made after the backup come back
//   from the photos' update records (update-records/), applied by adoption.

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { fetchBackup, findBackup, type BackupManifest } from '../backup/catalog-backups';
import type { DaemonConfig } from '../config/daemon-config';
import { Catalog } from '../db/catalog';
import { DEFAULT_MIGRATIONS_DIR, readMigrationFiles } from '../db/migrations';
import { adoptMissingObjects, type AdoptionReport } from '../recovery/adopt-objects';
import { recover, type RecoveryReport } from '../recovery/recovery';
import type { BlobStore } from '../blobs/blob-store';
import type { Logger } from '../logger';
import { backupStoreOf } from './backup';
import { moveDatabaseAside, renameDatabase } from '../db/open-database';
import { RefusedError, whileDaemonStopped } from './rebuild';

export interface RestoreReport {
  restoredFrom: BackupManifest;
  database: string;
  movedAside: string | null;
  /** Photos stored after the backup, brought back from their objects. */
  readopted: AdoptionReport;
  /** Rows of the backup whose object no longer exists (deleted since): removed. */
  removedRows: { count: number; ids: string[] };
  /** Unfinished rows in the backup, finished by recovery's rules. */
  unfinishedRows: Pick<RecoveryReport, 'pendingCommitted' | 'pendingRolledBack' | 'deletesFinished'>;
  /** Left for an operator: objects in the namespace without identity (see readopted.unidentifiedKeys). */
  leftForOperator: number;
  /** What a restore cannot bring back, said plainly. */
  lost: string;
}

const MAX_LISTED = 1000;

function checkUsable(file: string, manifest: BackupManifest): void {
  const known = Math.max(0, ...readMigrationFiles(DEFAULT_MIGRATIONS_DIR).map((m) => m.version));
  if (manifest.schemaVersion > known) {
    throw new RefusedError(`backup ${manifest.name} has schema version ${manifest.schemaVersion}; this storaged knows up to ${known}: upgrade storaged first`);
  }
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const result = db.pragma('integrity_check', { simple: true });
    if (result !== 'ok') throw new RefusedError(`backup ${manifest.name} fails SQLite's integrity check: ${String(result)}`);
  } finally {
    db.close();
  }
}

export function runRestore(config: DaemonConfig, which: string): Promise<RestoreReport> {
  return whileDaemonStopped(config, 'a restore', () => restore(config, which));
}

async function restore(config: DaemonConfig, which: string): Promise<RestoreReport> {
  const { logger, target } = backupStoreOf(config, 'storaged-restore');
  const { blobs } = target;
  await blobs.ping();
  const manifest = await findBackup(target, which);

  // Fetched, checked and reconciled beside the database, so that the switch
  // is one rename on one file system and happens only once all of it worked:
  // a restore that fails on the way (the blob store lost while it looks at
  // every row) leaves the catalog that was there as it was.
  fs.mkdirSync(path.dirname(config.sqlitePath), { recursive: true, mode: 0o700 });
  const temp = path.join(path.dirname(config.sqlitePath), `.restore-${randomUUID()}.sqlite`);
  try {
    await fetchBackup(target, manifest, temp);
    checkUsable(temp, manifest);
    const { settled, gone, readopted } = await reconcile(temp, blobs, config.namespace, logger);
    const movedAside = moveDatabaseAside(config.sqlitePath, 'before-restore');
    renameDatabase(temp, config.sqlitePath);
    return {
      restoredFrom: manifest,
      database: config.sqlitePath,
      movedAside,
      readopted,
      removedRows: { count: gone.length, ids: gone.slice(0, MAX_LISTED) },
      unfinishedRows: { pendingCommitted: settled.pendingCommitted, pendingRolledBack: settled.pendingRolledBack, deletesFinished: settled.deletesFinished },
      leftForOperator: readopted.unidentified,
      lost:
        `nothing acknowledged: photos stored or deleted after ${manifest.createdAt} are accounted for above, and ${readopted.recordsApplied} photos got back the metadata and processing state of their last acknowledged update from their update records` +
        (readopted.recordFieldsRefused === 0
          ? ''
          : `, except ${readopted.recordFieldsRefused === 1 ? "1 field today's rules refuse" : `${readopted.recordFieldsRefused} fields today's rules refuse`} (readopted.refusedRecordFields): ${readopted.recordFieldsRefused === 1 ? 'it kept the value its' : 'those kept the value their'} row had`),
    };
  } finally {
    for (const ext of ['', '-wal', '-shm']) fs.rmSync(temp + ext, { force: true });
  }
}

/** Settles the restored file's unfinished rows, drops rows whose object is gone, adopts objects stored since. */
async function reconcile(file: string, blobs: BlobStore, namespace: string, logger: Logger) {
  const catalog = Catalog.open({ path: file, logger });
  try {
    // Nothing of a stopped daemon is in flight: every unfinished row can be settled now.
    const settled = await recover(catalog, blobs, { pendingTimeoutMs: 0, orphanGraceMs: 0, sweep: 'none' }, logger);
    const gone: string[] = [];
    for (let after = 0; ; ) {
      const page = await catalog.committedRowsAfter(after, 500);
      if (page.length === 0) break;
      const missing: string[] = [];
      for (const row of page) {
        after = row.seq;
        if ((await blobs.stat(row.bucket, row.s3_key)) === null) missing.push(row.id);
      }
      await catalog.forgetRows(missing);
      gone.push(...missing);
    }
    const readopted = await adoptMissingObjects(catalog, blobs, { namespace, logger });
    return { settled, gone, readopted };
  } finally {
    await catalog.close();
  }
}
