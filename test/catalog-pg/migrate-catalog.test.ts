// `STORAGED_MIGRATE_TO=postgres://… storaged migrate-catalog` as an operator runs it: a
// populated SQLite catalog (every row state, awkward values, idempotency
// keys, daemon runs, gaps in seq, more rows than one batch) arrives in
// PostgreSQL row for row; a non-empty target is refused unless --replace; a
// copy that fails halfway leaves nothing behind; the password is never shown,
// nor taken from the command line unless --to insists (with a warning).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { copySqliteToPostgres, CopyRefusedError } from '../../src/daemon/catalog-pg/copy-from-sqlite';
import { applyPgMigrations } from '../../src/daemon/catalog-pg/migrations';
import { photoSearchWords } from '../../src/daemon/catalog-pg/search-words';
import { applyMigrations } from '../../src/daemon/db/migrations';
import { DAEMON_BIN } from '../support/daemon-process';
import { startPostgres, type PostgresHandle } from '../support/postgres';
import { tempDir } from '../support/temp-dir';

let server: PostgresHandle;
before(async () => {
  server = await startPostgres();
});
after(() => server.dispose());

/** bigint as a number (every value here is a safe integer), as SQLite returns it. */
const numericInt8: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

async function connect(t: TestContext, url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, types: numericInt8 });
  client.on('error', () => {});
  await client.connect();
  t.after(() => client.end());
  return client;
}

const PHOTO_COLUMNS = [
  'seq', 'id', 'client_id', 'user_id', 'session_id', 'original_filename', 'mime_type', 'bucket', 's3_key', 'size', 'checksum',
  'width', 'height', 'duration', 'processing_status', 'processing_metadata', 'processing_error', 'processing_started_at',
  'processing_completed_at', 'metadata', 'state', 'state_changed_at', 'uploaded_at', 'created_at', 'updated_at', 'idempotency_key',
];
const AWKWARD_NAMES = ["o'brien's \"best\".jpg", 'back\\slash\\.png', 'Café Ünïcödé 日本語.heic', 'tab\tin name.jpg', '{curly}[square],comma.gif', 'NULL', ''];

/** A SQLite catalog made by storaged's own migrations, filled with `photos` rows of every kind. */
function populatedCatalog(t: TestContext, photos: number): string {
  const dir = tempDir(t, 'storaged-migrate-');
  const file = path.join(dir, 'storage.db');
  const db = new Database(file);
  applyMigrations(db);
  const insert = db.prepare(`INSERT INTO photos (${PHOTO_COLUMNS.slice(1).join(', ')}) VALUES (${PHOTO_COLUMNS.slice(1).map((c) => `@${c}`).join(', ')})`);
  const key = db.prepare('INSERT INTO idempotency_keys VALUES (?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    db.prepare('INSERT INTO catalog_sessions VALUES (?, ?), (?, ?)').run(
      '2024-01-01T00:00:00.000Z', '2024-01-02T00:00:00.000Z', '2024-02-01T00:00:00.000Z', '2024-02-01T00:05:00.000Z',
    );
    for (let i = 0; i < photos; i++) {
      const id = `photo-${i}`;
      const at = new Date(Date.UTC(2024, 0, 1) + i * 61_000).toISOString();
      const state = i % 11 === 0 ? 'pending' : i % 13 === 0 ? 'deleting' : 'committed';
      const name = AWKWARD_NAMES[i % AWKWARD_NAMES.length] || `plain-${i}.jpg`;
      insert.run({
        id,
        client_id: `client-${i % 3}`,
        user_id: i % 4 === 0 ? null : `user-${i % 7}`,
        session_id: i % 5 === 0 ? `session-${i}` : null,
        original_filename: name,
        mime_type: i % 2 === 0 ? 'image/jpeg' : 'application/octet-stream',
        bucket: 'images',
        s3_key: `ns/images/${id}`,
        size: i % 9 === 0 ? 2 ** 45 + i : i * 1000,
        checksum: createHash('sha256').update(id).digest('hex'),
        width: i % 3 === 0 ? null : 1920,
        height: i % 3 === 0 ? null : 1080,
        duration: i % 10 === 0 ? 12_345 : null,
        processing_status: ['queued', 'in_progress', 'completed', 'failed', 'cancelled'][i % 5],
        processing_metadata: i % 6 === 0 ? JSON.stringify({ faces: i, nested: { a: [1, 'two', null] }, quote: "it's" }) : null,
        processing_error: i % 17 === 0 ? 'decoder said: \u00e9chec\nline two' : null,
        processing_started_at: i % 2 === 0 ? at : null,
        processing_completed_at: i % 4 === 0 ? at : null,
        // Key order is kept as written: text, not jsonb, on both sides.
        metadata: i % 2 === 0 ? '{"z":"last","a":"first","é":"\\u00e9"}' : '{}',
        state,
        state_changed_at: at,
        uploaded_at: at,
        created_at: at,
        updated_at: at,
        idempotency_key: i % 2 === 0 ? `key-${i}` : null,
      });
      if (i % 2 === 0 && state === 'committed') {
        key.run(`client-${i % 3}`, `key-${i}`, id, 'f'.repeat(64), JSON.stringify({ id, size: i * 1000 }), at);
      }
    }
    // Gaps in seq, as deletes leave them: the copy keeps the numbers.
    db.prepare('DELETE FROM photos WHERE seq % 97 = 0').run();
  })();
  db.close();
  return file;
}

