// PostgreSQL search against SQLite search on the same rows: for every query,
// sort, filter and page (offset and cursor), both engines must return the
// same photos in the same order, the same totals and the same cursors. The
// rows are made to be awkward: ties on every sort key, accents and case,
// non-Latin scripts, characters the two engines' own tokenizers would cut
// differently, rows in flight (never visible), two clients.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { applyPgMigrations } from '../../src/daemon/catalog-pg/migrations';
import { runPgSearch, statementName } from '../../src/daemon/catalog-pg/photo-search';
import { photoSearchWords, searchTsqueryOf, SQLITE_TOKENIZER } from '../../src/daemon/catalog-pg/search-words';
import { applyMigrations, DEFAULT_MIGRATIONS_DIR } from '../../src/daemon/db/migrations';
import { runSearch } from '../../src/daemon/db/photo-search';
import type { SearchPage } from '../../src/daemon/db/search-page';
import { indexAllPhotoWords } from '../../src/daemon/db/photo-words';
import { parseSearchQuery } from '../../src/daemon/db/search-query';
import { StatementCache } from '../../src/daemon/db/statement-cache';
import { startPostgres, type PostgresHandle } from '../support/postgres';

let server: PostgresHandle;
let pool: pg.Pool;
let sqlite: Database.Database;
let statements: StatementCache;

const NAMES = [
  'beach-sunset_2024.jpg', 'Beach.PNG', 'BEACHES at dawn.jpeg', 'sunbeam.gif', 'Café de Flore.jpg', 'cafe_menu.pdf',
  'ÉCOLE primaire.jpg', 'İstanbul 2023.heic', 'ΣΑΣ photo.jpg', 'final ς sigma.png', 'Straße.jpg', 'ſtrange long s.jpg',
  '日本語の写真.jpg', 'x\u0301y combining.jpg', 'naïve½³.tiff', 'emoji😀pic.jpg', 'ǅemal.jpg', "o'brien's dog.jpg",
  'back\\slash.jpg', 'a"quote".jpg', 'IMG_0001.JPG', 'IMG_0002.JPG', 'img-0003.jpg', 'scan 2024-01-02.pdf', 'Ⅻ roman.jpg',
];
const MIME_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'application/pdf', 'image/heic', 'image/tiff', 'video/mp4'];
const STATUSES = ['queued', 'in_progress', 'completed', 'failed', 'cancelled'];

/** Deterministic, so a failure can be replayed. */
function* numbers(seed: number): Generator<number> {
  let x = seed;
  for (;;) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    yield x;
  }
}

const COLUMNS = [
  'id', 'client_id', 'user_id', 'session_id', 'original_filename', 'mime_type', 'bucket', 's3_key', 'size', 'checksum',
  'width', 'height', 'duration', 'processing_status', 'processing_metadata', 'processing_error', 'processing_started_at',
  'processing_completed_at', 'metadata', 'state', 'state_changed_at', 'uploaded_at', 'created_at', 'updated_at',
];

