// A catalog of many tenants for the search benchmarks, built fast: rows go
// straight into the file by SQL in one transaction (the benchmarks measure
// searching, not storing), then the catalog is reopened as the daemon opens it.
//
// 100 tenants and 1,000 users share the rows evenly. Each filename holds one
// word of a 100-word vocabulary (so a one-word search matches 1% of a
// tenant's rows, at every size), a second one of 37 words, and the row's number.

import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { Catalog } from '../src/daemon/db/catalog';
import { indexAllPhotoWords } from '../src/daemon/db/photo-words';

export const TENANTS = 100;
const USERS = 1000;
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'pu'];
/** 100 words; 'sunset' is one of them. */
export const VOCABULARY = SYLLABLES.flatMap((a) => SYLLABLES.map((b) => `${a}${b}ra`)).map((w, i) => (i === 0 ? 'sunset' : w));
const SECOND = Array.from({ length: 37 }, (_, i) => `${SYLLABLES[i % 10]}${SYLLABLES[(i * 7) % 10]}x${i}`);

export const tenant = (n: number) => `tenant-${String(n).padStart(2, '0')}`;

/** Creates a catalog file of `rows` committed photos; resolves to the seconds the inserts took. */
export function buildSearchCatalog(dir: string, name: string, rows: number): { file: string; insertSeconds: number } {
  const file = path.join(dir, `${name}.db`);
  Catalog.open({ path: file, logger: pino({ level: 'silent' }) }).close();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const insert = db.prepare(`INSERT INTO photos (id, client_id, user_id, session_id, original_filename, mime_type, bucket, s3_key, size, checksum,
      metadata, state, state_changed_at, uploaded_at, created_at, updated_at)
    VALUES (?, ?, ?, NULL, ?, ?, 'images', ?, ?, ?, '{"album":"bench"}', 'committed', ?, ?, ?, ?)`);
  const start = Date.parse('2024-01-01T00:00:00.000Z');
  const started = performance.now();
  const batch = 50_000;
  for (let from = 0; from < rows; from += batch) {
    db.transaction(() => {
      for (let i = from; i < Math.min(rows, from + batch); i++) {
        const id = randomUUID();
        const at = new Date(start + i * 1000).toISOString();
        const word = VOCABULARY[Math.floor(i / TENANTS) % VOCABULARY.length]!;
        const filename = `${word}-${SECOND[i % SECOND.length]} ${i}.jpg`;
        const mime = i % 5 === 0 ? 'image/png' : 'image/jpeg';
        insert.run(id, tenant(i % TENANTS), `user-${i % USERS}`, filename, mime, `storaged/${id}.jpg`, 1000 + (i % 5000), 'ab'.repeat(32), at, at, at, at);
      }
    })();
  }
  indexAllPhotoWords(db);
  const insertSeconds = (performance.now() - started) / 1000;
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { file, insertSeconds };
}
