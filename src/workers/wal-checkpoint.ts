// Runs in a Piscina worker thread. A WAL checkpoint copies the log back into
// the database file and fsyncs it: I/O that, left to SQLite's auto-checkpoint,
// would run inside a COMMIT on the daemon's event loop. A PASSIVE checkpoint
// from its own connection never blocks the writer or readers; it copies what
// it can and tries again next time.
//
// The connection lives for one checkpoint only: opening one costs well under
// a millisecond at this cadence, and the daemon's own connections then stay
// the last to close, so a clean shutdown folds the WAL into the database.

import Database from 'better-sqlite3';

export interface CheckpointResult {
  /** 1 when another connection held a lock that cut the checkpoint short. */
  busy: number;
  /** Frames in the WAL. */
  log: number;
  /** Frames copied back into the database. */
  checkpointed: number;
}

export function walCheckpoint(task: { file: string }): CheckpointResult {
  const db = new Database(task.file, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 1000');
    const [row] = db.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[];
    return row!;
  } finally {
    db.close();
  }
}