function makeRows(count: number): Array<Record<string, unknown>> {
  const random = numbers(42);
  const pick = <T>(list: readonly T[]): T => list[random.next().value! % list.length]!;
  const rows: Array<Record<string, unknown>> = [];
  for (let i = 0; i < count; i++) {
    const id = `p-${String(random.next().value! % 100_000).padStart(5, '0')}-${i}`;
    // Few distinct values, so every sort has ties to break by id.
    const day = String(1 + (random.next().value! % 6)).padStart(2, '0');
    const at = `2024-03-${day}T10:00:00.000Z`;
    const name = pick(NAMES);
    rows.push({
      id,
      client_id: i % 9 === 0 ? 'client-b' : 'client-a',
      user_id: pick(['u1', 'u2', 'u3', null]),
      session_id: pick([null, 's1']),
      original_filename: i % 4 === 0 ? `${i} ${name}` : name,
      mime_type: pick(MIME_TYPES),
      bucket: 'images',
      s3_key: `k/${id}`,
      size: pick([0, 10, 10, 2048, 5_000_000, 2 ** 40]),
      checksum: createHash('sha256').update(id).digest('hex'),
      width: pick([null, 640, 1920]),
      height: pick([null, 480, 1080]),
      duration: null,
      processing_status: pick(STATUSES),
      processing_metadata: pick([null, '{"faces":2,"tags":["x"]}']),
      processing_error: null,
      processing_started_at: null,
      processing_completed_at: null,
      metadata: pick(['{}', '{"b":"2","a":"1"}', '{"album":"Été"}']),
      state: i % 13 === 5 ? 'pending' : i % 17 === 3 ? 'deleting' : 'committed',
      state_changed_at: at,
      uploaded_at: at,
      created_at: pick([at, '2024-03-01T00:00:00.000Z']),
      updated_at: `2024-04-${day}T00:00:00.000Z`,
    });
  }
  return rows;
}

let dir: string;

before(async () => {
  server = await startPostgres();
  pool = new pg.Pool({ connectionString: await server.createDatabase(), max: 4 });
  // pg-pool can still hand an ended client's last message (the server shutting down) to this event; queries reject on their own.
  pool.on('error', () => {});
  await applyPgMigrations(pool);

  // The SQLite side: its own migrations, its own FTS triggers, a real file.
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-parity-'));
  sqlite = new Database(path.join(dir, 'catalog.sqlite'));
  applyMigrations(sqlite);
  statements = new StatementCache(sqlite);
  const rows = makeRows(400);
  const insertSqlite = sqlite.prepare(`INSERT INTO photos (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})`);
  sqlite.transaction(() => rows.forEach((row) => insertSqlite.run(row)))();
  // A rename after insert, search_words recomputed on the other side.
  sqlite.prepare("UPDATE photos SET original_filename = 'renamed lighthouse.jpg' WHERE id = ?").run(rows[1]!.id);
  // Rows written by SQL: their words are cut by the daemon's indexer, as when it opens a catalog from before photo_words.
  indexAllPhotoWords(sqlite);

  const insertPg = `INSERT INTO photos (${COLUMNS.join(', ')}, search_words)
    VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}, $${COLUMNS.length + 1}::tsvector)`;
  const copied = sqlite.prepare(`SELECT ${COLUMNS.join(', ')} FROM photos ORDER BY seq`).all() as Array<Record<string, unknown>>;
  for (const row of copied) {
    await pool.query(insertPg, [...COLUMNS.map((c) => row[c]), photoSearchWords(row.original_filename as string, row.mime_type as string)]);
  }
});

after(async () => {
  sqlite?.close();
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  await pool?.end();
  await server?.dispose();
});

test('both engines hold the same rows', async () => {
  const count = await pool.query<{ n: string }>('SELECT count(*) AS n FROM photos');
  assert.equal(Number(count.rows[0]!.n), sqlite.prepare('SELECT count(*) FROM photos').pluck().get());
});

async function both(query: Record<string, unknown>, clientId = 'client-a'): Promise<[SearchPage, SearchPage]> {
  const plan = parseSearchQuery(query);
  const fromSqlite = runSearch(sqlite, statements, clientId, plan);
  const fromPg = await runPgSearch(pool, clientId, plan);
  return [fromSqlite, fromPg];
}

async function assertSame(query: Record<string, unknown>, clientId = 'client-a'): Promise<SearchPage> {
  const [fromSqlite, fromPg] = await both(query, clientId);
  assert.deepStrictEqual(fromPg, fromSqlite, `${clientId} ${JSON.stringify(query)}`);
  return fromSqlite;
}

