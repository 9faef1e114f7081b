// Copies a SQLite catalog into a PostgreSQL one (`storaged migrate-catalog`):
// photos in every state, idempotency keys, the catalog's identity and its run
// history, column for column, in one PostgreSQL transaction, then checks the
// counts before committing. Either the whole catalog arrives or none of it.
//
// The identity and runs come along because the objects in MinIO name the
// catalog that wrote them and when: the orphan sweep's licence
// (../db/catalog-queries.ts wasLiveAt) must hold on the new engine as on
// the old, or the sweep would keep leftovers it may remove.

import Database from 'better-sqlite3';
import type pg from 'pg';
import { DEFAULT_MIGRATIONS_DIR, MigrationError, readMigrationFiles } from '../db/migrations';
import { applyPgMigrations, DEFAULT_PG_MIGRATIONS_DIR } from './migrations';
import { photoSearchWords } from './search-words';

/** Rows per INSERT: one round trip per batch, well under PostgreSQL's 65535-parameter cap (one array per column). */
const BATCH_ROWS = 1000;

type ColumnType = 'bigint' | 'text';

/** Every column of SQLite's photos, with its PostgreSQL array type for unnest. */
const PHOTO_COLUMNS: Record<string, ColumnType> = {
  seq: 'bigint',
  id: 'text',
  client_id: 'text',
  user_id: 'text',
  session_id: 'text',
  original_filename: 'text',
  mime_type: 'text',
  bucket: 'text',
  s3_key: 'text',
  size: 'bigint',
  checksum: 'text',
  width: 'bigint',
  height: 'bigint',
  duration: 'bigint',
  processing_status: 'text',
  processing_metadata: 'text',
  processing_error: 'text',
  processing_started_at: 'text',
  processing_completed_at: 'text',
  metadata: 'text',
  state: 'text',
  state_changed_at: 'text',
  uploaded_at: 'text',
  created_at: 'text',
  updated_at: 'text',
  idempotency_key: 'text',
};

const KEY_COLUMNS: Record<string, ColumnType> = {
  client_id: 'text',
  key: 'text',
  photo_id: 'text',
  fingerprint: 'text',
  result: 'text',
  created_at: 'text',
};

const SESSION_COLUMNS: Record<string, ColumnType> = { started_at: 'text', last_write_at: 'text' };

/** Thrown when the copy must not start or must not commit; nothing was written. */
export class CopyRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CopyRefusedError';
  }
}

export interface CatalogCounts {
  photos: { pending: number; committed: number; deleting: number };
  /** Sum of photos.size over every row: a cheap check that the values, not only the rows, arrived. */
  photoBytes: number;
  idempotencyKeys: number;
  sessions: number;
}

export interface CopyReport {
  catalogId: string;
  schemaVersion: number;
  /** What the target held before and lost, when it was replaced. */
  replaced: CatalogCounts | null;
  copied: CatalogCounts;
}

export interface CopyOptions {
  /** Empty a non-empty target first, in the same transaction. */
  replace?: boolean;
  sqliteMigrationsDir?: string;
  pgMigrationsDir?: string;
}

function sqliteCounts(db: Database.Database): CatalogCounts {
  const photos = { pending: 0, committed: 0, deleting: 0 };
  for (const { state, n } of db.prepare('SELECT state, count(*) AS n FROM photos GROUP BY state').all() as Array<{ state: keyof typeof photos; n: number }>) {
    photos[state] = n;
  }
  return {
    photos,
    photoBytes: db.prepare('SELECT coalesce(sum(size), 0) FROM photos').pluck().get() as number,
    idempotencyKeys: db.prepare('SELECT count(*) FROM idempotency_keys').pluck().get() as number,
    sessions: db.prepare('SELECT count(*) FROM catalog_sessions').pluck().get() as number,
  };
}

