// Keeps photo_words (migrations/004_search_words.sql) in step with the
// committed photos: the writer calls indexPhoto in the same transaction as
// any write that commits, adopts or renames a photo; the triggers of 004
// remove a photo's words when it is deleted or hidden.

import type { Db } from './open-database';
import { wordsOf } from './search-words';

interface WordSource {
  seq: number;
  client_id: string;
  original_filename: string;
  mime_type: string;
}

function prepare(db: Db) {
  return {
    committed: db.prepare("SELECT seq, client_id, original_filename, mime_type FROM photos WHERE id = ? AND state = 'committed'"),
    clear: db.prepare('DELETE FROM photo_words WHERE seq = ?'),
    insert: db.prepare('INSERT OR IGNORE INTO photo_words (client_id, word, seq) VALUES (?, ?, ?)'),
  };
}

export class PhotoWords {
  readonly #statements: ReturnType<typeof prepare>;

  constructor(writer: Db) {
    this.#statements = prepare(writer);
  }

  /** (Re)writes the words of photo `id` if it is committed. Runs inside the caller's write transaction. */
  indexPhoto(id: string): void {
    const row = this.#statements.committed.get(id) as WordSource | undefined;
    if (row === undefined) return;
    this.#statements.clear.run(row.seq);
    this.insertRow(row);
  }

  /** Writes the words of a row known to have none. */
  insertRow(row: WordSource): void {
    for (const word of wordsOf(row.original_filename, row.mime_type)) this.#statements.insert.run(row.client_id, word, row.seq);
  }

  /**
   * Indexes every committed photo if migration 004 left its marker (a
   * catalog from before it), in one transaction with the marker's removal.
   * Returns how many photos.
   */
  static backfill(db: Db): number {
    const marker = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'photo_words_backfill'").pluck().get();
    if (marker === undefined) return 0;
    if (db.prepare('SELECT 1 FROM photo_words_backfill').pluck().get() === undefined) return 0;
    return indexAllPhotoWords(db);
  }
}

/** Rewrites the words of every committed photo and clears the backfill marker, in one transaction. */
export function indexAllPhotoWords(db: Db): number {
  const words = new PhotoWords(db);
  // Read a batch at a time: a connection runs no other statement while one is being iterated.
  const batch = db.prepare(`SELECT seq, client_id, original_filename, mime_type FROM photos
    WHERE state = 'committed' AND seq > ? ORDER BY seq LIMIT 10000`);
  return db.transaction(() => {
    db.exec('DELETE FROM photo_words; DELETE FROM photo_words_backfill');
    let count = 0;
    for (let after = 0; ; ) {
      const rows = batch.all(after) as WordSource[];
      if (rows.length === 0) return count;
      for (const row of rows) words.insertRow(row);
      count += rows.length;
      after = rows[rows.length - 1]!.seq;
    }
  })();
}
