// The PostgreSQL word index keyed by tenant (migrations/postgres/006):
// migrating a catalog that already holds photos indexes the committed ones;
// every writer's change (commit, rename, delete, rollback, adoption, the
// copy's TRUNCATE) leaves photo_words holding exactly the lexemes of the
// committed rows under their own client; and a search driven from it gives
// the answers the search before it gave (search_words @@ tsquery over the
// tenant's committed rows), phrases, prefixes and non-ASCII words included.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import pg from 'pg';
import { applyPgMigrations, DEFAULT_PG_MIGRATIONS_DIR } from '../../src/daemon/catalog-pg/migrations';
import { PostgresCatalog } from '../../src/daemon/catalog-pg/pg-catalog';
import { runPgSearch } from '../../src/daemon/catalog-pg/photo-search';
import { photoSearchWords, searchTsqueryOf } from '../../src/daemon/catalog-pg/search-words';
import { parseSearchQuery } from '../../src/daemon/db/search-query';
import { newRow, silentLogger } from '../db/catalog-fixture';
import { startPostgres, type PostgresHandle } from '../support/postgres';
import { tempDir } from '../support/temp-dir';

let server: PostgresHandle;
before(async () => {
  server = await startPostgres();
});
after(() => server.dispose());

async function freshPool(t: TestContext, url?: string): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url ?? (await server.createDatabase()), max: 3 });
  // pg-pool can still hand an ended client's last message (the server shutting down) to this event; queries reject on their own.
  pool.on('error', () => {});
  t.after(() => pool.end());
  return pool;
}

/** The migrations of PostgreSQL up to `version`, in a directory of their own: a catalog as an older storaged left it. */
function migrationsUpTo(t: TestContext, version: number): string {
  const dir = path.join(tempDir(t), `migrations-${version}`);
  fs.mkdirSync(dir);
  for (const name of fs.readdirSync(DEFAULT_PG_MIGRATIONS_DIR)) {
    const at = /^(\d{3})_.*\.sql$/.exec(name);
    if (at !== null && Number(at[1]) <= version) fs.copyFileSync(path.join(DEFAULT_PG_MIGRATIONS_DIR, name), path.join(dir, name));
  }
  return dir;
}

/** What photo_words must hold: each committed row's lexemes, under its own client. Differences both ways, as text. */
async function wordsOutOfStep(db: pg.Pool): Promise<string[]> {
  const { rows } = await db.query<{ side: string; client_id: string; word: string; seq: string }>(`
    WITH expected AS (
      SELECT p.client_id, w.word COLLATE "C" AS word, p.seq FROM photos p, unnest(tsvector_to_array(p.search_words)) AS w (word)
      WHERE p.state = 'committed'
    )
    (SELECT 'missing' AS side, * FROM expected EXCEPT ALL SELECT 'missing', client_id, word, seq FROM photo_words)
    UNION ALL
    (SELECT 'stray', client_id, word, seq FROM photo_words EXCEPT ALL SELECT 'stray', * FROM expected)
    ORDER BY 1, 2, 3, 4`);
  return rows.map((r) => `${r.side} ${r.client_id} ${r.word} ${r.seq}`);
}

async function wordCount(db: pg.Pool): Promise<number> {
  return Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM photo_words')).rows[0]!.n);
}

const INSERT = `INSERT INTO photos (id, client_id, original_filename, mime_type, bucket, s3_key, size, checksum, state,
    state_changed_at, uploaded_at, created_at, updated_at, search_words)
  VALUES ($1, $2, $3, $4, 'images', 'k/' || $1, 1, repeat('a', 64), $5, $6, $6, $6, $6, $7::tsvector)`;

async function insertRow(db: pg.Pool, id: string, clientId: string, name: string, state: string, at = '2024-01-01T00:00:00.000Z'): Promise<void> {
  await db.query(INSERT, [id, clientId, name, 'image/jpeg', state, at, photoSearchWords(name, 'image/jpeg')]);
}

async function ids(db: pg.Pool, clientId: string, query: string): Promise<string[]> {
  const page = await runPgSearch(db, clientId, parseSearchQuery({ query, limit: 1000 }));
  assert.equal(page.total, page.photos.length);
  return page.photos.map((p) => p.id).sort();
}

test('migrating a catalog at version 5 indexes its committed photos, and only those', async (t) => {
  const db = await freshPool(t);
  await applyPgMigrations(db, migrationsUpTo(t, 5));
  await insertRow(db, 'a-beach', 'client-a', 'Beach at dawn.jpg', 'committed');
  await insertRow(db, 'a-café', 'client-a', 'Café de Flore.jpg', 'committed');
  await insertRow(db, 'a-pending', 'client-a', 'beach pending.jpg', 'pending');
  await insertRow(db, 'a-deleting', 'client-a', 'beach deleting.jpg', 'deleting');
  await insertRow(db, 'b-beach', 'client-b', 'beach of b.jpg', 'committed');

  assert.deepEqual((await applyPgMigrations(db, migrationsUpTo(t, 6))).applied, [6]);
  assert.deepEqual(await wordsOutOfStep(db), []);
  assert.ok((await wordCount(db)) >= 12, 'the committed rows have their words');
  assert.deepEqual(await ids(db, 'client-a', 'bea'), ['a-beach']);
  assert.deepEqual(await ids(db, 'client-a', 'cafe'), ['a-café']);
  assert.deepEqual(await ids(db, 'client-b', 'beach'), ['b-beach']);
  const seqs = await db.query("SELECT 1 FROM photo_words w JOIN photos p USING (seq) WHERE p.state <> 'committed' OR p.client_id <> w.client_id");
  assert.equal(seqs.rowCount, 0, 'no word of a row in flight, none under another client');
});

