// The two connections the catalog holds: one writer (used only by the
// WriterActor) and one read-only connection for queries. WAL lets the reader
// see every committed write without ever blocking the writer.

import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/** How long a connection waits for a lock held by another process before failing. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * A WAL (and its index) left where the database file no longer is: the
 * database was removed or lost on its own. SQLite would replay that WAL,
 * another database's pages, into the new file created at the same name, and
 * the daemon would start on a catalog made of a lost one's fragments. Moves
 * them to `<file>-wal.orphaned-<time>` (kept for an operator, never deleted);
 * returns the new names, none when the database exists or nothing was left.
 */
export function setAsideOrphanedWal(file: string): string[] {
  if (fs.existsSync(file)) return [];
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const moved: string[] = [];
  for (const ext of ['-wal', '-shm']) {
    if (!fs.existsSync(file + ext)) continue;
    const aside = `${file}${ext}.orphaned-${stamp}`;
    fs.renameSync(file + ext, aside);
    moved.push(aside);
  }
  return moved;
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