const TEXTS = [
  '', '   ', 'beach', 'bea', 'BEACH', 'beach jpg', 'sun', 'sunset beach', 'jpg', 'jpe', 'image', 'image/png', 'png', 'application',
  'cafe', 'Café', 'CAFÉ', 'ecole', 'École', 'istanbul', 'İstanbul', 'σας', 'ΣΑΣ', 'ς', 'σ', 'strasse', 'straße', 'STRASSE',
  'ſtrange', 'strange', 's', 'x', 'xy', 'x\u0301y', '日本', '日本語の写真', '2024', '0001', 'img', 'img 0002', 'naive', '½',
  'emoji', 'pic', '😀', 'ǆemal', 'ǅ', 'dzemal', "o'brien", 'brien', 'back\\slash', 'slash', 'quote', '"quote"', 'ⅻ', 'xii',
  'lighthouse', 'renamed', 'video mp4', '!!!', "'; DROP TABLE photos; --", 'beach" OR "1"="1', 'beach OR dog', 'a & b | c',
  'beach:*', '!beach', 'beach <-> sunset', '(beach)', "'", '\\', 'mountain',
  // U+19B0: a letter to JS, a separator to unicode61's Unicode 6.1 tables: an empty phrase, ignored beside others.
  '\u19b0', 'beach \u19b0',
];

test('every search text finds the same photos, totals and cursors on both engines', async () => {
  let matched = 0;
  for (const query of TEXTS) {
    const page = await assertSame({ query, limit: 1000 });
    if (page.total > 0) matched++;
  }
  // Guard against a comparison of two empty answers.
  assert.ok(matched > TEXTS.length / 2, `only ${matched} of ${TEXTS.length} texts matched anything`);
});

test('default pages (one prepared statement each) agree for every search text, past the switch to generic plans', async () => {
  // PostgreSQL plans a prepared statement for its parameters five times, then may keep a generic plan: three passes
  // over the texts on a pool of four run each statement shape well past that, with other words and clients each time.
  let matched = 0;
  for (let pass = 0; pass < 3; pass++) {
    for (const query of TEXTS) {
      for (const clientId of ['client-a', 'client-b']) {
        const page = await assertSame({ query }, clientId);
        if (page.total > 0) matched++;
      }
    }
  }
  assert.ok(matched > TEXTS.length, `only ${matched} searches matched anything`);
});

test('a connection keeps at most 64 search statements prepared; the rest run unnamed', () => {
  const one = {} as pg.PoolClient;
  const other = {} as pg.PoolClient;
  const first = statementName(one, 'SELECT 1');
  assert.match(first.name ?? '', /^storaged_search_[0-9a-f]{32}$/);
  assert.deepEqual(statementName(one, 'SELECT 1'), first, 'the same text, the same name');
  assert.deepEqual(statementName(other, 'SELECT 1'), first, 'on every connection');
  assert.notDeepEqual(statementName(one, 'SELECT 2'), first);
  for (let i = 3; i <= 64; i++) assert.ok(statementName(one, `SELECT ${i}`).name !== undefined, `statement ${i}`);
  assert.deepEqual(statementName(one, 'SELECT 65'), {}, 'past the bound: unnamed');
  assert.deepEqual(statementName(one, 'SELECT 1'), first, 'those it keeps stay named');
  assert.ok(statementName(other, 'SELECT 65').name !== undefined, 'the bound is per connection');
});

test('every sort field and order, with ties, pages alike by cursor to the end', async () => {
  for (const field of ['uploaded_at', 'created_at', 'updated_at', 'size', 'original_filename']) {
    for (const order of ['asc', 'desc']) {
      for (const query of ['', 'jpg', 'beach']) {
        let cursor: string | undefined;
        let seen = 0;
        let pages = 0;
        do {
          const page = await assertSame({ query, sort: { field, order }, limit: 7, ...(cursor ? { cursor } : {}) });
          seen += page.photos.length;
          cursor = page.nextCursor ?? undefined;
          pages++;
          if (cursor === undefined) assert.equal(seen, page.total, 'walking the cursors visits every row once');
        } while (cursor !== undefined);
        assert.ok(query !== '' || pages > 10, 'the walk spans many pages');
      }
    }
  }
});