test('every write of the catalog keeps the words in step: commit, rename, delete, rollback, adoption, forgetting', async (t) => {
  const url = await server.createDatabase();
  const catalog = await PostgresCatalog.open({ url, logger: silentLogger, nodeId: 'node-a' });
  t.after(() => catalog.close());
  const db = await freshPool(t, url);
  const found = async (clientId: string, query: string) => (await catalog.search(clientId, { query, limit: 100 })).photos.map((p) => p.id).sort();

  const kept = newRow({ id: 'kept', original_filename: 'lighthouse at night.jpg' });
  await catalog.insertPending(kept);
  assert.ok((await wordCount(db)) === 0, 'a pending row has no words');
  assert.deepEqual(await found('client-a', 'lighthouse'), [], 'nor is it found');
  await catalog.commitPending(kept.id);
  assert.deepEqual(await found('client-a', 'lighthouse'), ['kept']);
  assert.deepEqual(await wordsOutOfStep(db), []);

  await catalog.updateMetadata('client-a', kept.id, { original_filename: 'harbour crane.png' });
  assert.deepEqual(await found('client-a', 'lighthouse'), [], 'the old name is gone');
  assert.deepEqual(await found('client-a', 'harb'), ['kept'], 'the new one is found');
  await catalog.updateMetadata('client-a', kept.id, { processing_status: 'in_progress' });
  assert.deepEqual(await wordsOutOfStep(db), []);

  const discarded = newRow({ id: 'discarded', original_filename: 'harbour discarded.jpg' });
  await catalog.insertPending(discarded);
  await catalog.discardPending(discarded.id);
  const abandoned = newRow({ id: 'abandoned', original_filename: 'harbour abandoned.jpg' });
  await catalog.insertPending(abandoned);
  await catalog.abandonPending(abandoned.id);
  assert.deepEqual(await found('client-a', 'harbour'), ['kept'], 'rolled-back rows are never found');

  const recovered = newRow({ id: 'recovered', original_filename: 'harbour recovered.jpg' });
  await catalog.insertPending(recovered);
  assert.equal(await catalog.commitRecovered(recovered.id), 'committed');
  assert.equal(await catalog.adoptRows([{ ...newRow({ id: 'adopted', original_filename: 'harbour adopted.jpg', client_id: 'client-b' }), uploaded_at: '2024-02-02T00:00:00.000Z' }]), 1);
  assert.deepEqual(await found('client-a', 'harbour'), ['kept', 'recovered']);
  assert.deepEqual(await found('client-b', 'harbour'), ['adopted']);
  assert.deepEqual(await wordsOutOfStep(db), []);

  await catalog.markDeleting('client-a', kept.id);
  assert.deepEqual(await found('client-a', 'harbour'), ['recovered'], 'a photo being deleted is not found');
  await catalog.deleteRow(kept.id);
  await catalog.forgetRows(['recovered', 'adopted']);
  assert.deepEqual(await found('client-a', 'harbour'), []);
  assert.deepEqual(await wordsOutOfStep(db), []);
  assert.equal(await wordCount(db), 0);
});

test('a commit rolled back leaves no words; TRUNCATE (migrate-catalog --replace) empties them', async (t) => {
  const db = await freshPool(t);
  await applyPgMigrations(db);
  await insertRow(db, 'p1', 'client-a', 'rollback test.jpg', 'pending');
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    await client.query("UPDATE photos SET state = 'committed' WHERE id = 'p1'");
    assert.ok(Number((await client.query('SELECT count(*) AS n FROM photo_words')).rows[0].n) > 0, 'words inside the transaction');
    await client.query('ROLLBACK');
  } finally {
    client.release();
  }
  assert.equal(await wordCount(db), 0);
  await db.query("UPDATE photos SET state = 'committed' WHERE id = 'p1'");
  assert.ok((await wordCount(db)) > 0);
  await db.query('TRUNCATE photos RESTART IDENTITY');
  assert.equal(await wordCount(db), 0);
  // seq 1 again, under another client with other words: nothing of the old photo's is left to find it by.
  await insertRow(db, 'p2', 'client-b', 'other words.jpg', 'committed');
  assert.deepEqual(await ids(db, 'client-a', 'rollback'), []);
  assert.deepEqual(await ids(db, 'client-b', 'rollback'), []);
  assert.deepEqual(await wordsOutOfStep(db), []);
});

