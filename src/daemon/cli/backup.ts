// `storaged backup` takes a backup of the catalog now (safe beside a running
// daemon: the snapshot is one read transaction, and WAL lets the daemon write
// on); `storaged backup --list` lists the namespace's backups, newest first.

import * as fs from 'node:fs';
import pino from 'pino';
import { BACKUP_BUCKET, listBackups, takeBackup, type BackupManifest, type BackupTarget } from '../backup/catalog-backups';
import { configuredBlobStore } from '../blobs/configured-blob-store';
import type { DaemonConfig } from '../config/daemon-config';
import type { Logger } from '../logger';
import { snapshotDatabase } from '../../workers/snapshot-database';
import { RefusedError } from './rebuild';

/** The blob store and namespace backups live in, for a command run beside (or instead of) the daemon. */
export function backupStoreOf(config: DaemonConfig, name: string): { logger: Logger; target: BackupTarget } {
  // Diagnostics go to stderr so stdout stays one JSON document.
  const logger = pino({ name, level: 'warn' }, pino.destination(2));
  const { blobs } = configuredBlobStore(config, logger, config.http.publicUrl ?? 'http://127.0.0.1');
  return { logger, target: { blobs, namespace: config.namespace } };
}

export async function runBackup(config: DaemonConfig): Promise<BackupManifest> {
  if (!fs.existsSync(config.sqlitePath)) throw new RefusedError(`no database at ${config.sqlitePath} (check SQLITE_PATH / STORAGED_DATA_DIR)`);
  const { target } = backupStoreOf(config, 'storaged-backup');
  await target.blobs.ping();
  await target.blobs.ensureBuckets([BACKUP_BUCKET]);
  return takeBackup(target, {
    sqlitePath: config.sqlitePath,
    tempDir: config.spoolDir,
    keep: config.backup.keep,
    // A command of its own: blocking its own event loop while copying is fine.
    snapshot: async (source, file) => snapshotDatabase({ source, target: file }),
  });
}

export async function runListBackups(config: DaemonConfig): Promise<BackupManifest[]> {
  const { target } = backupStoreOf(config, 'storaged-backup');
  await target.blobs.ping();
  return listBackups(target);
}
