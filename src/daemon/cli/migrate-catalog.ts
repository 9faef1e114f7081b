// `storaged migrate-catalog --to postgres://…` (daemon stopped): copies this
// host's SQLite catalog into an empty PostgreSQL catalog, checks the counts,
// and prints what it did as JSON. A non-empty target is refused unless
// --replace. The URL's password never appears in the report or an error.

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
  seconds: number;
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
    return { from: config.sqlitePath, to: shown, ...report, seconds: Math.round((performance.now() - started) / 10) / 100 };
  } catch (err) {
    if (err instanceof CopyRefusedError) throw new RefusedError(err.message);
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}
