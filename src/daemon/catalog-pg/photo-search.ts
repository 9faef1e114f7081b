// Runs a validated SearchPlan (../db/search-query.ts) on PostgreSQL, with the
// answers of the SQLite engine (../db/photo-search.ts): the same rows, order,
// totals and page cursors (the fingerprint is computed alike, so a cursor
// from one engine pages on the other), and the same page cut by bytes
// (../db/search-page.ts).
//
// The WHERE clause is assembled from fixed fragments with numbered
// parameters; sort columns come from a whitelist, never from the caller.
//
// A text search starts from the tenant's own words (photo_words, keyed by
// client first, migrations/postgres/006_tenant_words.sql), as SQLite's does:
// the words' prefix ranges give the matching photos (m), their count is the
// total (n), and an upload-time page either looks the matches up or walks
// the tenant's upload-time index, whichever reads fewer rows (walkOrLookUp).
// Before, every search read search_words through all the tenant's rows.
// Measured with EXPLAIN (ANALYZE, BUFFERS) on the benchmark's catalog (a
// tenant of 2,500 rows): 'bea' (500 matches) read 2,171 buffers, now 90; a
// word one photo has read the same 2,171, now 14.
//
// `total` and the page come from one statement, hence one snapshot: the
// count is an uncorrelated scalar subquery (computed once, planned on its
// own from the partial indexes) carried on every row, and the page walks
// the sort order with LIMIT. A page of up to FETCH_ROWS rows (the default
// page of 50 among them) is one prepared statement, read whole in one round
// trip (PREPARED_PER_CONNECTION says why prepared); a larger one is read
// through a cursor FETCH_ROWS at a time and offered to the page until it is
// full, so a page of 1,000 photos with 64 KiB of processing metadata reads
// a batch of them, not all 1,001. Only an empty page needs a second
// statement for its total.
//
// Each search is bounded by the daemon's search bound
// (STORAGED_SEARCH_TIMEOUT_MS), as on SQLite. Where it differs from the
// pool's statement_timeout (STORAGED_CATALOG_TIMEOUT_MS), the search's
// statements run in a read-only transaction that sets its own (SET LOCAL
// ends with the transaction, so the connection goes back to the pool with
// the general one). That costs two round trips, BEGIN and COMMIT
// (catalog.pg.search.20k: 372-379 against 403-465 searches/s), so where the two are
// equal (the defaults, 5 s both) the pool's own bound is the search's and no
// transaction is opened. The caller tells a statement timeout in here
// (pg-errors.ts isStatementTimeout) from an outage.

import { createHash } from 'node:crypto';
import type { Pool, PoolClient, QueryConfig } from 'pg';
import Cursor from 'pg-cursor';
import { decodeCursor, queryFingerprint } from '../db/cursor';
import type { PhotoRecord } from '../db/photo-row';
import { SORT_COLUMNS } from '../db/photo-search';
import { PageRows, type SearchPage } from '../db/search-page';
import type { SearchPlan } from '../db/search-query';
import { prefixRange } from '../db/search-words';
import { searchTsqueryOf } from './search-words';

/**
 * What a Photo is built from. bigint columns as float8, exact for every safe
 * integer the API accepts, so they arrive as numbers whatever int8 parser
 * the pool was given.
 */
const PAGE_COLUMNS = `p.id, p.client_id, p.user_id, p.session_id, p.original_filename, p.mime_type, p.bucket, p.s3_key,
  p.size::float8 AS size, p.checksum, p.width::float8 AS width, p.height::float8 AS height, p.duration::float8 AS duration,
  p.processing_status, p.processing_metadata, p.processing_error, p.processing_started_at, p.processing_completed_at,
  p.metadata, p.uploaded_at, p.created_at, p.updated_at`;

