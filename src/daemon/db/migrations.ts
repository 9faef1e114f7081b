// Brings a database's schema up to date from numbered `NNN_name.sql` files.
// Each file runs in its own transaction together with its record in
// schema_migrations, so a crash leaves the schema at a known version.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Db } from './open-database';

/** From dist/src/daemon/db/ up to the package root, where `migrations/` ships. */
export const DEFAULT_MIGRATIONS_DIR = path.join(__dirname, '../../../../migrations');

const FILE_NAME = /^(\d{3})_([a-z0-9][a-z0-9_]*)\.sql$/;

export class MigrationError extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

export interface MigrationFile {
  version: number;
  name: string;
  file: string;
}

/** The migration files of a directory, ordered, refusing bad names, duplicates and gaps. */
export function readMigrationFiles(dir: string): MigrationFile[] {
  const files: MigrationFile[] = [];
  for (const entry of fs.readdirSync(dir).sort()) {
    if (!entry.endsWith('.sql')) continue;
    const match = FILE_NAME.exec(entry);
    if (match === null) {
      throw new MigrationError(`bad migration file name ${entry} in ${dir}; expected NNN_name.sql (e.g. 002_add_tags.sql)`);
    }
    files.push({ version: Number(match[1]), name: match[2]!, file: path.join(dir, entry) });
  }
  files.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      const expected = String(index + 1).padStart(3, '0');
      throw new MigrationError(
        `migration ${expected} is missing in ${dir} (found ${path.basename(migration.file)} instead); versions must run 001, 002, … without gaps or duplicates`,
      );
    }
  });
  return files;
}

export interface MigrationOutcome {
  /** Versions applied by this call, in order. */
  applied: number[];
  /** The schema version now in force. */
  version: number;
}

export function applyMigrations(db: Db, dir: string = DEFAULT_MIGRATIONS_DIR): MigrationOutcome {
  const files = readMigrationFiles(dir);
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const recorded = db
    .prepare('SELECT version FROM schema_migrations ORDER BY version')
    .pluck()
    .all() as number[];
  const current = recorded.length === 0 ? 0 : recorded[recorded.length - 1]!;
  if (current > files.length) {
    throw new MigrationError(
      `database schema version ${current} is newer than this storaged (knows up to ${files.length}); upgrade storaged or restore a matching backup`,
    );
  }
  // A hole in the history means someone edited schema_migrations by hand; guessing would be worse than stopping.
  if (recorded.some((version, index) => version !== index + 1)) {
    throw new MigrationError(`schema_migrations records versions ${recorded.join(', ')}, which is not a gapless history from 1`);
  }

  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applied: number[] = [];
  for (const migration of files.slice(current)) {
    const sql = fs.readFileSync(migration.file, 'utf8');
    try {
      db.transaction(() => {
        db.exec(sql);
        record.run(migration.version, migration.name, new Date().toISOString());
      }).immediate();
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new MigrationError(`migration ${path.basename(migration.file)} failed and was rolled back: ${reason}`, { cause: err });
    }
    applied.push(migration.version);
  }
  return { applied, version: files.length };
}
