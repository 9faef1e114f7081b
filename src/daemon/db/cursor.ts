// Keyset cursors: an opaque token naming the last row of a page by its sort
// value and id, plus a fingerprint of the query it belongs to, so that a
// cursor replayed against other filters is refused instead of silently
// skipping or repeating rows.

import { createHash } from 'node:crypto';
import { ValidationError } from '../../protocol/errors';
import type { SortField } from '../../protocol/types';
import type { SortOrder } from './search-query';

const MAX_CURSOR_CHARS = 2048;

export interface CursorPosition {
  value: string | number;
  id: string;
}

interface CursorPayload {
  /** Sort field and order, readable for debugging; the fingerprint is what binds. */
  s: SortField;
  o: SortOrder;
  k: string | number;
  i: string;
  f: string;
}

/** A short hash of everything that decides which rows a query returns and in what order. */
export function queryFingerprint(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 22);
}

export function encodeCursor(sort: { field: SortField; order: SortOrder }, last: CursorPosition, fingerprint: string): string {
  const payload: CursorPayload = { s: sort.field, o: sort.order, k: last.value, i: last.id, f: fingerprint };
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

export function decodeCursor(cursor: string, sort: { field: SortField; order: SortOrder }, fingerprint: string): CursorPosition {
  const invalid = new ValidationError("cursor is not valid; pass a previous page's nextCursor unchanged");
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid;
  let payload: Partial<CursorPayload>;
  try {
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (typeof payload !== 'object' || payload === null || typeof payload.i !== 'string' || typeof payload.f !== 'string') {
    throw invalid;
  }
  const valueType = sort.field === 'size' ? 'number' : 'string';
  if (payload.f !== fingerprint || payload.s !== sort.field || payload.o !== sort.order) {
    throw new ValidationError(
      'cursor belongs to a different search (text, filters or sort changed); start again without a cursor',
    );
  }
  if (typeof payload.k !== valueType) throw invalid;
  return { value: payload.k!, id: payload.i };
}
