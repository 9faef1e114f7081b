// A real catalog on a real SQLite file in a temp dir, closed and removed when
// the test ends, plus a way to add committed photos in one line.

import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import pg from 'pg';
import Database from 'better-sqlite3';
import type { Photo } from '../../src/protocol/types';
import { Catalog, type NewPhotoRow } from '../../src/daemon/db/catalog';
import { applyMigrations, DEFAULT_MIGRATIONS_DIR } from '../../src/daemon/db/migrations';
import { createLogger } from '../../src/daemon/logger';
import { PostgresCatalog } from '../../src/daemon/catalog-pg/pg-catalog';
import type { PhotoCatalog } from '../../src/daemon/db/photo-catalog';
import { startPostgres, type PostgresHandle } from '../support/postgres';

export const silentLogger = createLogger('silent');

/**
 * A temp dir removed when the test ends. Connections registered with
 * `closeLater` are closed first, newest first (node:test runs after-hooks in
 * registration order, so separate hooks would remove the files too early).
 */
export class TempDir {
  readonly path = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-db-'));
  readonly #closers: Array<() => unknown> = [];

  constructor(t: TestContext) {
    t.after(async () => {
      for (const close of this.#closers.reverse()) await close();
      fs.rmSync(this.path, { recursive: true, force: true });
    });
  }

  closeLater(close: () => unknown): void {
    this.#closers.push(close);
  }
}

export interface TestCatalog {
  catalog: Catalog;
  file: string;
  /** A second, independent connection for arranging data (e.g. equal timestamps) and inspecting the file. */
  raw(): Database.Database;
}

export function openTestCatalog(t: TestContext, options: { maxBatch?: number } = {}): TestCatalog {
  const dir = new TempDir(t);
  const file = path.join(dir.path, 'db', 'catalog.sqlite');
  const catalog = Catalog.open({ path: file, logger: silentLogger, ...options });
  let raw: Database.Database | null = null;
  dir.closeLater(() => catalog.close());
  dir.closeLater(() => raw?.close());
  return {
    catalog,
    file,
    raw() {
      raw ??= new Database(file);
      return raw;
    },
  };
}

export function newRow(overrides: Partial<NewPhotoRow> = {}): NewPhotoRow {
  const id = overrides.id ?? randomUUID();
  return {
    id,
    client_id: 'client-a',
    user_id: 'user-1',
    session_id: null,
    original_filename: 'photo.jpg',
    mime_type: 'image/jpeg',
    bucket: 'images',
    s3_key: `2024/01/${id}.jpg`,
    size: 1000,
    checksum: createHash('sha256').update(id).digest('hex'),
    metadata: {},
    ...overrides,
  };
}

/**
 * A catalog file as storaged wrote it at schema `version`: the migrations up
 * to it, rows inserted by SQL (no trigger or backfill of a later version has
 * seen them), for tests of what an upgrade does to an existing file. Close
 * `db` before the daemon opens `file`.
 */
export function catalogAtVersion(dir: TempDir, version: number): { file: string; db: Database.Database; insert(row: NewPhotoRow, state: string): void } {
  const migrations = path.join(dir.path, `migrations-${String(version).padStart(3, '0')}`);
  fs.mkdirSync(migrations);
  for (const name of fs.readdirSync(DEFAULT_MIGRATIONS_DIR)) {
    const at = /^(\d{3})_.*\.sql$/.exec(name);
    if (at !== null && Number(at[1]) <= version) fs.copyFileSync(path.join(DEFAULT_MIGRATIONS_DIR, name), path.join(migrations, name));
  }
  const file = path.join(dir.path, 'old.sqlite');
  const db = new Database(file);
  applyMigrations(db, migrations);
  const statement = db.prepare(`INSERT INTO photos (id, client_id, user_id, session_id, original_filename, mime_type, bucket, s3_key, size,
      checksum, metadata, state, state_changed_at, uploaded_at, created_at, updated_at)
    VALUES (@id, @client_id, @user_id, @session_id, @original_filename, @mime_type, @bucket, @s3_key, @size,
      @checksum, '{}', @state, @now, @now, @now, @now)`);
  return { file, db, insert: (row, state) => void statement.run({ ...row, state, now: new Date().toISOString() }) };
}

export async function addCommitted(catalog: PhotoCatalog, overrides: Partial<NewPhotoRow> = {}): Promise<Photo> {
  const row = newRow(overrides);
  await catalog.insertPending(row);
  return catalog.commitPending(row.id);
}

/** A catalog of either engine, with a way to arrange rows directly (`?` placeholders on both). */
export interface EngineCatalog {
  engine: 'sqlite' | 'postgres';
  catalog: PhotoCatalog;
  exec(sql: string, ...params: unknown[]): Promise<void>;
  /** The first column of the first row; counts as numbers. */
  value(sql: string, ...params: unknown[]): Promise<unknown>;
}

let postgres: Promise<PostgresHandle> | null = null;
after(async () => {
  if (postgres !== null) await (await postgres).dispose();
});

async function openPostgresCatalog(t: TestContext): Promise<EngineCatalog> {
  postgres ??= startPostgres();
  const url = await (await postgres).createDatabase();
  const catalog = await PostgresCatalog.open({ url, logger: silentLogger });
  // A Client, not a Pool: its end() waits for the connection to close, so none is left for the server's shutdown to cut.
  const pool = new pg.Client({ connectionString: url });
  await pool.connect();
  t.after(async () => {
    await catalog.close();
    await pool.end();
  });
  const numbered = (sql: string) => {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  };
  return {
    engine: 'postgres',
    catalog,
    async exec(sql, ...params) {
      await pool.query(numbered(sql), params);
    },
    async value(sql, ...params) {
      const { rows } = await pool.query(numbered(sql), params);
      const first = rows[0] === undefined ? undefined : Object.values(rows[0])[0];
      return typeof first === 'string' && /^count/.test(Object.keys(rows[0])[0]!) ? Number(first) : first;
    },
  };
}

/** The same test on the SQLite catalog and on the PostgreSQL one, named after each. */
export function testOnBothEngines(name: string, fn: (t: TestContext, c: EngineCatalog) => Promise<void>): void {
  test(`${name} (SQLite)`, async (t) => {
    const { catalog, raw } = openTestCatalog(t);
    await fn(t, {
      engine: 'sqlite',
      catalog,
      exec: async (sql, ...params) => void raw().prepare(sql).run(...params),
      value: async (sql, ...params) => raw().prepare(sql).pluck().get(...params),
    });
  });
  test(`${name} (PostgreSQL)`, { timeout: 120_000 }, async (t) => fn(t, await openPostgresCatalog(t)));
}
