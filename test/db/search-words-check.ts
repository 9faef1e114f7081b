// Checks photo_words against the photos it indexes: exactly the words
// wordsOf cuts from each committed photo's filename and MIME type, under its
// client, and none for any other row; and each client's count of committed photos.

import * as assert from 'node:assert/strict';
import type Database from 'better-sqlite3';
import { wordsOf } from '../../src/daemon/db/search-words';

export function assertWordsInStep(db: Database.Database): void {
  const expected = new Set<string>();
  const rows = db.prepare("SELECT seq, client_id, original_filename, mime_type FROM photos WHERE state = 'committed'").all() as Array<{
    seq: number;
    client_id: string;
    original_filename: string;
    mime_type: string;
  }>;
  for (const row of rows) for (const word of wordsOf(row.original_filename, row.mime_type)) expected.add(`${row.client_id}\u0000${word}\u0000${row.seq}`);
  const actual = new Set(
    (db.prepare('SELECT client_id, word, seq FROM photo_words').all() as Array<{ client_id: string; word: string; seq: number }>).map(
      (w) => `${w.client_id}\u0000${w.word}\u0000${w.seq}`,
    ),
  );
  assert.deepEqual([...actual].sort(), [...expected].sort());
  // tenant_photos: each client's committed photos, as the triggers keep them.
  const counted = db.prepare("SELECT client_id, count(*) AS n FROM photos WHERE state = 'committed' GROUP BY client_id ORDER BY client_id").all();
  const kept = db.prepare('SELECT client_id, committed AS n FROM tenant_photos WHERE committed > 0 ORDER BY client_id').all();
  assert.deepEqual(kept, counted);
}
