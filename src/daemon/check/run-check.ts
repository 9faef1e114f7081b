// `storaged check [--verify-checksums] [--repair]`: prints the consistency
// report as JSON on stdout. Without --repair it is safe beside a running
// daemon: it opens the database read-only (no migration, not even a record
// of its run) and changes nothing in either store; a database at another
// schema version is refused with what to do. --repair (daemon stopped) first
// finishes what recovery would, by recovery's own code and rules, and writes
// the update records owed or found behind their rows from the rows (as the
// daemon's recovery writes owed ones), then checks.

import * as fs from 'node:fs';
import pino from 'pino';
import { configuredBlobStore } from '../blobs/configured-blob-store';
import type { DaemonConfig } from '../config/daemon-config';
import { Catalog } from '../db/catalog';
import { ReadOnlyCatalog } from '../db/catalog-queries';
import { recover, type RecoveryReport } from '../recovery/recovery';
import { whileDaemonStopped } from '../cli/rebuild';
import { refuseDirectoryCatalog } from '../db/catalog-lock';
import { UpdateRecords } from '../update-records/update-records';
import { checkConsistency, type CheckReport } from './consistency-check';
import { oweRecordsBehind } from './record-check';

export interface CheckOutcome extends CheckReport {
  /** With --repair: what the recovery pass did before the check. */
  repaired?: RecoveryReport & {
    /** Rows whose update record was behind them, marked owed so it is written from the row. */
    recordsBehind: number;
    /** Owed update records written from their rows (those, and any owed before), as the daemon's recovery does. */
    recordsWritten: number;
  };
}

export async function runCheck(config: DaemonConfig, options: { verifyChecksums: boolean; repair: boolean }): Promise<CheckOutcome> {
  refuseDirectoryCatalog(config.sqlitePath);
  if (!fs.existsSync(config.sqlitePath)) throw new Error(`no database at ${config.sqlitePath} (check SQLITE_PATH / STORAGED_DATA_DIR)`);
  // Diagnostics go to stderr so stdout stays one JSON document.
  const logger = pino({ name: 'storaged-check', level: 'warn' }, pino.destination(2));
  const { blobs } = configuredBlobStore(config, logger, config.http.publicUrl ?? 'http://127.0.0.1');
  // Refuses another schema version before anything else looks at the file.
  let catalog = ReadOnlyCatalog.open(config.sqlitePath);
  let repaired: CheckOutcome['repaired'];
  try {
    await blobs.ping();
    if (options.repair) {
      // Recovery in another process cannot see a running daemon's stores in flight.
      repaired = await whileDaemonStopped(config, 'check --repair', async () => {
        await catalog.close();
        const writable = Catalog.open({ path: config.sqlitePath, logger });
        try {
          const recovered = await recover(writable, blobs, { ...config.recovery, namespace: config.namespace, sweep: 'full' }, logger);
          const behind = await oweRecordsBehind(writable, blobs, config.namespace);
          const recordsWritten = await new UpdateRecords(writable, blobs, config.namespace, logger).settleOwed();
          return { ...recovered, recordsBehind: behind.behind.count, recordsWritten };
        } finally {
          await writable.close();
        }
      });
      catalog = ReadOnlyCatalog.open(config.sqlitePath);
    }
    const report = await checkConsistency(catalog, blobs, {
      verifyChecksums: options.verifyChecksums,
      pendingTimeoutMs: config.recovery.pendingTimeoutMs,
      orphanGraceMs: config.recovery.orphanGraceMs,
      namespace: config.namespace,
    });
    return repaired === undefined ? report : { repaired, ...report };
  } finally {
    await catalog.close();
  }
}
