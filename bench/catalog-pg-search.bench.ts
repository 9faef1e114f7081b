// catalog.pg.search.20k: searchPhotos on PostgreSQL (runPgSearch: the
// tenant's word index photo_words, count and page in one statement, 16 in
// flight over a pool of 10)
// against the SQLite engine's runSearch on the same 20,000 rows in the same
// run, alternated over three pairs. Each call is a word-prefix search of one
// client's photos, newest first, 20 a page, with its true total.
//
// catalog.pg.migrate.20k: how long `storaged migrate-catalog`'s copy takes
// to bring those rows over (no baseline: nothing else does it).

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { copySqliteToPostgres } from '../src/daemon/catalog-pg/copy-from-sqlite';
import { runPgSearch } from '../src/daemon/catalog-pg/photo-search';
import { applyMigrations } from '../src/daemon/db/migrations';
import { runSearch } from '../src/daemon/db/photo-search';
import { indexAllPhotoWords } from '../src/daemon/db/photo-words';
import { parseSearchQuery } from '../src/daemon/db/search-query';
import { StatementCache } from '../src/daemon/db/statement-cache';
import { startPostgres } from '../test/support/postgres';
import { interleaved } from './interleaved';
import { note, report } from './report';

const ROWS = 20_000;
const CLIENTS = 8;
const CALLS_PER_ROUND = 64;
const IN_FLIGHT = 16;
const PAIRS = 3;
const WORDS = ['beach', 'sunset', 'mountain', 'family', 'birthday', 'holiday', 'city', 'forest', 'snow', 'dinner'];
const QUERIES = ['bea', 'sunset', 'moun', 'family hol', 'birthday', 'cit', 'snow jpg', 'dinner', 'for', 'png'];

function fill(file: string): void {
  const db = new Database(file);
  applyMigrations(db);
  const insert = db.prepare(`INSERT INTO photos (id, client_id, user_id, original_filename, mime_type, bucket, s3_key, size, checksum,
    metadata, state, state_changed_at, uploaded_at, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, 'images', ?, ?, ?, '{"album":"bench"}', 'committed', ?, ?, ?, ?)`);
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) {
      const id = `photo-${i}`;
      const at = new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString();
      const name = `${WORDS[i % WORDS.length]}-${WORDS[(i * 7) % WORDS.length]}_${i}.${i % 3 === 0 ? 'png' : 'jpg'}`;
      insert.run(id, `client-${i % CLIENTS}`, `user-${i % 50}`, name, i % 3 === 0 ? 'image/png' : 'image/jpeg', `k/${id}`, 1000 + i,
        createHash('sha256').update(id).digest('hex'), at, at, at, at);
    }
  })();
  // Rows written by SQL: their search words are cut by the daemon's indexer, as when it opens an older catalog.
  indexAllPhotoWords(db);
  db.close();
}

export async function benchCatalogPgSearch(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-bench-pgsearch-'));
  // Durable as in production: fsync on, so the copy's figure means something.
  const server = await startPostgres(undefined, { durable: true });
  const pool = new pg.Pool({ connectionString: await server.createDatabase(), max: 10 });
  pool.on('error', () => {});
  try {
    const file = path.join(dir, 'storage.db');
    fill(file);
    const started = performance.now();
    const client = await pool.connect();
    try {
      await copySqliteToPostgres(file, client);
      await client.query('ANALYZE');
    } finally {
      client.release();
    }
    const copySeconds = (performance.now() - started) / 1000;
    report({ bench: 'catalog.pg.migrate.20k', value: ROWS / copySeconds, unit: 'rows/s', seconds: Math.round(copySeconds * 100) / 100, baseline: 'none', baseline_value: null });

    const reader = new Database(file, { readonly: true });
    const statements = new StatementCache(reader);
    let n = 0;
    const nextPlan = () => {
      const i = n++;
      return { clientId: `client-${i % CLIENTS}`, plan: parseSearchQuery({ query: QUERIES[i % QUERIES.length], limit: 20 }) };
    };
    note(`catalog.pg.search.20k: ${CALLS_PER_ROUND} word-prefix searches a round, PostgreSQL (${IN_FLIGHT} in flight) vs SQLite, ${PAIRS} alternating pairs`);
    const result = await interleaved(
      PAIRS,
      {
        name: 'sqlite.search',
        callsPerRound: CALLS_PER_ROUND,
        round: async () => {
          for (let i = 0; i < CALLS_PER_ROUND; i++) {
            const { clientId, plan } = nextPlan();
            runSearch(reader, statements, clientId, plan);
          }
        },
      },
      {
        name: 'catalog.pg.search.20k',
        callsPerRound: CALLS_PER_ROUND,
        round: async () => {
          const lanes = Array.from({ length: IN_FLIGHT }, async () => {
            for (let i = 0; i < CALLS_PER_ROUND / IN_FLIGHT; i++) {
              const { clientId, plan } = nextPlan();
              await runPgSearch(pool, clientId, plan);
            }
          });
          await Promise.all(lanes);
        },
      },
      { timeMs: 1500, warmupMs: 300 },
    );
    reader.close();
    report({
      bench: 'catalog.pg.search.20k',
      value: result.subject,
      unit: 'searches/s',
      baseline: 'sqlite.search (runSearch on the same rows, same run)',
      baseline_value: result.baseline,
      runs: result.subjectRuns.map(Math.round),
      baseline_runs: result.baselineRuns.map(Math.round),
    });
  } finally {
    await pool.end();
    await server.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
