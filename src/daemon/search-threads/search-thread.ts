// One search thread: its own read-only connection to the catalog's file, on
// which it runs the searches the main thread sends, one at a time, each within
// its deadline (db/search-deadline.ts). WAL gives every search a snapshot
// that holds every write committed before it began, so a caller sees its
// own acknowledged writes.

import { parentPort, workerData } from 'node:worker_threads';
import { StorageError, type WireError } from '../../protocol/errors';
import { openReader } from '../db/open-database';
import { runSearchRecords } from '../db/photo-search';
import type { RecordPage } from '../db/search-page';
import { DeadlinePassed, SearchDeadline } from '../db/search-deadline';
import type { SearchPlan } from '../db/search-query';
import { StatementCache } from '../db/statement-cache';
import { applyThreadPriority } from '../../workers/thread-priority';

/** What the main thread gives each thread when it starts it. */
export interface SearchThreadSettings {
  /** The catalog's SQLite file. */
  path: string;
  /** The thread's nice value (0-19): a long search yields the core to the event loop. */
  nice: number;
}

export interface SearchTask {
  id: number;
  clientId: string;
  plan: SearchPlan;
  /** How long the search may run, from when this thread takes it. */
  timeoutMs: number;
}

export type ThreadFailure =
  | { kind: 'deadline' }
  /** An error storaged raises for the caller (a cursor of another search: VALIDATION). */
  | { kind: 'storage'; wire: WireError }
  /** Anything else: a bug or SQLite's own error, for the log; the caller sees INTERNAL. */
  | { kind: 'internal'; message: string; stack: string | undefined };

export type ThreadMessage = { ready: true } | { id: number; page: RecordPage } | { id: number; failure: ThreadFailure };

/** The main thread asks a thread to close its connection and exit. */
export const CLOSE = 'close';

function failureOf(err: unknown): ThreadFailure {
  if (err instanceof DeadlinePassed) return { kind: 'deadline' };
  if (err instanceof StorageError) return { kind: 'storage', wire: err.toWire() };
  const error = err instanceof Error ? err : new Error(String(err));
  return { kind: 'internal', message: error.message, stack: error.stack };
}

if (parentPort !== null) {
  const port = parentPort;
  const settings = workerData as SearchThreadSettings;
  applyThreadPriority({ nice: settings.nice });
  const db = openReader(settings.path);
  const deadline = new SearchDeadline(db);
  const statements = new StatementCache(db);
  port.on('message', (message: SearchTask | typeof CLOSE) => {
    if (message === CLOSE) {
      db.close();
      port.close();
      return;
    }
    let answer: ThreadMessage;
    try {
      answer = { id: message.id, page: deadline.within(message.timeoutMs, () => runSearchRecords(db, statements, message.clientId, message.plan, true)) };
    } catch (err) {
      answer = { id: message.id, failure: failureOf(err) };
    }
    port.postMessage(answer);
  });
  port.postMessage({ ready: true } satisfies ThreadMessage);
}
