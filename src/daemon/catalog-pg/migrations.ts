// Brings a PostgreSQL catalog's schema up to date from migrations/postgres/,
// numbered and checked exactly as the SQLite ones (../db/migrations.ts).
//
// Many daemons share one PostgreSQL catalog and may all start at once, so the
// whole run holds a session-level advisory lock: the first daemon migrates,
// the others wait for it and then find nothing left to do. Each file runs in
// its own transaction with its schema_migrations record (PostgreSQL DDL is
// transactional), so a failure leaves the schema at a known version.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type pg from 'pg';
import { MigrationError, readMigrationFiles, type MigrationOutcome } from '../db/migrations';

/** From dist/src/daemon/catalog-pg/ up to the package root, where `migrations/` ships. */
export const DEFAULT_PG_MIGRATIONS_DIR = path.join(__dirname, '../../../../migrations/postgres');

/**
 * The advisory lock key of migrations: fixed, so every storaged agrees on it.
 * Other locks storaged takes (the sweeps') use other keys. ASCII "stgdmigr".
 */
export const MIGRATION_LOCK_KEY = 0x7374_6764_6d69_6772n;

/** A pool, or one connected client (the migrate-catalog command has no pool). */
export type Queryable = pg.Pool | pg.ClientBase;

/** Runs `work` on one session: advisory locks belong to the session that took them. */
export async function withSession<T>(db: Queryable, work: (client: pg.ClientBase) => Promise<T>): Promise<T> {
  if (!isPool(db)) return work(db);
  const client = await db.connect();
  try {
    return await work(client);
  } finally {
    client.release();
  }
}

function isPool(db: Queryable): db is pg.Pool {
  return 'totalCount' in db;
}

async function recordedVersions(client: pg.ClientBase): Promise<number[]> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
  if (exists.rows[0]!.t === null) return [];
  const rows = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
  return rows.rows.map((row) => row.version);
}

function checkHistory(recorded: number[], known: number): number {
  const current = recorded.length === 0 ? 0 : recorded[recorded.length - 1]!;
  if (current > known) {
    throw new MigrationError(
      `PostgreSQL catalog schema version ${current} is newer than this storaged (knows up to ${known}); upgrade storaged, or point STORAGED_CATALOG_URL at the catalog of this version`,
    );
  }
  // A hole in the history means someone edited schema_migrations by hand; guessing would be worse than stopping.
  if (recorded.some((version, index) => version !== index + 1)) {
    throw new MigrationError(`schema_migrations records versions ${recorded.join(', ')}, which is not a gapless history from 1`);
  }
  return current;
}

/** The schema version in force, checked against what this storaged knows; nothing is changed. */
export async function pgSchemaVersion(db: Queryable, dir: string = DEFAULT_PG_MIGRATIONS_DIR): Promise<{ version: number; known: number }> {
  const known = readMigrationFiles(dir).length;
  return withSession(db, async (client) => ({ version: checkHistory(await recordedVersions(client), known), known }));
}

export async function applyPgMigrations(db: Queryable, dir: string = DEFAULT_PG_MIGRATIONS_DIR): Promise<MigrationOutcome> {
  const files = readMigrationFiles(dir);
  return withSession(db, async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at text NOT NULL
      )`);
      const current = checkHistory(await recordedVersions(client), files.length);
      const applied: number[] = [];
      for (const migration of files.slice(current)) {
        const sql = fs.readFileSync(migration.file, 'utf8');
        try {
          await client.query('BEGIN');
          // No parameters: the simple protocol runs every statement of the file.
          await client.query(sql);
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
            migration.version,
            migration.name,
            new Date().toISOString(),
          ]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {});
          const reason = err instanceof Error ? err.message : String(err);
          throw new MigrationError(`migration postgres/${path.basename(migration.file)} failed and was rolled back: ${reason}`, { cause: err });
        }
        applied.push(migration.version);
      }
      return { applied, version: files.length };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]).catch(() => {});
    }
  });
}