function runCli(args: string[], sqlitePath: string, env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [DAEMON_BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', STORAGED_DATA_DIR: path.dirname(sqlitePath), SQLITE_PATH: sqlitePath, LOG_LEVEL: 'warn', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

/** catalog_identity of a SQLite file (migrate-catalog gives the file a new id once copied: read it before). */
function identityOf(sqlitePath: string): unknown[] {
  const db = new Database(sqlitePath, { readonly: true });
  try {
    return db.prepare('SELECT * FROM catalog_identity').all();
  } finally {
    db.close();
  }
}

/** `identity`: the file's catalog_identity before it was copied, which the target must hold. */
async function assertSameCatalog(sqlitePath: string, target: pg.Client, identity: unknown[]): Promise<number> {
  const source = new Database(sqlitePath, { readonly: true });
  try {
    const expected = source.prepare(`SELECT ${PHOTO_COLUMNS.join(', ')} FROM photos ORDER BY seq`).all() as Array<Record<string, unknown>>;
    const actual = (await target.query(`SELECT ${PHOTO_COLUMNS.join(', ')}, node_id, search_words::text AS words FROM photos ORDER BY seq`)).rows;
    assert.equal(actual.length, expected.length);
    for (let i = 0; i < expected.length; i++) {
      const { node_id: nodeId, words, ...row } = actual[i]!;
      assert.deepStrictEqual(row, expected[i], `photos row ${i} (seq ${String(expected[i]!.seq)})`);
      assert.equal(nodeId, null);
      const want = await target.query<{ w: string }>('SELECT $1::tsvector::text AS w', [
        photoSearchWords(row.original_filename as string, row.mime_type as string),
      ]);
      assert.equal(words, want.rows[0]!.w, `search words of ${row.id as string}`);
    }
    // The word index (006): the lexemes of the committed rows, under their own client, nothing else.
    const words = await target.query<{ differ: number; total: number }>(`
      WITH expected AS (
        SELECT p.client_id, w.word COLLATE "C" AS word, p.seq FROM photos p, unnest(tsvector_to_array(p.search_words)) AS w (word)
        WHERE p.state = 'committed'
      )
      SELECT (SELECT count(*) FROM ((SELECT * FROM expected EXCEPT ALL SELECT client_id, word, seq FROM photo_words)
        UNION ALL (SELECT client_id, word, seq FROM photo_words EXCEPT ALL SELECT * FROM expected)) d)::int AS differ,
        (SELECT count(*) FROM photo_words)::int AS total`);
    assert.equal(words.rows[0]!.differ, 0, 'photo_words holds the words of the committed rows, and only those');
    assert.ok(words.rows[0]!.total > 0);
    const keys = source.prepare('SELECT * FROM idempotency_keys ORDER BY client_id, key').all();
    // COLLATE "C" on both sides: the same order.
    assert.deepStrictEqual((await target.query('SELECT * FROM idempotency_keys ORDER BY client_id, key')).rows, keys);
    const sessions = source.prepare('SELECT * FROM catalog_sessions ORDER BY started_at').all();
    assert.deepStrictEqual((await target.query('SELECT * FROM catalog_sessions ORDER BY started_at')).rows, sessions);
    assert.deepStrictEqual((await target.query('SELECT * FROM catalog_identity')).rows, identity);
    return expected.length;
  } finally {
    source.close();
  }
}

test('a populated SQLite catalog arrives in PostgreSQL row for row, and the report says what was copied', async (t) => {
  const sqlitePath = populatedCatalog(t, 2600);
  const url = await server.createDatabase();
  const identity = identityOf(sqlitePath);
  const result = await runCli(['migrate-catalog'], sqlitePath, { STORAGED_MIGRATE_TO: url });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr, '', 'no warning: the URL was not on the command line');
  const report = JSON.parse(result.stdout);
  assert.ok(!result.stdout.includes(server.password) && !result.stderr.includes(server.password), 'the password is never printed');
  assert.match(report.to, /^postgres:\/\/storaged:\*\*\*@127\.0\.0\.1:\d+\/test_/);
  assert.equal(report.from, sqlitePath);
  assert.equal(report.replaced, null);

  const target = await connect(t, url);
  const rows = await assertSameCatalog(sqlitePath, target, identity);
  assert.equal(report.catalogId, (identity[0] as { catalog_id: string }).catalog_id, 'PostgreSQL goes on as the catalog the objects name');
  assert.deepEqual(identityOf(sqlitePath), [{ ...(identity[0] as object), catalog_id: report.sourceCatalogId }], 'the file goes on under an id of its own');
  assert.notEqual(report.sourceCatalogId, report.catalogId);
  const { pending, committed, deleting } = report.copied.photos;
  assert.equal(pending + committed + deleting, rows);
  assert.ok(pending > 0 && deleting > 0 && committed > 1000 && report.copied.idempotencyKeys > 1000, JSON.stringify(report.copied));
  assert.equal(report.copied.sessions, 2);

  // New rows draw seq past the copied ones.
  const next = await target.query<{ n: number }>("SELECT nextval(pg_get_serial_sequence('photos', 'seq')) AS n");
  const max = await target.query<{ m: number }>('SELECT max(seq) AS m FROM photos');
  assert.ok(next.rows[0]!.n > max.rows[0]!.m);
});

test('a target that already holds a catalog is refused, untouched, unless --replace', async (t) => {
  const url = await server.createDatabase();
  const first = populatedCatalog(t, 50);
  const firstIdentity = identityOf(first);
  assert.equal((await runCli(['migrate-catalog'], first, { STORAGED_MIGRATE_TO: url })).status, 0);

  const second = populatedCatalog(t, 120);
  const refused = await runCli(['migrate-catalog'], second, { STORAGED_MIGRATE_TO: url });
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /^storaged: the PostgreSQL catalog is not empty \(\d+ photos, \d+ idempotency keys, 2 daemon runs\); .*--replace/);
  const target = await connect(t, url);
  await assertSameCatalog(first, target, firstIdentity);
  const secondIdentity = identityOf(second);

  const replaced = await runCli(['migrate-catalog', '--replace'], second, { STORAGED_MIGRATE_TO: url });
  assert.equal(replaced.status, 0, replaced.stderr);
  const report = JSON.parse(replaced.stdout);
  assert.ok(report.replaced.photos.committed > 0);
  await assertSameCatalog(second, target, secondIdentity);
});