test("a tenant never sees another's photo with the same words", async (t) => {
  const db = await freshPool(t);
  await applyPgMigrations(db);
  for (const client of ['client-a', 'client-b', 'client-c']) {
    for (let i = 0; i < 5; i++) await insertRow(db, `${client}-${i}`, client, `shared sunset ${i}.jpg`, 'committed');
  }
  for (const query of ['sunset', 'shared sun', 'jpg', 'image jpeg', '3']) {
    for (const client of ['client-a', 'client-b', 'client-c']) {
      const found = await ids(db, client, query);
      assert.ok(found.length > 0 && found.every((id) => id.startsWith(`${client}-`)), `${client} "${query}": ${found.join(', ')}`);
    }
  }
  assert.deepEqual(await ids(db, 'client-nobody', 'sunset'), []);
});

// The search before the word index, kept here as the reference: every tenant's committed row whose search_words match.
async function searchBefore(db: pg.Pool, clientId: string, text: string, filter = ''): Promise<string[]> {
  const query = searchTsqueryOf(text)?.query ?? null;
  if (query === null) return [];
  const { rows } = await db.query<{ id: string }>(
    `SELECT p.id FROM photos p WHERE p.client_id = $1 AND p.state = 'committed' AND p.search_words @@ $2::tsquery ${filter}
     ORDER BY p.uploaded_at DESC, p.id DESC`,
    [clientId, query],
  );
  return rows.map((r) => r.id);
}

const NAMES = [
  'beach-sunset_2024.jpg', 'sunbeam beach.jpg', 'sunset at the beach.png', 'Café de Flore.jpg', 'ÉCOLE primaire.jpg', 'İstanbul 2023.heic',
  'ΣΑΣ photo.jpg', 'Straße.jpg', '日本語の写真.jpg', 'naïve½³.tiff', 'emoji😀pic.jpg', 'IMG_0001.JPG', 'img-0002.jpg', 'jpeg and jpg.jpeg',
  // U+19B0: a letter to the caller's regex, a separator to unicode61: one word of the caller is a phrase of two tokens.
  'beach\u19b0sunset.jpg', 'beach other sunset.jpg', 'img\u19b00003.jpg',
];

test('a search driven from the words answers as the search before it: prefixes, phrases, non-ASCII, filters', async (t) => {
  const db = await freshPool(t);
  await applyPgMigrations(db);
  let n = 0;
  for (const client of ['client-a', 'client-b']) {
    for (const [i, name] of NAMES.entries()) {
      for (const state of ['committed', 'committed', 'pending']) {
        const at = `2024-03-0${1 + (n % 5)}T10:00:00.000Z`;
        await db.query(INSERT, [`${client}-${n++}`, client, `${i % 3} ${name}`, i % 2 === 0 ? 'image/jpeg' : 'image/png', state, at,
          photoSearchWords(`${i % 3} ${name}`, i % 2 === 0 ? 'image/jpeg' : 'image/png')]);
      }
    }
  }
  await db.query('ANALYZE');
  const texts = [
    'beach', 'bea', 'b', 'sunset beach', 'beach\u19b0sunset', 'beach\u19b0sun', 'img\u19b00003', 'img\u19b00001', 'jp', 'jpg', 'jpeg', 'png image',
    'cafe', 'CAFÉ', 'ecole', 'istanbul', 'σας', 'strasse', '日本', 'naive', '½', '😀', 'pic emoji', '0001', '1', '2 beach', 'nothing here',
  ];
  let matched = 0;
  for (const text of texts) {
    for (const client of ['client-a', 'client-b']) {
      const expected = await searchBefore(db, client, text);
      const page = await runPgSearch(db, client, parseSearchQuery({ query: text, limit: 1000 }));
      assert.deepEqual(page.photos.map((p) => p.id), expected, `${client} "${text}"`);
      assert.equal(page.total, expected.length, `${client} "${text}" total`);
      if (expected.length > 0) matched++;
      // A small page: the same first rows and the same total.
      const small = await runPgSearch(db, client, parseSearchQuery({ query: text, limit: 2 }));
      assert.deepEqual(small.photos.map((p) => p.id), expected.slice(0, 2));
      assert.equal(small.total, expected.length);
    }
    const filtered = await runPgSearch(db, 'client-a', parseSearchQuery({ query: text, limit: 1000, filters: { mime_type: ['image/png'] } }));
    const expected = await searchBefore(db, 'client-a', text, "AND p.mime_type = 'image/png'");
    assert.deepEqual(filtered.photos.map((p) => p.id), expected, `filtered "${text}"`);
    assert.equal(filtered.total, expected.length);
  }
  assert.ok(matched > texts.length, `only ${matched} searches matched anything`);
  // The phrase is a phrase: adjacent tokens in that order, not both words anywhere.
  const phrase = await searchBefore(db, 'client-a', 'beach\u19b0sunset');
  const both = await searchBefore(db, 'client-a', 'beach sunset');
  assert.ok(phrase.length > 0 && phrase.length < both.length, `phrase ${phrase.length}, both words ${both.length}`);
});
