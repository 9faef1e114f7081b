// Issue 13, items 4 and 5: what one search may cost. Words are deduped and
// capped, a search reads only the caller's own slice of the word index
// (checked on SQLite's own query plans, not on timings), a page is cut by
// bytes (catalog-pagination.test.ts, on both engines), and catalogs from
// before the word index are indexed when opened.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Catalog } from '../../src/daemon/db/catalog';
import { runSearch } from '../../src/daemon/db/photo-search';
import { parseSearchQuery } from '../../src/daemon/db/search-query';
import { compileTextMatch, MAX_QUERY_WORDS } from '../../src/daemon/db/search-words';
import { StatementCache } from '../../src/daemon/db/statement-cache';
import { ValidationError } from '../../src/protocol/errors';
import { addCommitted, catalogAtVersion, newRow, openTestCatalog, silentLogger, TempDir } from './catalog-fixture';
import { assertWordsInStep } from './search-words-check';

test('search words are folded by unicode61, deduped, and a word that begins another adds nothing', () => {
  assert.deepEqual(compileTextMatch('Beach beach BEACH be bea'), { kind: 'words', words: ['beach'] });
  assert.deepEqual(compileTextMatch('Café cafe sun SUNSET'), { kind: 'words', words: ['sunset', 'cafe'] });
  assert.deepEqual(compileTextMatch('!!! ---'), { kind: 'nothing' });
  assert.deepEqual(compileTextMatch('  '), { kind: 'any' });
  assert.deepEqual(compileTextMatch('x'.repeat(256)), { kind: 'nothing' }, 'longer than any indexed word: matches nothing');
});

test(`more than ${MAX_QUERY_WORDS} different words are refused; repeated words are not counted twice`, async (t) => {
  const { catalog } = openTestCatalog(t);
  const photo = await addCommitted(catalog, { original_filename: 'a1 b2 c3 d4 e5 f6 g7 h8.jpg' });
  assert.deepEqual((await catalog.search('client-a', { query: 'a1 b2 c3 d4 e5 f6 g7 h8' })).photos.map((p) => p.id), [photo.id]);
  assert.equal((await catalog.search('client-a', { query: 'beach '.repeat(40) })).total, 0);
  assert.equal((await catalog.search('client-a', { query: 'a b c d e f g h a1 b2 c3 d4 e5 f6 g7 h8' })).total, 1, 'prefixes of other words drop out');
  await assert.rejects(async () => catalog.search('client-a', { query: 'a1 b2 c3 d4 e5 f6 g7 h8 i9' }), (err: unknown) => {
    assert.ok(err instanceof ValidationError);
    assert.equal(err.message, `query has 9 different words; at most ${MAX_QUERY_WORDS} are searched: leave out the shortest ones`);
    return true;
  });
});

test('accents, case and decomposed forms find the same photos', async (t) => {
  const { catalog } = openTestCatalog(t);
  const cafe = await addCommitted(catalog, { original_filename: 'Café.jpg' });
  const decomposed = await addCommitted(catalog, { original_filename: 'cafe\u0301 2.jpg' });
  const korean = await addCommitted(catalog, { original_filename: '한국.png', mime_type: 'image/png' });
  const both = [cafe.id, decomposed.id].sort();
  for (const query of ['cafe', 'CAFÉ', 'café', 'caf']) {
    assert.deepEqual((await catalog.search('client-a', { query })).photos.map((p) => p.id).sort(), both, query);
  }
  assert.deepEqual((await catalog.search('client-a', { query: '한' })).photos.map((p) => p.id), [korean.id]);
  assert.equal((await catalog.search('client-a', { query: '하' })).total, 0, 'Hangul syllables stay whole');
});

/** The SQL a search runs, captured from its statement cache. */
class RecordingStatements extends StatementCache {
  readonly sql: string[] = [];
  override get(sql: string) {
    this.sql.push(sql);
    return super.get(sql);
  }
}

function plansOf(db: Database.Database, clientId: string, query: unknown): string[] {
  const statements = new RecordingStatements(db);
  runSearch(db, statements, clientId, parseSearchQuery(query));
  return statements.sql.flatMap((sql) =>
    // Our fragments hold no literal '?', so counting them counts the parameters.
    (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...sql.split('?').slice(1).map(() => null)) as Array<{ detail: string }>).map(
      (row) => row.detail,
    ),
  );
}