test('a copy that fails halfway leaves the target empty', async (t) => {
  const url = await server.createDatabase();
  const target = await connect(t, url);
  await applyPgMigrations(target);
  // A row PostgreSQL refuses, well into the second batch.
  await target.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.id = 'photo-1500' THEN RAISE EXCEPTION 'refused on purpose'; END IF; RETURN NEW; END $$;
    CREATE TRIGGER refuse BEFORE INSERT ON photos FOR EACH ROW EXECUTE FUNCTION refuse();`);
  const sqlitePath = populatedCatalog(t, 1600);
  const identityBefore = (await target.query('SELECT catalog_id FROM catalog_identity')).rows;
  await assert.rejects(copySqliteToPostgres(sqlitePath, target), /refused on purpose/);
  const counts = await target.query<{ photos: number; keys: number; sessions: number }>(`SELECT
    (SELECT count(*) FROM photos) AS photos, (SELECT count(*) FROM idempotency_keys) AS keys, (SELECT count(*) FROM catalog_sessions) AS sessions`);
  assert.deepEqual(counts.rows[0], { photos: 0, keys: 0, sessions: 0 });
  assert.deepEqual((await target.query('SELECT catalog_id FROM catalog_identity')).rows, identityBefore);
});

test('a SQLite catalog with columns this storaged does not know is refused before anything is written', async (t) => {
  const sqlitePath = populatedCatalog(t, 5);
  const db = new Database(sqlitePath);
  db.exec('ALTER TABLE photos ADD COLUMN colour TEXT');
  db.close();
  const target = await connect(t, await server.createDatabase());
  await assert.rejects(copySqliteToPostgres(sqlitePath, target), (err: unknown) => err instanceof CopyRefusedError && /photos has columns .*\(colour\)/.test(err.message));
});

test('bad or unreachable targets are refused with one line, without the password', async (t) => {
  const sqlitePath = populatedCatalog(t, 1);
  const wrongPassword = `postgres://storaged:sekrit-pw@127.0.0.1:${server.port}/postgres`;
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['migrate-catalog'], {}, /needs the target: STORAGED_MIGRATE_TO=postgres:\/\/.*--to-file FILE/],
    [['migrate-catalog'], { STORAGED_MIGRATE_TO: 'mysql://u:sekrit-pw@127.0.0.1/x' }, /STORAGED_MIGRATE_TO must be a postgres:\/\/ or postgresql:\/\/ URL/],
    [['migrate-catalog', '--to', 'not a url'], {}, /--to is not a URL/],
    [['migrate-catalog'], { STORAGED_MIGRATE_TO: 'sekrit-pw not a url' }, /STORAGED_MIGRATE_TO is not a URL/],
    [['migrate-catalog'], { STORAGED_MIGRATE_TO: wrongPassword }, /cannot connect to postgres:\/\/storaged:\*\*\*@127\.0\.0\.1:\d+\/postgres: password authentication failed/],
    [['migrate-catalog', '--to', 'postgres://x'], { STORAGED_MIGRATE_TO: wrongPassword }, /got the target from --to and STORAGED_MIGRATE_TO: give one of them/],
  ];
  for (const [args, env, message] of cases) {
    const result = await runCli(args, sqlitePath, env);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
    assert.equal(result.stderr.trim().split('\n').length, 1);
    assert.ok(!result.stderr.includes('sekrit-pw'));
  }
  const usage = await runCli(['migrate-catalog', '--to', 'postgres://x', '--frobnicate'], sqlitePath);
  assert.equal(usage.status, 64);
});

