// Runs a validated SearchPlan (../db/search-query.ts) on PostgreSQL, with the
// answers of the SQLite engine (../db/photo-search.ts): the same rows, order,
// totals and page cursors (the fingerprint is computed alike, so a cursor
// from one engine pages on the other).
//
// The WHERE clause is assembled from fixed fragments with numbered
// parameters; sort columns come from a whitelist, never from the caller.
// `total` and the page come from one statement, hence one snapshot, in one
// round trip: two scalar subqueries, each planned on its own (the count
// from the partial indexes, the page walking the sort order with LIMIT).

import { decodeCursor, encodeCursor, queryFingerprint } from '../db/cursor';
import { toPhoto, type PhotoRecord } from '../db/photo-row';
import { SORT_COLUMNS, type SearchPage } from '../db/photo-search';
import type { SearchPlan } from '../db/search-query';
import type { Queryable } from './migrations';
import { searchTsquery } from './search-words';


/**
 * What a Photo is built from. bigint columns as float8, exact for every safe
 * integer the API accepts, so they arrive as numbers inside the JSON.
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

function whereClause(clientId: string, plan: SearchPlan, params: Params): string {
  const conditions = [`p.client_id = ${params.add(clientId)}`, "p.state = 'committed'"];
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
  if (textMatch.kind === 'words') {
    const query = searchTsquery(plan.text);
    conditions.push(query === null ? 'false' : `p.search_words @@ ${params.add(query)}::tsquery`);
  }
  if (textMatch.kind === 'nothing') conditions.push('false');
  return conditions.join(' AND ');
}

export async function runPgSearch(db: Queryable, clientId: string, plan: SearchPlan): Promise<SearchPage> {
  const { sort, limit, offset } = plan;
  const fingerprint = queryFingerprint([clientId, plan.textMatch, plan.filters, sort]);
  const params = new Params();
  const where = whereClause(clientId, plan, params);
  const column = SORT_COLUMNS[sort.field];
  const direction = sort.order === 'desc' ? 'DESC' : 'ASC';

  let keyset = '';
  if (plan.cursor !== undefined) {
    const after = decodeCursor(plan.cursor, sort, fingerprint);
    // Ties on the sort value are broken by id, so (value, id) is a total order and no row is skipped or repeated.
    keyset = ` AND (${column}, p.id) ${sort.order === 'desc' ? '<' : '>'} (${params.add(after.value)}, ${params.add(after.id)})`;
  }
  const order = `${column} ${direction}, p.id ${direction}`;
  // One extra row tells whether another page exists, for offset and cursor pages alike.
  const page = `SELECT ${PAGE_COLUMNS} FROM photos p WHERE ${where}${keyset} ORDER BY ${order} LIMIT ${params.add(limit + 1)} OFFSET ${params.add(offset)}`;
  // json_agg keeps the page's order only when told: ORDER BY again, on at most limit + 1 rows.
  const sql = `SELECT (SELECT count(*) FROM photos p WHERE ${where})::float8 AS total,
    (SELECT coalesce(json_agg(page ORDER BY ${order.replace(/p\./g, 'page.')}), '[]') FROM (${page}) page) AS records`;

  const result = await db.query<{ total: number; records: PhotoRecord[] }>(sql, params.values);
  const { total, records } = result.rows[0]!;
  const hasMore = records.length > limit;
  const photos = records.slice(0, limit).map(toPhoto);
  const last = photos[photos.length - 1];
  const nextCursor =
    hasMore && last !== undefined ? encodeCursor(sort, { value: last[sort.field], id: last.id }, fingerprint) : null;
  return { photos, total, limit, offset, hasMore, nextCursor };
}