async function pgCounts(client: pg.ClientBase): Promise<CatalogCounts> {
  const photos = { pending: 0, committed: 0, deleting: 0 };
  const byState = await client.query<{ state: keyof typeof photos; n: number }>('SELECT state, count(*)::float8 AS n FROM photos GROUP BY state');
  for (const { state, n } of byState.rows) photos[state] = n;
  const rest = await client.query<{ bytes: number; keys: number; sessions: number }>(`SELECT
    (SELECT coalesce(sum(size), 0)::float8 FROM photos) AS bytes,
    (SELECT count(*)::float8 FROM idempotency_keys) AS keys,
    (SELECT count(*)::float8 FROM catalog_sessions) AS sessions`);
  const { bytes, keys, sessions } = rest.rows[0]!;
  return { photos, photoBytes: bytes, idempotencyKeys: keys, sessions };
}

const isEmpty = (counts: CatalogCounts) =>
  counts.photos.pending + counts.photos.committed + counts.photos.deleting + counts.idempotencyKeys + counts.sessions === 0;

/**
 * SQLite columns left behind on purpose: record_owed marks a photo whose
 * update record the SQLite daemon still owes (migration 007); PostgreSQL
 * keeps updates itself and writes no records.
 */
const LEFT_BEHIND = new Set(['record_owed']);

/** Refuses a SQLite table with a column this copy does not know: it would be silently dropped. */
function assertKnownColumns(db: Database.Database, table: string, known: Record<string, ColumnType>): void {
  const columns = (db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(table) as string[]).filter(
    (name) => !(name in known) && !(table === 'photos' && LEFT_BEHIND.has(name)),
  );
  if (columns.length > 0) {
    throw new CopyRefusedError(`SQLite table ${table} has columns this storaged cannot copy (${columns.join(', ')}); use the storaged that made the file`);
  }
}

/** INSERT … SELECT FROM unnest(one array per column): a batch in one statement with a fixed number of parameters. */
async function insertBatch(
  client: pg.ClientBase,
  table: string,
  columns: Record<string, ColumnType>,
  rows: Array<Record<string, unknown>>,
  extra: { column: string; type: string; values: unknown[] } | null = null,
): Promise<void> {
  if (rows.length === 0) return;
  const names = Object.keys(columns);
  const arrays: unknown[][] = names.map((name) => rows.map((row) => row[name] ?? null));
  const casts = names.map((name, i) => `$${i + 1}::${columns[name]}[]`);
  if (extra !== null) {
    names.push(extra.column);
    arrays.push(extra.values);
    casts.push(`$${casts.length + 1}::${extra.type}[]`);
  }
  // Table and column names are this file's constants, never input.
  await client.query(`INSERT INTO ${table} (${names.join(', ')}) SELECT * FROM unnest(${casts.join(', ')})`, arrays);
}

/**
 * Copies the SQLite catalog at `sqlitePath` into the PostgreSQL database
 * `client` is connected to, migrating its schema first. The SQLite file is
 * read in one read transaction, so a consistent snapshot is copied.
 */