test('the worst text a caller can send reads only its own words and rows, by index', async (t) => {
  const { catalog, file } = openTestCatalog(t);
  // Another tenant with every word the caller searches for.
  const writes = [];
  for (let i = 0; i < 300; i++) {
    writes.push(addCommitted(catalog, { client_id: 'client-big', original_filename: `a b c d e f g h ${i}.jpg` }));
  }
  await Promise.all(writes);
  const mine = await addCommitted(catalog, { original_filename: 'a b c d e f g h.jpg' });
  const reader = new Database(file, { readonly: true });
  t.after(() => reader.close());

  const worst = [
    { query: 'a b c d e f g h', limit: 1000 },
    { query: 'h g f e d c b a', limit: 1000, sort: { field: 'size', order: 'asc' } },
    { query: 'i', limit: 1000, filters: { user_id: 'user-1' } },
    { query: 'a', limit: 1000, offset: 100_000 },
  ];
  // client-a's one photo is looked up from its words; client-big's page walks its upload-time index.
  for (const [client, query] of worst.flatMap((q) => [['client-a', q], ['client-big', q]] as const)) {
    const plans = plansOf(reader, client, query);
    assert.ok(plans.length > 0);
    for (const detail of plans) {
      assert.doesNotMatch(detail, /^SCAN (w|o|p|photos|photo_words)\b/, `${JSON.stringify(query)}: ${detail}`);
      if (/\bphoto_words\b|^SEARCH [wo] /.test(detail)) {
        assert.match(detail, /client_id=\? AND word>\? AND word<\?|seq=\? AND word>\? AND word<\?/, `${JSON.stringify(query)}: ${detail}`);
      }
    }
  }
  assert.deepEqual((await catalog.search('client-a', worst[0]!)).photos.map((p) => p.id), [mine.id]);
  assert.equal((await catalog.search('client-big', worst[0]!)).total, 300);
  assert.equal((await catalog.search('client-big', { query: 'a b c d e f g h', limit: 10 })).photos.length, 10);
  // Every photo of client-big matches: the page walks the upload-time index, and must list what the plain listing lists.
  const listing = async (query: object) => (await catalog.search('client-big', { limit: 20, ...query })).photos.map((p) => p.id);
  assert.deepEqual(await listing({ query: 'a h' }), await listing({}));
  assert.deepEqual(await listing({ query: 'jpg', offset: 40 }), await listing({ offset: 40 }));
  const cursor = (await catalog.search('client-big', { query: 'a', limit: 20 })).page.nextCursor!;
  const plainCursor = (await catalog.search('client-big', { limit: 20 })).page.nextCursor!;
  assert.deepEqual(
    (await catalog.search('client-big', { query: 'a', limit: 20, cursor })).photos.map((p) => p.id),
    (await catalog.search('client-big', { limit: 20, cursor: plainCursor })).photos.map((p) => p.id),
  );
});

test('a catalog written before the word index is indexed when the daemon opens it', async (t) => {
  const dir = new TempDir(t);
  // The file as storaged wrote it before 004: its migrations, rows committed by SQL.
  const old = catalogAtVersion(dir, 3);
  const stored = [];
  for (const name of ['beach day.jpg', 'mountain.png', 'beach night.jpg']) {
    const row = newRow({ original_filename: name });
    old.insert(row, 'committed');
    stored.push(row);
  }
  const pending = newRow({ original_filename: 'beach pending.jpg' });
  old.insert(pending, 'pending');
  old.db.close();

  const catalog = Catalog.open({ path: old.file, logger: silentLogger });
  dir.closeLater(() => catalog.close());
  assert.deepEqual((await catalog.search('client-a', { query: 'beach' })).photos.map((p) => p.id).sort(), [stored[0]!.id, stored[2]!.id].sort());
  await catalog.commitPending(pending.id);
  assert.equal((await catalog.search('client-a', { query: 'beach' })).total, 3, 'a photo committed after the upgrade is indexed too');
  const raw = new Database(old.file);
  dir.closeLater(() => raw.close());
  assertWordsInStep(raw);
  assert.equal(raw.prepare('SELECT count(*) FROM photo_words_backfill').pluck().get(), 0);
});

test('the words follow commits, renames, hiding, deletes, adoption and forgetting', async (t) => {
  const { catalog, raw } = openTestCatalog(t);
  const a = await addCommitted(catalog, { original_filename: 'one two.jpg' });
  const b = await addCommitted(catalog, { original_filename: 'three.jpg', client_id: 'client-b' });
  const pending = newRow({ original_filename: 'pending.jpg' });
  await catalog.insertPending(pending);
  assertWordsInStep(raw());
  await catalog.updateMetadata('client-a', a.id, { original_filename: 'four five.png' });
  assertWordsInStep(raw());
  await catalog.markDeleting('client-b', b.id);
  assertWordsInStep(raw());
  await catalog.deleteRow(b.id);
  const adopted = newRow({ original_filename: 'adopted.jpg' });
  await catalog.adoptRows([{ ...adopted, uploaded_at: new Date().toISOString() }]);
  assert.equal((await catalog.search('client-a', { query: 'adopted' })).total, 1);
  await catalog.forgetRows([adopted.id]);
  assertWordsInStep(raw());
  assert.equal((await catalog.search('client-a', { query: 'pending' })).total, 0);
});