test('offset pages agree, including past the end', async () => {
  for (const offset of [0, 1, 6, 7, 100, 299, 5000]) {
    await assertSame({ sort: { field: 'size', order: 'desc' }, limit: 7, offset });
    await assertSame({ query: 'img', limit: 3, offset });
  }
});

test('filters, alone and together, agree', async () => {
  const filterSets: Array<Record<string, unknown>> = [
    { user_id: 'u1' },
    { user_id: 'nobody' },
    { client_id: 'client-a' },
    { client_id: 'client-b' },
    { mime_type: ['image/png', 'application/pdf'] },
    { mime_type: ['IMAGE/PNG'] },
    { processing_status: ['queued', 'failed'] },
    { date_range: { start: '2024-03-03' } },
    { date_range: { start: '2024-03-02', end: '2024-03-04T10:00:00Z' } },
    { date_range: { end: '2024-03-01T10:00:00.000Z' } },
    { user_id: 'u2', mime_type: ['image/jpeg'], processing_status: ['completed', 'cancelled'], date_range: { start: '2024-03-02' } },
  ];
  for (const filters of filterSets) {
    for (const query of ['', 'jpg', 'img']) {
      await assertSame({ query, filters, limit: 1000 });
      await assertSame({ query, filters, limit: 5, sort: { field: 'original_filename', order: 'asc' } });
    }
  }
  // Another client sees only its own rows, on both.
  const other = await assertSame({ limit: 1000 }, 'client-b');
  assert.ok(other.total > 0 && other.photos.every((p) => p.client_id === 'client-b'));
  await assertSame({ limit: 1000 }, 'client-nobody');
});

test('a cursor from one engine pages on the other, and a cursor for another search is refused by both', async () => {
  const query = { query: 'jpg', sort: { field: 'uploaded_at', order: 'asc' }, limit: 5 };
  const [first] = await both(query);
  assert.ok(first.nextCursor !== null);
  await assertSame({ ...query, cursor: first.nextCursor });
  const [sqliteRefusal, pgRefusal] = await Promise.allSettled([
    Promise.resolve().then(() => both({ ...query, query: 'png', cursor: first.nextCursor })),
    runPgSearch(pool, 'client-a', parseSearchQuery({ ...query, query: 'png', cursor: first.nextCursor })),
  ]);
  assert.equal(sqliteRefusal.status, 'rejected');
  assert.equal(pgRefusal.status, 'rejected');
  assert.match(String((pgRefusal as PromiseRejectedResult).reason), /cursor belongs to a different search/);
});

test('caller text never reaches PostgreSQL as tsquery syntax', () => {
  for (const text of ['beach & !sunset', "it's", 'a\\b', 'x:*', 'a <-> b', '(a | b)']) {
    const query = searchTsqueryOf(text)?.query ?? null;
    assert.ok(query !== null);
    // Every lexeme is quoted; only our own operators stand outside quotes.
    const outside = query.replace(/'(?:[^'\\]|''|\\.)*'/g, '');
    assert.match(outside, /^(?::\*|\s|&|<->)*$/, `${text} -> ${query}`);
  }
  assert.equal(searchTsqueryOf('!!!'), null);
});

test('the tokenizer mirrored is the one the SQLite migrations declare', () => {
  const declared = fs
    .readdirSync(DEFAULT_MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => fs.readFileSync(path.join(DEFAULT_MIGRATIONS_DIR, f), 'utf8'))
    .flatMap((sql) => [...sql.matchAll(/tokenize\s*=\s*'([^']+)'/g)].map((m) => m[1]));
  assert.ok(declared.length > 0);
  assert.equal(declared[declared.length - 1], SQLITE_TOKENIZER);
});
