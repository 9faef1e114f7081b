// `storaged check [--verify-checksums]`: prints the consistency report as JSON
// on stdout. Safe beside a running daemon: it only reads (SQLite in WAL mode
// lets it), and changes nothing in either store.

import * as fs from 'node:fs';
import pino from 'pino';
import { configuredBlobStore } from '../blobs/configured-blob-store';
import type { DaemonConfig } from '../config/daemon-config';
import { Catalog } from '../db/catalog';
import { checkConsistency, type CheckReport } from './consistency-check';

export async function runCheck(config: DaemonConfig, verifyChecksums: boolean): Promise<CheckReport> {
  if (!fs.existsSync(config.sqlitePath)) throw new Error(`no database at ${config.sqlitePath} (check SQLITE_PATH / STORAGED_DATA_DIR)`);
  // Diagnostics go to stderr so stdout stays one JSON document.
  const logger = pino({ name: 'storaged-check', level: 'warn' }, pino.destination(2));
  const catalog = Catalog.open({ path: config.sqlitePath, logger });
  try {
    const { blobs } = configuredBlobStore(config, logger, config.http.publicUrl ?? 'http://127.0.0.1');
    await blobs.ping();
    return await checkConsistency(catalog, blobs, {
      verifyChecksums,
      pendingTimeoutMs: config.recovery.pendingTimeoutMs,
      orphanGraceMs: config.recovery.orphanGraceMs,
      namespace: config.namespace,
    });
  } finally {
    await catalog.close();
  }
}
