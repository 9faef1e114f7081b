// A full disk is an outage for the operator to fix, not a bug: stores that hit
// one fail as UNAVAILABLE (retryable) naming which disk, instead of INTERNAL.
// Reads go on meanwhile, and the next write after space returns succeeds.

import { UnavailableError } from '../protocol/errors';

/** ENOSPC/EDQUOT from the file system, SQLITE_FULL from SQLite (better-sqlite3's SqliteError.code). */
const DISK_FULL = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

export function isDiskFull(err: unknown): boolean {
  return typeof err === 'object' && err !== null && DISK_FULL.has(String((err as { code?: unknown }).code));
}

/** `err` as the UNAVAILABLE a caller should see when it means a full disk under `what`; otherwise `err` as it is. */
export function diskFullAs(err: unknown, what: string): unknown {
  if (!isDiskFull(err)) return err;
  return new UnavailableError(`${what} is on a full disk; nothing was stored: free space there, then retry`, { cause: err });
}
