// Runs a validated SearchPlan against the read-only connection. The WHERE
// clause is assembled from fixed fragments with bound values; the same
// fragments serve the COUNT and the page, read in one snapshot so that
// `total` and `hasMore` agree with the rows returned.

import type { Photo, SortField } from '../../protocol/types';
import { decodeCursor, encodeCursor, queryFingerprint } from './cursor';
import type { Db } from './open-database';
import { PHOTO_COLUMNS, toPhoto, type PhotoRecord } from './photo-row';
import type { SearchPlan } from './search-query';
import type { StatementCache } from './statement-cache';

const SORT_COLUMNS: Record<SortField, string> = {
  uploaded_at: 'p.uploaded_at',
  created_at: 'p.created_at',
  updated_at: 'p.updated_at',
  size: 'p.size',
  original_filename: 'p.original_filename',
};

export interface SearchPage {
  photos: Photo[];
  total: number;
  limit: number;
  offset: number;
  hasMore: boolean;
  nextCursor: string | null;
}

function whereClause(clientId: string, plan: SearchPlan): { sql: string; params: unknown[] } {
  const conditions = ['p.client_id = ?', "p.state = 'committed'"];
  const params: unknown[] = [clientId];
  const add = (condition: string, value: unknown) => {
    conditions.push(condition);
    params.push(value);
  };
  const { filters, textMatch } = plan;
  // ANDed with the caller's own id: naming another client's id finds nothing.
  if (filters.client_id !== undefined) add('p.client_id = ?', filters.client_id);
  if (filters.user_id !== undefined) add('p.user_id = ?', filters.user_id);
  // Lists travel as one JSON parameter so every list length shares one statement.
  if (filters.mime_type !== undefined) add('p.mime_type IN (SELECT value FROM json_each(?))', JSON.stringify(filters.mime_type));
  if (filters.processing_status !== undefined) {
    add('p.processing_status IN (SELECT value FROM json_each(?))', JSON.stringify(filters.processing_status));
  }
  if (filters.uploaded_from !== undefined) add('p.uploaded_at >= ?', filters.uploaded_from);
  if (filters.uploaded_to !== undefined) add('p.uploaded_at <= ?', filters.uploaded_to);
  if (textMatch.kind === 'match') add('p.seq IN (SELECT rowid FROM photos_fts WHERE photos_fts MATCH ?)', textMatch.expression);
  if (textMatch.kind === 'nothing') conditions.push('0');
  return { sql: conditions.join(' AND '), params };
}

export function runSearch(reader: Db, statements: StatementCache, clientId: string, plan: SearchPlan): SearchPage {
  const { sort, limit, offset } = plan;
  const fingerprint = queryFingerprint([clientId, plan.textMatch, plan.filters, sort]);
  const where = whereClause(clientId, plan);
  const column = SORT_COLUMNS[sort.field];
  const direction = sort.order === 'desc' ? 'DESC' : 'ASC';

  let keyset = '';
  const keysetParams: unknown[] = [];
  if (plan.cursor !== undefined) {
    const after = decodeCursor(plan.cursor, sort, fingerprint);
    // Ties on the sort value are broken by id, so (value, id) is a total order and no row is skipped or repeated.
    keyset = ` AND (${column}, p.id) ${sort.order === 'desc' ? '<' : '>'} (?, ?)`;
    keysetParams.push(after.value, after.id);
  }

  const countSql = `SELECT count(*) FROM photos p WHERE ${where.sql}`;
  const pageSql =
    `SELECT ${PHOTO_COLUMNS} FROM photos p WHERE ${where.sql}${keyset} ` +
    `ORDER BY ${column} ${direction}, p.id ${direction} LIMIT ? OFFSET ?`;

  const { total, records } = reader.transaction(() => ({
    total: statements.get(countSql).pluck().get(...where.params) as number,
    // One extra row tells whether another page exists, for offset and cursor pages alike.
    records: statements.get(pageSql).all(...where.params, ...keysetParams, limit + 1, offset) as PhotoRecord[],
  }))();

  const hasMore = records.length > limit;
  const photos = records.slice(0, limit).map(toPhoto);
  const last = photos[photos.length - 1];
  const nextCursor =
    hasMore && last !== undefined ? encodeCursor(sort, { value: last[sort.field], id: last.id }, fingerprint) : null;
  return { photos, total, limit, offset, hasMore, nextCursor };
}
