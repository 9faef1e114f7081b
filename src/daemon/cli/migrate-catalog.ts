// `storaged migrate-catalog` (daemon stopped): copies this host's SQLite
// catalog into an empty PostgreSQL catalog, checks the counts, and prints what
// it did as JSON. A non-empty target is refused unless --replace. The URL's
// password never appears in the report, an error or the log. The target comes
// from STORAGED_MIGRATE_TO or a file only its owner may read (--to-file): a
// --to argument is in the process list, which every user of the host reads.

import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { copySqliteToPostgres, CopyRefusedError, type CopyReport } from '../catalog-pg/copy-from-sqlite';
import type { DaemonConfig } from '../config/daemon-config';
import type { Logger } from '../logger';
import { RefusedError, whileDaemonStopped } from './rebuild';
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

const TARGET_FORM = 'postgres://user:password@host:port/database';

/** The variable that may hold the target, out of the process list. */
export const MIGRATE_TO_VARIABLE = 'STORAGED_MIGRATE_TO';

export interface TargetOptions {
  /** --to: the URL itself, in argv. */
  to?: string | undefined;
  /** --to-file: a file whose first line is the URL. */
  toFile?: string | undefined;
}

/**
 * The target URL from --to, --to-file or STORAGED_MIGRATE_TO (one of them;
 * two would leave a doubt about which database is written), with the name of
 * where it came from for messages. A --to URL holding a password is used, with
 * a warning: argv is world-readable (ps, /proc/PID/cmdline) while the copy runs.
 */
export function readMigrationTarget(
  options: TargetOptions,
  env: Readonly<Record<string, string | undefined>>,
  logger: Logger,
): { url: string; source: string } {
  const fromEnv = env[MIGRATE_TO_VARIABLE] || undefined;
  const given = [options.to !== undefined && '--to', options.toFile !== undefined && '--to-file', fromEnv !== undefined && MIGRATE_TO_VARIABLE].filter(
    (name): name is string => name !== false,
  );
  if (given.length === 0) throw new RefusedError(`migrate-catalog needs the target: ${MIGRATE_TO_VARIABLE}=${TARGET_FORM}, --to-file FILE (mode 600) or --to URL`);
  if (given.length > 1) throw new RefusedError(`migrate-catalog got the target from ${given.join(' and ')}: give one of them`);
  if (options.toFile !== undefined) return { url: readTargetFile(options.toFile), source: `--to-file ${options.toFile}` };
  if (fromEnv !== undefined) return { url: fromEnv, source: MIGRATE_TO_VARIABLE };
  const url = options.to!;
  if (hasPassword(url)) {
    logger.warn(
      { to: redactUrl(url) },
      `the --to URL holds a password, which every user of this host can read in the process list while the copy runs: give the URL in ${MIGRATE_TO_VARIABLE} or --to-file instead`,
    );
  }
  return { url, source: '--to' };
}

function hasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}

/** The URL on the first line of `file`, refusing a file that group or others may read (it holds a password), as storagectl's --token-file does. */
function readTargetFile(file: string): string {
  let text: string;
  let mode: number;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw new RefusedError(`--to-file: ${file} is not a regular file`);
    mode = stat.mode & 0o777;
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof RefusedError) throw err;
    throw new RefusedError(`--to-file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new RefusedError(`--to-file: ${file} has mode ${mode.toString(8)}; it holds a password, so allow only its owner (chmod 600)`);
  }
  const url = text.split(/\r?\n/, 1)[0]!.trim();
  if (url === '') throw new RefusedError(`--to-file: ${file} holds no URL on its first line`);
  return url;
}

function checkUrl(url: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not echoed: a URL that does not parse may still hold a password.
    throw new RefusedError(`${source} is not a URL; expected ${TARGET_FORM}`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new RefusedError(`${source} must be a postgres:// or postgresql:// URL (got ${parsed.protocol}//…)`);
  }
  return url;
}

/** `source` names where the URL came from (--to, --to-file F, STORAGED_MIGRATE_TO), for messages. */
export async function runMigrateCatalog(config: DaemonConfig, to: string, replace: boolean, source = '--to'): Promise<MigrateCatalogReport> {
  const url = checkUrl(to, source);
  const shown = redactUrl(url);
  if (!fs.existsSync(config.sqlitePath)) throw new RefusedError(`no SQLite catalog at ${config.sqlitePath} (check SQLITE_PATH / STORAGED_DATA_DIR)`);
  // A daemon still writing would add rows after the snapshot, and they would be left behind.
  return whileDaemonStopped(config, 'migrate-catalog', () => migrate(config, url, shown, replace));
}

async function migrate(config: DaemonConfig, url: string, shown: string, replace: boolean): Promise<MigrateCatalogReport> {
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