test('the password stays out of the process list: the target comes from a 0600 --to-file; a readable file is refused; --to with a password warns without echoing it', async (t) => {
  const dir = tempDir(t, 'storaged-migrate-to-');
  const url = await server.createDatabase();
  const file = path.join(dir, 'target');
  fs.writeFileSync(file, `${url}\n# the line above is all that is read\n`, { mode: 0o640 });
  fs.chmodSync(file, 0o640);

  const readable = await runCli(['migrate-catalog', '--to-file', file], populatedCatalog(t, 5));
  assert.equal(readable.status, 2);
  assert.equal(readable.stderr, `storaged: --to-file: ${file} has mode 640; it holds a password, so allow only its owner (chmod 600)\n`);
  assert.equal((await runCli(['migrate-catalog', '--to-file', path.join(dir, 'missing')], populatedCatalog(t, 1))).stderr, `storaged: --to-file: cannot read ${path.join(dir, 'missing')}: ENOENT\n`);
  assert.match((await runCli(['migrate-catalog', '--to-file', file, '--to', url], populatedCatalog(t, 1))).stderr, /from --to and --to-file: give one of them/);

  fs.chmodSync(file, 0o600);
  const fromFile = await runCli(['migrate-catalog', '--to-file', file], populatedCatalog(t, 5));
  assert.equal(fromFile.status, 0, fromFile.stderr);
  assert.equal(fromFile.stderr, '');
  assert.match(JSON.parse(fromFile.stdout).to, /^postgres:\/\/storaged:\*\*\*@/);

  // --to still works, and says once, on stderr, why it should not be used; stdout stays the report alone.
  const onCommandLine = await runCli(['migrate-catalog', '--to', await server.createDatabase()], populatedCatalog(t, 5));
  assert.equal(onCommandLine.status, 0, onCommandLine.stderr);
  assert.equal(JSON.parse(onCommandLine.stdout).copied.sessions, 2);
  const lines = onCommandLine.stderr.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.level, 40);
  assert.match(String(lines[0]!.msg), /--to URL holds a password.*process list.*STORAGED_MIGRATE_TO or --to-file/);
  assert.match(String(lines[0]!.to), /^postgres:\/\/storaged:\*\*\*@127\.0\.0\.1/);
  assert.ok(!onCommandLine.stderr.includes(server.password));

  // A --to without a password (peer or .pgpass authentication) is nothing to warn about.
  const noPassword = await runCli(['migrate-catalog', '--to', `postgres://storaged@127.0.0.1:${server.port}/nothing_here`], populatedCatalog(t, 1));
  assert.equal(noPassword.stderr.trim().split('\n').length, 1);
  assert.match(noPassword.stderr, /^storaged: cannot connect/);
});