export async function copySqliteToPostgres(sqlitePath: string, client: pg.ClientBase, options: CopyOptions = {}): Promise<CopyReport> {
  const source = new Database(sqlitePath, { readonly: true, fileMustExist: true });
  try {
    const known = readMigrationFiles(options.sqliteMigrationsDir ?? DEFAULT_MIGRATIONS_DIR).length;
    const hasVersions = source.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get() !== undefined;
    const version = hasVersions ? ((source.prepare('SELECT max(version) FROM schema_migrations').pluck().get() as number | null) ?? 0) : 0;
    if (version !== known) {
      throw new MigrationError(
        version > known
          ? `SQLite catalog schema version ${version} is newer than this storaged (knows up to ${known}); migrate with the storaged that serves it`
          : `SQLite catalog schema version ${version} is older than this storaged's ${known}; start the daemon on it once to migrate it, then stop it and copy`,
      );
    }
    assertKnownColumns(source, 'photos', PHOTO_COLUMNS);
    assertKnownColumns(source, 'idempotency_keys', KEY_COLUMNS);
    assertKnownColumns(source, 'catalog_sessions', SESSION_COLUMNS);

    const pgVersion = (await applyPgMigrations(client, options.pgMigrationsDir ?? DEFAULT_PG_MIGRATIONS_DIR)).version;
    if (pgVersion !== version) {
      throw new CopyRefusedError(`the SQLite catalog is at schema version ${version} but PostgreSQL's migrations reach ${pgVersion}; they must match`);
    }

    // One snapshot of SQLite for the whole copy: a deferred transaction takes it at the first read.
    source.exec('BEGIN');
    await client.query('BEGIN');
    let report: CopyReport;
    try {
      // Nobody writes the target while we look at it and fill it.
      await client.query('LOCK TABLE photos, idempotency_keys, catalog_sessions, catalog_identity IN ACCESS EXCLUSIVE MODE');
      const before = await pgCounts(client);
      let replaced: CatalogCounts | null = null;
      if (!isEmpty(before)) {
        if (options.replace !== true) {
          const { pending, committed, deleting } = before.photos;
          throw new CopyRefusedError(
            `the PostgreSQL catalog is not empty (${committed + pending + deleting} photos, ${before.idempotencyKeys} idempotency keys, ${before.sessions} daemon runs); ` +
              'copy into an empty database, or pass --replace to empty it first',
          );
        }
        await client.query('TRUNCATE photos, idempotency_keys, catalog_sessions RESTART IDENTITY');
        replaced = before;
      }

      const expected = sqliteCounts(source);
      const identity = source.prepare('SELECT catalog_id, created_at FROM catalog_identity').get() as { catalog_id: string; created_at: string };
      await client.query('UPDATE catalog_identity SET catalog_id = $1, created_at = $2', [identity.catalog_id, identity.created_at]);
      await insertBatch(client, 'catalog_sessions', SESSION_COLUMNS, source.prepare('SELECT * FROM catalog_sessions').all() as Array<Record<string, unknown>>);

      const photoPage = source.prepare(`SELECT ${Object.keys(PHOTO_COLUMNS).join(', ')} FROM photos WHERE seq > ? ORDER BY seq LIMIT ?`);
      for (let after = 0; ; ) {
        const rows = photoPage.all(after, BATCH_ROWS) as Array<Record<string, unknown>>;
        if (rows.length === 0) break;
        const words = rows.map((row) => photoSearchWords(row.original_filename as string, row.mime_type as string));
        await insertBatch(client, 'photos', PHOTO_COLUMNS, rows, { column: 'search_words', type: 'tsvector', values: words });
        after = rows[rows.length - 1]!.seq as number;
      }
      // seq was copied, not drawn: move the identity past it so new rows do not collide.
      await client.query("SELECT setval(pg_get_serial_sequence('photos', 'seq'), coalesce((SELECT max(seq) FROM photos), 0) + 1, false)");

      const keyPage = source.prepare('SELECT * FROM idempotency_keys WHERE (client_id, key) > (?, ?) ORDER BY client_id, key LIMIT ?');
      for (let after = ['', '']; ; ) {
        const rows = keyPage.all(after[0], after[1], BATCH_ROWS) as Array<Record<string, unknown>>;
        if (rows.length === 0) break;
        await insertBatch(client, 'idempotency_keys', KEY_COLUMNS, rows);
        const last = rows[rows.length - 1]!;
        after = [last.client_id as string, last.key as string];
      }

      const copied = await pgCounts(client);
      if (JSON.stringify(copied) !== JSON.stringify(expected)) {
        throw new CopyRefusedError(`the copy does not add up (SQLite ${JSON.stringify(expected)}, PostgreSQL ${JSON.stringify(copied)}); nothing was committed`);
      }
      await client.query('COMMIT');
      report = { catalogId: identity.catalog_id, schemaVersion: version, replaced, copied };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      source.exec('COMMIT');
    }
    // Statistics for the planner's first searches, and a visibility map, so that a tenant's word ranges are read from
    // photo_words' index alone: a table just filled has neither until autovacuum comes by. Outside the transaction, as
    // VACUUM must be. Only searches' speed depends on it (autovacuum would get there), so a role that may not vacuum
    // still has its copy.
    await client.query('VACUUM (ANALYZE) photos, photo_words').catch(() => {});
    return report;
  } finally {
    source.close();
  }
}
