// Search pages read their rows in raw mode and build the records themselves
// (photo-row.ts recordOf, measured faster than better-sqlite3's object
// mode): the records must be exactly what object mode gives, for every
// column, nulls, numbers and non-ASCII text included.

import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Catalog } from '../../src/daemon/db/catalog';
import { PHOTO_COLUMNS, recordOf } from '../../src/daemon/db/photo-row';
import { createLogger } from '../../src/daemon/logger';
import { tempDir } from '../support/temp-dir';

test('recordOf builds from a raw row the record object mode returns, every column in place', (t) => {
  const file = path.join(tempDir(t), 'storage.db');
  Catalog.open({ path: file, logger: createLogger('silent') }).close();
  const db = new Database(file);
  t.after(() => db.close());
  const insert = db.prepare(`INSERT INTO photos (id, client_id, user_id, session_id, original_filename, mime_type, bucket, s3_key, size, checksum,
      width, height, duration, processing_status, processing_metadata, processing_error, processing_started_at, processing_completed_at,
      metadata, state, state_changed_at, uploaded_at, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'committed', ?, ?, ?, ?)`);
  // Every column holds a value no other column holds, so a value read from the wrong place shows.
  insert.run('id-1', 'client-1', 'user-1', 'session-1', 'Ünïcödé 写真.jpg', 'image/jpeg', 'images', 'storaged/id-1.jpg', 123_456, 'ab'.repeat(32),
    640, 480, 7, 'failed', '{"faces":[1.5,2]}', 'decoder gave up', '2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z',
    '{"album":"été"}', '2026-01-01T00:00:03.000Z', '2026-01-01T00:00:04.000Z', '2026-01-01T00:00:05.000Z', '2026-01-01T00:00:06.000Z');
  insert.run('id-2', 'client-2', null, null, 'plain.png', 'image/png', 'videos', 'storaged/id-2.png', 0, 'cd'.repeat(32),
    null, null, null, 'queued', null, null, null, null, '{}', '2026-01-01T00:00:07.000Z', '2026-01-01T00:00:08.000Z', '2026-01-01T00:00:09.000Z', '2026-01-01T00:00:10.000Z');

  const sql = `SELECT ${PHOTO_COLUMNS} FROM photos p ORDER BY p.seq`;
  const objects = db.prepare(sql).all() as Record<string, unknown>[];
  const raw = db.prepare(sql).raw(true).all() as unknown[][];
  assert.equal(objects.length, 2);
  raw.forEach((row, i) => {
    const record = recordOf(row);
    assert.deepEqual(record, objects[i]);
    assert.deepEqual(Object.keys(record), Object.keys(objects[i]!), 'the same keys, in the same order');
  });
});
