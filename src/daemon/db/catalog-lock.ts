// One process at a time on a SQLite catalog: the daemon for its whole life, an
// operator command (rebuild, restore, migrate-catalog, check --repair) for its
// run. Asking the socket whether a daemon is running missed a daemon whose
// socket file was removed or which listens elsewhere (another STORAGED_SOCKET),
// and a restore or rebuild then put another file in place under it: the
// daemon went on acknowledging writes to a file that was no longer the
// catalog. Two daemons could also start on one file.
//
// The lock is SQLite's own: an EXCLUSIVE transaction, never committed, on a
// small file beside the catalog (`<catalog>.lock`, 0600). SQLite takes it with
// fcntl locks, which the kernel drops when the process ends, however it ends,
// so a daemon killed with SIGKILL leaves nothing stale behind (a pid file or a
// lock directory would, and would need guessing whether its owner still
// lives). The catalog file itself cannot carry it: in WAL mode its readers and
// its writer share it by design, and the daemon's search threads read it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../config/config-error';

/** Another process holds the catalog: a running daemon (whatever its socket) or an operator command. */
export class CatalogInUseError extends Error {
  readonly code = 'CATALOG_IN_USE';
  readonly lockFile: string;
  constructor(lockFile: string, doing: string) {
    super(
      `the catalog is in use by another storaged process (a running daemon, whatever its socket, or an operator command): ` +
        `${lockFile} is locked; stop that process before ${doing}`,
    );
    this.name = 'CatalogInUseError';
    this.lockFile = lockFile;
  }
}

/**
 * Throws CatalogPathIsDirectory (a ConfigError) when SQLITE_PATH names a directory (a mistaken path, or a
 * volume mounted at the file's name): SQLite would fail with a bare I/O error,
 * and a command that moves "the catalog" aside would move that directory,
 * with whatever it holds, and put a file in its place.
 */
export function refuseDirectoryCatalog(sqlitePath: string): void {
  if (fs.statSync(sqlitePath, { throwIfNoEntry: false })?.isDirectory() === true) throw new CatalogPathIsDirectory(sqlitePath);
}

/** A daemon exits EX_CONFIG on it (a restart cannot help), unlike a node id in use, which frees itself. */
export class CatalogPathIsDirectory extends ConfigError {
  constructor(sqlitePath: string) {
    super('SQLITE_PATH', `${sqlitePath} is a directory, not a catalog file: point SQLITE_PATH (or STORAGED_DATA_DIR) at the catalog file`);
    this.name = 'CatalogPathIsDirectory';
  }
}

export class CatalogLock {
  readonly file: string;
  readonly #db: Database.Database;

  private constructor(file: string, db: Database.Database) {
    this.file = file;
    this.#db = db;
  }

  /**
   * Takes the lock beside `sqlitePath` at once, or throws CatalogInUseError
   * (`doing`: what the lock is for, for its message), or
   * CatalogPathIsDirectory when `sqlitePath` names a directory.
   */
  static take(sqlitePath: string, doing: string): CatalogLock {
    // Before anything is made beside it: a lock file left next to a mistaken path would be one more thing to clean up.
    refuseDirectoryCatalog(sqlitePath);
    const file = `${sqlitePath}.lock`;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // Made 0600 before SQLite opens it, whatever the umask; a file left by an earlier run keeps its mode, so set it
    // again, by path. Never opened here once it exists: closing any descriptor of a file drops every fcntl lock this
    // process holds on it, so an open and close beside a daemon holding the lock in this process would let it go.
    try {
      fs.closeSync(fs.openSync(file, 'wx', 0o600));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    fs.chmodSync(file, 0o600);
    // timeout 0: a held lock answers SQLITE_BUSY at once, instead of after better-sqlite3's default wait of 5 s.
    const db = new Database(file, { timeout: 0 });
    try {
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new CatalogInUseError(file, doing);
      throw err;
    }
    return new CatalogLock(file, db);
  }

  /** Lets go (closing the connection ends the transaction); the file stays, for the next holder. */
  release(): void {
    if (this.#db.open) this.#db.close();
  }
}