class Params {
  readonly values: unknown[] = [];
  /** Binds a value; returns its placeholder. */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** The caller's filters, as conditions on `p`; `filtered` when there is any beyond the tenant's visible rows. */
function filterConditions(client: string, plan: SearchPlan, params: Params): { conditions: string[]; filtered: boolean } {
  const conditions = [`p.client_id = ${client}`, "p.state = 'committed'"];
  const { filters, textMatch } = plan;
  // ANDed with the caller's own id: naming another client's id finds nothing.
  if (filters.client_id !== undefined) conditions.push(`p.client_id = ${params.add(filters.client_id)}`);
  if (filters.user_id !== undefined) conditions.push(`p.user_id = ${params.add(filters.user_id)}`);
  if (filters.mime_type !== undefined) conditions.push(`p.mime_type = ANY(${params.add(filters.mime_type)}::text[])`);
  if (filters.processing_status !== undefined) {
    conditions.push(`p.processing_status = ANY(${params.add(filters.processing_status)}::text[])`);
  }
  if (filters.uploaded_from !== undefined) conditions.push(`p.uploaded_at >= ${params.add(filters.uploaded_from)}`);
  if (filters.uploaded_to !== undefined) conditions.push(`p.uploaded_at <= ${params.add(filters.uploaded_to)}`);
  if (textMatch.kind === 'nothing') conditions.push('false');
  return { conditions, filtered: conditions.length > 2 };
}

/** One word's prefix range of the tenant's words (C collation: a byte range, as SQLite's and as tsquery's `:*`). */
function wordRange(client: string, word: string, params: Params): string {
  const [from, to] = prefixRange(word);
  return `w.client_id = ${client} AND w.word >= ${params.add(from)} AND w.word < ${params.add(to)}`;
}

/**
 * The seqs of the tenant's photos with a word in each word's prefix range,
 * from photo_words alone: one index range per word, intersected. A range may
 * hold several words of one photo (`jp`: jpg and jpeg), hence DISTINCT for
 * one word; INTERSECT removes duplicates itself.
 */
function matchingSeqs(ranges: readonly string[]): string {
  if (ranges.length === 1) return `SELECT DISTINCT w.seq FROM photo_words w WHERE ${ranges[0]!}`;
  return ranges.map((range) => `SELECT w.seq FROM photo_words w WHERE ${range}`).join(' INTERSECT ');
}

/**
 * How many photos matchingSeqs gives, from photo_words' index alone. A range
 * that holds one word (its first and last are the same: two index seeks)
 * has each photo once, and is counted without DISTINCT, which would hash
 * every match (100,000 of them for a word every photo of a large tenant has).
 */
function matchCount(ranges: readonly string[]): string {
  if (ranges.length > 1) return `SELECT count(*) FROM (${matchingSeqs(ranges)}) m`;
  const range = ranges[0]!;
  return `SELECT CASE WHEN (SELECT min(w.word) FROM photo_words w WHERE ${range}) = (SELECT max(w.word) FROM photo_words w WHERE ${range})
    THEN (SELECT count(*) FROM photo_words w WHERE ${range}) ELSE (SELECT count(DISTINCT w.seq) FROM photo_words w WHERE ${range}) END`;
}

interface Clauses {
  /** The CTE the statements start with: n, a text search's total; else nothing. */
  with: string;
  /** What every row of the page meets. */
  where: string;
  /**
   * For walking the tenant's upload-time index: `where` without the word
   * match, and the search's tsquery to check on each row instead, which
   * needs nothing but the row in hand. Null without a text search.
   */
  walk: { conditions: string[]; tsquery: string } | null;
  /** The total, as a scalar subquery. */
  total: string;
}

/**
 * A text search's rows come from the tenant's words (matchingSeqs).
 * Without other filters (and without a phrase to check on the row) the
 * total is the matches' count, read from photo_words alone.
 */
function searchClauses(clientId: string, plan: SearchPlan, params: Params): Clauses {
  const client = params.add(clientId);
  const { conditions, filtered } = filterConditions(client, plan, params);
  const { textMatch } = plan;
  const query = textMatch.kind === 'words' ? searchTsqueryOf(plan.text) : null;
  if (textMatch.kind === 'words' && query === null) conditions.push('false');
  if (textMatch.kind !== 'words' || query === null) {
    const where = conditions.join(' AND ');
    return { with: '', where, walk: null, total: `SELECT count(*) FROM photos p WHERE ${where}` };
  }
  const ranges = textMatch.words.map((word) => wordRange(client, word, params));
  const walk = { conditions: [...conditions], tsquery: query.query };
  if (query.phrase) conditions.push(`p.search_words @@ ${params.add(query.query)}::tsquery`);
  const where = [...conditions, `p.seq IN (${matchingSeqs(ranges)})`].join(' AND ');
  // Words exist only for committed photos, under their own client (migrations/postgres/006_tenant_words.sql).
  const count = filtered || query.phrase ? `SELECT count(*) FROM photos p WHERE ${where}` : matchCount(ranges);
  return { with: `WITH n AS MATERIALIZED (SELECT (${count}) AS total) `, where, walk, total: 'SELECT total FROM n' };
}

/**
 * An upload-time page of a text search, by whichever of two ways reads
 * fewer rows: walk the tenant's upload-time index in page order checking
 * each row's search_words, which finds `wanted` matches after about
 * `wanted × tenantRows / total` rows when they are dense, or look up and
 * sort every match (`total` rows). The planner cannot tell (it does not
 * know how the matches fall among the tenant's rows), and SQLite's rule
 * (walkIsCheaper there) needs the tenant's size, which PostgreSQL keeps
 * nowhere without a counter row every commit would lock. So the walk goes
 * first, on a budget of rows worth about what the lookups would cost (a
 * walked row reads about a sixth of what a looked-up one does); only when
 * it finds fewer than `wanted` within it do the lookups run. Each way is
 * gated by a one-time filter, so the one not taken never runs. 'bea' for a
 * tenant of 2,500 rows with 500 matches: 1,522 buffers looked up, 90 walked.
 */
function walkOrLookUp(clauses: Clauses, walking: NonNullable<Clauses['walk']>, params: Params, keyset: string, order: string, wanted: string): { with: string; from: string } {
  const budget = `(SELECT CASE WHEN total >= ${wanted} THEN 4 * total + ${wanted} ELSE 0 END FROM n)`;
  const walked = `, walked AS MATERIALIZED (SELECT p.* FROM (SELECT p.* FROM photos p WHERE ${walking.conditions.join(' AND ')}${keyset}
    ${order} LIMIT ${budget}) p WHERE p.search_words @@ ${params.add(walking.tsquery)}::tsquery ${order} LIMIT ${wanted}) `;
  const found = `(SELECT count(*) FROM walked) >= ${wanted}`;
  const from = `((SELECT p.* FROM walked p WHERE ${found})
    UNION ALL (SELECT p.* FROM photos p WHERE ${clauses.where}${keyset} AND NOT ${found} ${order} LIMIT ${wanted})) p`;
  return { with: clauses.with + walked, from };
}

/**
 * Rows a cursor read asks for beyond a page that fits in one: enough for
 * the default page (50) in one round trip, few enough that a batch of
 * 64 KiB rows (4 MiB) costs little when a page keeps three of them.
 */
const FETCH_ROWS = 64;

type PageRecord = PhotoRecord & { total: number };

/**
 * Search statements each connection keeps prepared. A page that fits in one
 * read runs as a named statement: PostgreSQL plans it a few times, then
 * keeps a generic plan, and planning was most of a search's time (0.6-0.7
 * ms against 0.3-0.6 ms running it). catalog.pg.search.20k read 1,969
 * searches/s against 762 through pg-cursor's unnamed statements and 894
 * through unnamed plain queries (the same sitting, 2026-12-04); on a
 * tenant of 100,000 photos next to twenty of 1,000, each search was as
 * fast or faster with the plans the small tenants' searches had left
 * (a word in 11% of the photos: 5.7 against 16.6 ms). Each shape of
 * search (filters, sort, number of words) is a statement of its own, and a
 * caller may vary them: past this many on one connection, the others run
 * unnamed, so the server's memory for plans stays bounded.
 */
const PREPARED_PER_CONNECTION = 64;
const prepared = new WeakMap<PoolClient, Set<string>>();

/** The name `sql` runs under on `client`: the same for the same text on every connection, or none once the connection keeps enough. */
export function statementName(client: PoolClient, sql: string): { name?: string } {
  const name = `storaged_search_${createHash('sha256').update(sql).digest('hex').slice(0, 32)}`;
  let names = prepared.get(client);
  if (names === undefined) prepared.set(client, (names = new Set()));
  if (!names.has(name)) {
    if (names.size >= PREPARED_PER_CONNECTION) return {};
    names.add(name);
  }
  return { name };
}

/**
 * pg arms its query_timeout for every query it is given and disarms it when
 * the query calls back, as its own Query does at ReadyForQuery; pg-cursor
 * never calls back, so each timer would keep its cursor's last batch of
 * rows (up to 4 MiB here) alive for the whole timeout: 1 GiB at fifty
 * heavy pages a second. Calling back at ReadyForQuery (end, close or error)
 * disarms it; a server that stops answering still meets it.
 */
class PageCursor extends Cursor<PageRecord> {
  handleReadyForQuery(): void {
    (Cursor.prototype as unknown as { handleReadyForQuery(): void }).handleReadyForQuery.call(this);
    (this as { callback?: (err: Error | null) => void }).callback?.(null);
  }
}

/**
 * The transaction of one search and its bound, as one simple query (one
 * round trip). SET takes no bind parameters; `timeoutMs` is the daemon's own
 * setting, checked to be a whole number here, never caller input.
 */
function beginBounded(timeoutMs: number): string {
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) throw new RangeError(`the search bound must be a whole number of ms of at least 1, got ${timeoutMs}`);
  return `BEGIN READ ONLY; SET LOCAL statement_timeout = ${timeoutMs}`;
}

