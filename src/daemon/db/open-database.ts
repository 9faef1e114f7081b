// The two connections the catalog holds: one writer (used only by the
// WriterActor) and one read-only connection for queries. WAL lets the reader
// see every committed write without ever blocking the writer.

import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/** How long a connection waits for a lock held by another process before failing. */
const BUSY_TIMEOUT_MS = 5000;

/** Renames a database with its WAL files, so that no write it holds is left behind; any of them may be missing. */
export function renameDatabase(from: string, to: string): void {
  for (const ext of ['-wal', '-shm', '']) if (fs.existsSync(from + ext)) fs.renameSync(from + ext, to + ext);
}

/**
 * Moves whatever is at `file` (the database, its WAL files, or only WAL files
 * left behind when the database itself was removed) to `<file>.<suffix>-<time>`;
 * returns that name, or null when nothing was there. A WAL left without its
 * database would otherwise be replayed by SQLite into the next database opened
 * at that name.
 */
export function moveDatabaseAside(file: string, suffix: string): string | null {
  if (!['', '-wal', '-shm'].some((ext) => fs.existsSync(file + ext))) return null;
  const aside = `${file}.${suffix}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameDatabase(file, aside);
  return aside;
}

/**
 * A WAL (and its index) left where the database file no longer is: the
 * database was removed or lost on its own. SQLite would replay that WAL,
 * another database's pages, into the new file created at the same name, and
 * the daemon would start on a catalog made of a lost one's fragments. Moves
 * them aside as moveDatabaseAside does (kept for an operator, never
 * deleted); returns the name, or null when the database exists or nothing
 * was left.
 */
export function setAsideOrphanedWal(file: string): string | null {
  return fs.existsSync(file) ? null : moveDatabaseAside(file, 'orphaned-wal');
}

/**
 * Opens (creating if needed) the database file for writing. The file is created
 * 0600 and its directory 0700: the catalog names every client's photos.
 */
export function openWriter(file: string): Db {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Created by us first so the mode is ours, not SQLite's default 0644;
  // SQLite gives the -wal and -shm files the same mode as the database.
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  const db = new Database(file);
  try {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`could not switch ${file} to WAL (journal_mode is ${String(mode)})`);
    // FULL syncs the WAL on every commit: an acknowledged write survives kill -9 and power loss.
    db.pragma('synchronous = FULL');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Opens a read-only connection to a database the writer has already created. */
export function openReader(file: string): Db {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
