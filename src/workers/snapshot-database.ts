// A consistent copy of the catalog while the daemon serves. `VACUUM INTO`
// reads the whole database inside one read transaction, so the copy is the
// database as of one moment, whatever the writer commits meanwhile (WAL lets
// it go on), and it is compacted. SQLite's online backup API was the other
// candidate: it restarts from the first page whenever another connection
// writes, so under steady stores it may never finish. Runs in a worker thread
// (or in the `storaged backup` command's own process), never on the daemon's
// event loop: copying a large file takes seconds.

import * as fs from 'node:fs';
import Database from 'better-sqlite3';

export function snapshotDatabase(task: { source: string; target: string }): { bytes: number } {
  const db = new Database(task.source, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    // The target must not exist; the caller names a fresh temp file.
    db.prepare('VACUUM INTO ?').run(task.target);
  } finally {
    db.close();
  }
  fs.chmodSync(task.target, 0o600);
  return { bytes: fs.statSync(task.target).size };
}
