// `storaged migrate-catalog --to postgres://…` (daemon stopped): copies this
// host's SQLite catalog into an empty PostgreSQL catalog, checks the counts,
// and prints what it did as JSON. A non-empty target is refused unless
// --replace. The URL's password never appears in the report or an error.

import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { copySqliteToPostgres, CopyRefusedError, type CopyReport } from '../catalog-pg/copy-from-sqlite';
import type { DaemonConfig } from '../config/daemon-config';
import { assertDaemonStopped, RefusedError } from './rebuild';
import * as fs from 'node:fs';

/** How long to wait for PostgreSQL to accept the connection before giving up with a clear error. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface MigrateCatalogReport extends CopyReport {
  from: string;
  to: string;
  /** The id the SQLite file goes on under (retireSource); the PostgreSQL catalog has `catalogId`. */
  sourceCatalogId: string;
  seconds: number;
}

/**
 * Gives the SQLite file, once copied, a catalog id of its own. The PostgreSQL
 * catalog keeps the file's id, so the objects written before the move stay
 * its own (its orphan sweep keeps its licence). The file stays for an
 * operator to go back to, but a daemon started on it again (a host whose
 * environment still lacks STORAGED_CATALOG_URL) would otherwise be that same
 * catalog to the orphan rule: its new runs cover the upload times of photos
 * stored through PostgreSQL, and its sweep removed them as its own
 * unacknowledged leftovers. Under another id they are another catalog's
 * photos to it, kept and reported.
 */
function retireSource(sqlitePath: string): string {
  // The form migration 002 gives a new catalog's id: 32 lower-case hex digits.
  const catalogId = randomBytes(16).toString('hex');
  const db = new Database(sqlitePath, { fileMustExist: true });
  try {
    db.prepare('UPDATE catalog_identity SET catalog_id = ?').run(catalogId);
  } finally {
    db.close();
  }
  return catalogId;
}

/** The URL for reports and errors: the password replaced, whatever else it carries kept. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function checkUrl(url: string | undefined): string {
  if (url === undefined || url === '') throw new RefusedError('migrate-catalog needs --to postgres://user:password@host:port/database');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RefusedError('--to is not a URL; expected postgres://user:password@host:port/database');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new RefusedError(`--to must be a postgres:// or postgresql:// URL (got ${parsed.protocol}//…)`);
  }
  return url;
}

export async function runMigrateCatalog(config: DaemonConfig, to: string | undefined, replace: boolean): Promise<MigrateCatalogReport> {
  const url = checkUrl(to);
  const shown = redactUrl(url);
  if (!fs.existsSync(config.sqlitePath)) throw new RefusedError(`no SQLite catalog at ${config.sqlitePath} (check SQLITE_PATH / STORAGED_DATA_DIR)`);
  // A daemon still writing would add rows after the snapshot, and they would be left behind.
  await assertDaemonStopped(config, 'migrate-catalog');
  const started = performance.now();
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // A connection lost mid-copy surfaces through the pending query; this only keeps the event from crashing the process.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    throw new RefusedError(`cannot connect to ${shown}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    const report = await copySqliteToPostgres(config.sqlitePath, client, { replace });
    let sourceCatalogId: string;
    try {
      sourceCatalogId = retireSource(config.sqlitePath);
    } catch (err) {
      throw new RefusedError(
        `the catalog was copied into ${shown}, but ${config.sqlitePath} could not be given a catalog id of its own (${err instanceof Error ? err.message : String(err)}): ` +
          'start no daemon on that file without STORAGED_CATALOG_URL, whose orphan sweep would take photos stored through PostgreSQL for its own leftovers',
      );
    }
    return { from: config.sqlitePath, to: shown, ...report, sourceCatalogId, seconds: Math.round((performance.now() - started) / 10) / 100 };
  } catch (err) {
    if (err instanceof CopyRefusedError) throw new RefusedError(err.message);
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}