/**
 * `ownBoundMs`: bounds the search's statements by that (server side; the
 * client stops waiting for an answer 1 s later) instead of the pool's
 * statement_timeout and query_timeout.
 */
export async function runPgSearch(pool: Pool, clientId: string, plan: SearchPlan, ownBoundMs?: number): Promise<SearchPage> {
  const begin = ownBoundMs === undefined ? null : beginBounded(ownBoundMs);
  // pg's client-side read timeout, per query: past the pool's (the catalog's bound + 1 s), a search allowed longer would be cut as an outage.
  const timed = ownBoundMs === undefined ? {} : { query_timeout: ownBoundMs + 1000 };
  const { sort, limit, offset } = plan;
  const fingerprint = queryFingerprint([clientId, plan.textMatch, plan.filters, sort]);
  const params = new Params();
  const clauses = searchClauses(clientId, plan, params);
  const whereParams = params.values.length;
  const column = SORT_COLUMNS[sort.field];
  const direction = sort.order === 'desc' ? 'DESC' : 'ASC';

  let keyset = '';
  if (plan.cursor !== undefined) {
    const after = decodeCursor(plan.cursor, sort, fingerprint);
    // Ties on the sort value are broken by id, so (value, id) is a total order and no row is skipped or repeated.
    keyset = ` AND (${column}, p.id) ${sort.order === 'desc' ? '<' : '>'} (${params.add(after.value)}, ${params.add(after.id)})`;
  }
  const order = `ORDER BY ${column} ${direction}, p.id ${direction}`;
  let { with: ctes } = clauses;
  let from = `photos p WHERE ${clauses.where}${keyset}`;
  // Only upload time has an index in page order (photos_client_uploaded, photos_client_user_uploaded) to walk.
  if (clauses.walk !== null && sort.field === 'uploaded_at') {
    ({ with: ctes, from } = walkOrLookUp(clauses, clauses.walk, params, keyset, order, params.add(offset + limit + 1)));
  }
  // One extra row tells whether another page exists, for offset and cursor pages alike.
  const sql = `${ctes}SELECT (${clauses.total})::float8 AS total, ${PAGE_COLUMNS} FROM ${from}
    ${order} LIMIT ${params.add(limit + 1)} OFFSET ${params.add(offset)}`;
  const count = `${clauses.with}SELECT (${clauses.total})::float8 AS total`;

  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    if (begin !== null) await client.query(begin);
    const page = new PageRows(limit);
    let total: number | undefined;
    if (limit + 1 <= FETCH_ROWS) {
      const named: QueryConfig & { query_timeout?: number } = { ...statementName(client, sql), text: sql, values: params.values, ...timed };
      const { rows } = await client.query<PageRecord>(named);
      total = rows[0]?.total;
      rows.every((row) => page.offer(row));
    } else {
      // pg arms a query's own query_timeout, when it has one, for a cursor too (it reads it from the submittable).
      const cursor = client.query(Object.assign(new PageCursor(sql, params.values), timed));
      const batch = FETCH_ROWS;
      for (let full = false; !full; ) {
        const rows = await cursor.read(batch);
        total ??= rows[0]?.total;
        const taken = rows.every((row) => page.offer(row));
        full = !taken || rows.length < batch;
      }
      await cursor.close();
    }
    // An empty page carries no count: ask for it (a later snapshot, but nothing on the page to disagree with).
    if (total === undefined) {
      // pg reads query_timeout from the config it is given; @types/pg leaves it out of QueryConfig.
      const counting: QueryConfig & { query_timeout?: number } = { ...statementName(client, count), text: count, values: params.values.slice(0, whereParams), ...timed };
      total = (await client.query<{ total: number }>(counting)).rows[0]!.total;
    }
    if (begin !== null) await client.query('COMMIT');
    return page.toPage(total, offset, sort, fingerprint);
  } catch (err) {
    // A connection that failed or timed out mid-read (or mid-transaction) is not given back to others.
    broken = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    client.release(broken);
  }
}
